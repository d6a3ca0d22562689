/* dgram_iocp.c: UDP on Windows (see sock.h): sockets, the overlapped
 * WSASendTo and the non-blocking sendto and recvfrom (the options are
 * dgram_opts.c's). A UDP socket lives on the port like a TCP one
 * (sock_iocp.c opens, closes and cancels it, and its zero-byte read
 * peeks), so this file has only what datagrams add.
 *
 * ICMP errors. Windows reports an ICMP "port unreachable" for a datagram
 * sent to every later receive on the socket, connected or not
 * (WSAECONNRESET), and a "time exceeded" likewise (WSAENETRESET): one
 * unanswered datagram would fail the next receive of a server that
 * answers many peers. Linux reports them only to connected sockets. So
 * both reports are off (SIO_UDP_CONNRESET, SIO_UDP_NETRESET) until the
 * socket connects, and then on: a connected socket hears ECONNREFUSED as
 * on Linux. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <mswsock.h>

#include "port/dgram_opts.h"
#include "port/errno_win32.h"
#include "port/port_iocp.h"
#include "port/sock_iocp.h"

#ifndef SIO_UDP_NETRESET /* mswsock.h's value; mingw-w64's headers lack it */
#define SIO_UDP_NETRESET _WSAIOW(IOC_VENDOR, 15)
#endif

/* Whether err is an ICMP report for a datagram sent before, which says
 * nothing about the socket itself. */
static int is_icmp_error(int err) {
  return err == MP_ECONNREFUSED || err == MP_EHOSTUNREACH || err == MP_ENETUNREACH;
}

/* Turn the ICMP reports on or off (see the top of the file). Only the
 * "port unreachable" switch must work: "time exceeded" is rare, and Wine
 * has no SIO_UDP_NETRESET (WSAEOPNOTSUPP), nor needs it, its sockets being
 * Linux's. */
static int report_icmp(mp__sock *s, int on) {
  BOOL value = on ? TRUE : FALSE;
  DWORD bytes;
  if (WSAIoctl(s->fd, SIO_UDP_CONNRESET, &value, sizeof value, NULL, 0, &bytes, NULL, NULL) != 0)
    return mp__iocp_sock_error(s);
  WSAIoctl(s->fd, SIO_UDP_NETRESET, &value, sizeof value, NULL, 0, &bytes, NULL, NULL);
  return 0;
}

int mp__sock_open_dgram(mp__sock *s, mp_port *port, int family) {
  SOCKET fd = WSASocketW(family, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_OVERLAPPED);
  if (fd == INVALID_SOCKET) return mp__from_win_error((DWORD)WSAGetLastError());
  mp__sock_adopt(s, port, fd);
  if (s->fd == INVALID_SOCKET) return MP_ENOMEM;
  s->family = (uint8_t)family;
  s->dgram = 1;
  return report_icmp(s, 0);
}

int mp__sock_bind(mp__sock *s, const struct sockaddr *addr, socklen_t len, unsigned flags) {
  BOOL on = TRUE;
  DWORD v6only = (flags & MP__BIND_IPV6ONLY) != 0;
  /* Windows' SO_REUSEADDR lets the sockets share the port whoever bound
   * it first, as multicast receivers need; Linux's asks that each of them
   * set it. */
  if ((flags & MP__BIND_REUSEADDR) &&
      setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, (const char *)&on, sizeof on) != 0)
    return mp__iocp_sock_error(s);
  if (addr->sa_family == AF_INET6 &&
      setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, (const char *)&v6only, sizeof v6only) != 0)
    return mp__iocp_sock_error(s);
  return bind(s->fd, addr, len) != 0 ? mp__iocp_sock_error(s) : 0;
}

int mp__sock_connect_dgram(mp__sock *s, const struct sockaddr *addr, socklen_t len) {
  if (connect(s->fd, addr, len) != 0) return mp__iocp_sock_error(s);
  /* Connected, whatever this says: the switch worked on this very socket
   * when it opened, and a failure here must not read as a failed connect
   * (that leaves the previous peer in place, sock.h). */
  report_icmp(s, 1);
  return 0;
}

