/* dgram_opts.h: the datagram options of sock.h (mp__sock_set_dgram_opt,
 * mp__sock_membership, mp__sock_set_multicast_if), written once in
 * dgram_opts.c: the setsockopt requests behind them (level, name, value
 * or request structure) are spelt alike by BSD sockets and Winsock. Each
 * OS's socket file makes the call and translates its error. */
#ifndef MP_DGRAM_OPTS_H
#define MP_DGRAM_OPTS_H

#include "platform/net.h"
#include "port/sock.h"

/* One setsockopt call: setsockopt(fd, level, name, &value, len). */
typedef struct mp__sockopt {
  int level, name;
  union {
    int flag;       /* a 0/1 or a count (Winsock reads a DWORD, BSD an int) */
    unsigned index; /* an interface index */
    struct in_addr addr;
    struct ip_mreq v4;
    struct ipv6_mreq v6;
  } value;
  socklen_t len;
} mp__sockopt;

/* Per OS (sock_posix.c, dgram_iocp.c): make the call o describes on s.
 * Returns 0 or an MP_E… code. */
int mp__sock_setsockopt(mp__sock *s, const mp__sockopt *o);
/* Per OS: the family of s (AF_INET or AF_INET6), or an MP_E… code. */
int mp__sock_family(mp__sock *s);

#endif
