/* dgram_opts.c: the datagram options of sock.h on every OS (see
 * dgram_opts.h): which setsockopt each one is. */
#define _DEFAULT_SOURCE /* glibc: struct ip_mreq and ipv6_mreq under -std=c11 */
#include <string.h>

#include "port/dgram_opts.h"

int mp__sock_set_dgram_opt(mp__sock *s, int option, int value) {
  int family = mp__sock_family(s);
  if (family < 0) return family;
  int v6 = family == AF_INET6;
  mp__sockopt o = {.level = v6 ? IPPROTO_IPV6 : IPPROTO_IP, .len = sizeof o.value.flag};
  o.value.flag = value;
  if (option == MP__DGRAM_BROADCAST) {
    o.level = SOL_SOCKET;
    o.name = SO_BROADCAST;
  } else if (option == MP__DGRAM_MULTICAST_TTL) {
    o.name = v6 ? IPV6_MULTICAST_HOPS : IP_MULTICAST_TTL;
  } else {
    o.name = v6 ? IPV6_MULTICAST_LOOP : IP_MULTICAST_LOOP;
  }
  return mp__sock_setsockopt(s, &o);
}

int mp__sock_membership(mp__sock *s, const struct sockaddr *group, const struct sockaddr *iface,
                        int join) {
  mp__sockopt o;
  memset(&o, 0, sizeof o);
  if (group->sa_family == AF_INET6) {
    o.level = IPPROTO_IPV6;
    o.name = join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP;
    o.value.v6.ipv6mr_multiaddr = ((const struct sockaddr_in6 *)group)->sin6_addr;
    if (iface) o.value.v6.ipv6mr_interface = ((const struct sockaddr_in6 *)iface)->sin6_scope_id;
    o.len = sizeof o.value.v6;
  } else {
    o.level = IPPROTO_IP;
    o.name = join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP;
    o.value.v4.imr_multiaddr = ((const struct sockaddr_in *)group)->sin_addr;
    o.value.v4.imr_interface.s_addr = htonl(INADDR_ANY);
    if (iface) o.value.v4.imr_interface = ((const struct sockaddr_in *)iface)->sin_addr;
    o.len = sizeof o.value.v4;
  }
  return mp__sock_setsockopt(s, &o);
}

int mp__sock_set_multicast_if(mp__sock *s, const struct sockaddr *iface) {
  mp__sockopt o;
  memset(&o, 0, sizeof o);
  if (iface->sa_family == AF_INET6) {
    o.level = IPPROTO_IPV6;
    o.name = IPV6_MULTICAST_IF;
    o.value.index = ((const struct sockaddr_in6 *)iface)->sin6_scope_id;
    o.len = sizeof o.value.index;
  } else {
    o.level = IPPROTO_IP;
    o.name = IP_MULTICAST_IF;
    o.value.addr = ((const struct sockaddr_in *)iface)->sin_addr;
    o.len = sizeof o.value.addr;
  }
  return mp__sock_setsockopt(s, &o);
}