int mp__sock_family(mp__sock *s) {
  return s->family;
}

int mp__sock_setsockopt(mp__sock *s, const mp__sockopt *o) {
  int rc = setsockopt(s->fd, o->level, o->name, (const char *)&o->value, o->len);
  return rc != 0 ? mp__iocp_sock_error(s) : 0;
}

/* Port 0: Windows sends there (where nobody can receive) and says
 * nothing, Linux refuses with EINVAL; the script hears Linux's answer on
 * both. Returns MP_EINVAL for port 0, else 0. */
static int check_port(const mp__datagram *d) {
  if (!d->to) return 0;
  uint16_t port = d->to->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)d->to)->sin6_port
                                               : ((const struct sockaddr_in *)d->to)->sin_port;
  return port == 0 ? MP_EINVAL : 0;
}

void mp__sock_sendto(mp__sock *s, mp_op *op, const mp__datagram *d) {
  int err = s->closing ? MP_ECANCELED : check_port(d);
  if (err < 0) {
    mp__iocp_complete_later(s->port, op, err);
    return;
  }
  /* Winsock copies the destination when the call starts; the bytes are
   * the sender's until the completion (sock.h). */
  WSABUF data = {.len = (ULONG)d->len, .buf = (char *)d->buf};
  mp__iocp_writer_start(s, op, MP__IOCP_WRITE_SENDTO);
  int failed = WSASendTo(s->fd, &data, 1, NULL, 0, d->to, d->to ? (int)d->to_len : 0,
                         (OVERLAPPED *)op, NULL) != 0;
  mp__iocp_writer_called(s, failed);
}

int mp__sock_try_sendto(mp__sock *s, const mp__datagram *d) {
  int err = check_port(d);
  if (err < 0) return err;
  /* No OVERLAPPED, so no packet: the call's return is the whole answer. */
  int n = sendto(s->fd, d->buf, d->len > INT32_MAX ? INT32_MAX : (int)d->len, 0, d->to,
                 d->to ? (int)d->to_len : 0);
  return n == SOCKET_ERROR ? mp__iocp_sock_error(s) : n;
}

/* The peek and recvfrom see one queue of ICMP reports, but not alike on
 * every system: Windows' peek leaves a report queued for the next receive
 * (libuv's Windows UDP code reads without MSG_PEEK to clear it), while
 * under Wine the report is gone once the peek has seen it (a Linux socket
 * error is reported once, peek or not). So a report the peek found is kept
 * (peek_error), and the next recvfrom returns it unless the socket still
 * holds it, when recvfrom takes it from there: either way once. */
int mp__iocp_peek_result(mp__sock *s, int result) {
  /* A datagram longer than the zero bytes peeked: it waits, whole. */
  if (result >= 0 || result == MP_EMSGSIZE) return 0;
  if (!is_icmp_error(result)) return result;
  s->peek_error = result;
  return 0;
}

/* Whether an ICMP report is still queued on s: a zero-byte peek, without
 * waiting, fails with it. */
static int report_queued(mp__sock *s) {
  char none;
  return recv(s->fd, &none, 0, MSG_PEEK) == SOCKET_ERROR && is_icmp_error(mp__iocp_sock_error(s));
}

int mp__sock_recvfrom(mp__sock *s, char *buf, size_t len, struct sockaddr_storage *from,
                      int *truncated) {
  *truncated = 0;
  int peeked = s->peek_error;
  s->peek_error = 0;
  if (peeked && !report_queued(s)) return peeked;
  int from_len = sizeof *from;
  int n = recvfrom(s->fd, buf, len > INT32_MAX ? INT32_MAX : (int)len, 0, (struct sockaddr *)from,
                   &from_len);
  if (n != SOCKET_ERROR) return n;
  int err = mp__iocp_sock_error(s);
  /* Longer than len: the buffer holds its first len bytes, and the rest
   * is gone, as recvmsg's MSG_TRUNC says on Linux. */
  if (err == MP_EMSGSIZE) {
    *truncated = 1;
    return len > INT32_MAX ? INT32_MAX : (int)len;
  }
  return err;
}
