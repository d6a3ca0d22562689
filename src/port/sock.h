/* sock.h: TCP and UDP sockets on the port, as overlapped operations.
 *
 * The shape is IOCP's: an operation is started with an mp_op and ends with
 * exactly one completion of that op on the Lua thread (op->result: >= 0 or
 * an MP_E… code), also when it fails at once or is cancelled. The ops are
 * AcceptEx, ConnectEx, WSASend and the zero-byte WSARecv: a socket waits
 * for data without pinning a buffer, and the reader then takes what is
 * there with mp__sock_recv into a buffer it shares with every socket.
 *
 * On Windows (sock_iocp.c) they are those very Winsock calls on a completion
 * port. On Linux (sock_posix.c) the operations are readiness-driven: the system
 * call is tried first, and only when it would block does the op park on
 * the socket until the backend's reactor (epoll or io_uring poll) reports
 * it ready. At most one read-side op (accept or wait_readable) and one
 * write-side op (send, sendto or connect) may be in flight per socket: callers keep
 * their own queues, which also keeps bytes in order (DESIGN.md rule 7).
 *
 * Everything here runs on the Lua thread, the one that opened the port.
 */
#ifndef MP_SOCK_H
#define MP_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include "port/port.h"

#include "platform/net.h"

#ifdef _WIN32
/* A SOCKET is a handle (UINT_PTR), not a small int. */
typedef SOCKET mp__sock_fd;
#define MP__SOCK_NONE INVALID_SOCKET

/* Every op here is the kernel's until its packet comes (key: the mp__sock),
 * and sock_iocp.c runs first on the Lua thread: it finishes the op (result
 * from the OVERLAPPED, accept and connect contexts, the rest of a short
 * send, what a datagram socket's peek found), then calls the issuer's
 * callback, kept here while the op is out. fd is closed only once reader
 * and writer are both NULL. */
typedef struct mp__sock {
  mp_port *port;
  SOCKET fd;                     /* MP__SOCK_NONE once closed */
  SOCKET accepted;               /* listener: the socket AcceptEx fills */
  char *accept_buf;              /* listener: AcceptEx's addresses (allocated on first accept) */
  mp_op *reader, *writer;        /* the ops the kernel holds, or NULL */
  mp_op_cb reader_cb, writer_cb; /* their issuers' callbacks */
  mp_op *close_op;               /* posted once reader and writer are done (then NULL) */
  const char *send_buf;          /* the send in flight's bytes... */
  uint32_t send_len;             /* ...how many... */
  uint32_t send_done;            /* ...and how many have gone */
  int32_t peek_error;            /* UDP: an ICMP error the peek took (dgram_iocp.c) */
  uint8_t closing;               /* mp__sock_close was called */
  uint8_t family;                /* AF_INET or AF_INET6 (AcceptEx's socket must match) */
  uint8_t dgram;                 /* a UDP socket: its zero-byte read peeks */
  uint8_t reader_kind, writer_kind;
} mp__sock;
#else
typedef int mp__sock_fd;
#define MP__SOCK_NONE (-1)

typedef struct mp__sock {
  struct mp__reactor *reactor;
  int fd;              /* -1 once closed */
  uint8_t ready;       /* MP__EV_… the reactor reported and no call has used up */
  uint8_t watching;    /* MP__EV_… the backend watches for this socket */
  uint8_t closing;     /* mp__sock_close was called */
  uint8_t reader_kind; /* what the parked reader is doing */
  uint8_t writer_kind; /* what the parked writer is doing */
  union {
    mp_op *reader;   /* parked accept or wait_readable */
    mp_op *close_op; /* once closing: completes when the kernel holds nothing of s */
  };
  mp_op *writer; /* parked send, sendto or connect */
  union {
    const char *send_buf;                  /* the parked send's bytes... */
    const struct mp__datagram *send_dgram; /* or the parked sendto's datagram */
  };
  uint32_t send_len;  /* ...how many... */
  uint32_t send_done; /* ...and how many have gone */
} mp__sock;
#endif

/* Whether s has a socket (it opened, or adopted one, and is not closed). */
static inline int mp__sock_is_open(const mp__sock *s) {
  return s->fd != MP__SOCK_NONE;
}

/* Whether the kernel still refers to s: watches it (Linux) or holds one of
 * its ops (IOCP). Never once its close op has come, which is why s may be
 * freed then. */
static inline int mp__sock_in_kernel(const mp__sock *s) {
#ifdef _WIN32
  return s->reader != NULL || s->writer != NULL;
#else
  return s->watching != 0;
#endif
}

/* Readiness, as the reactor reports it. HUP comes with READ when the peer
 * has closed its side or the socket failed: from then on reads never block,
 * even after a short one (the FIN may have come with the last data, and an
 * edge-triggered reactor will not report it again). */
enum { MP__EV_READ = 1, MP__EV_WRITE = 2, MP__EV_HUP = 4 };

/* Socket options for mp__sock_setopt. */
enum { MP__OPT_NODELAY, MP__OPT_KEEPALIVE };

/* Start the OS's sockets (WSAStartup) before any other call. Returns 0 or
 * an MP_E… code. Any thread, any number of times. */
int mp__sock_startup(void);
/* Create a non-blocking TCP socket of family (AF_INET or AF_INET6). */
int mp__sock_open(mp__sock *s, mp_port *port, int family);
/* Take over fd, a connected socket from mp__sock_accepted. */
void mp__sock_adopt(mp__sock *s, mp_port *port, mp__sock_fd fd);
/* Close an accepted socket that nobody took over. */
void mp__sock_discard(mp__sock_fd fd);

/* Bind s to addr and listen. reuseport: let other sockets bind the same
 * port (SO_REUSEPORT) for several processes behind one port; Windows has
 * no such option (MP_ENOSYS). */
int mp__sock_listen(mp__sock *s, const struct sockaddr *addr, socklen_t len, int backlog,
                    int reuseport);
/* The socket's own (peer = 0) or its peer's (peer = 1) address. */
int mp__sock_address(mp__sock *s, int peer, struct sockaddr_storage *out);
/* Set an option; keepalive_secs is the idle time before probes (0: keep the
 * system's). */
int mp__sock_setopt(mp__sock *s, int option, int on, int keepalive_secs);

/* Overlapped operations: each gives exactly one completion of op. */
/* Accept one connection: result >= 0 when one came; take it at once, from
 * the completion's callback, with mp__sock_accepted. */
void mp__sock_accept(mp__sock *s, mp_op *op);
/* The connection of the accept on listener that ended with result (>= 0);
 * the caller adopts or discards it. */
mp__sock_fd mp__sock_accepted(mp__sock *listener, int result);
/* Connect to addr: result 0 once connected. */
void mp__sock_connect(mp__sock *s, mp_op *op, const struct sockaddr *addr, socklen_t len);
/* The zero-byte read: result 0 when data, EOF or an error is waiting. On
 * IOCP an error (a reset) may end the read itself: then it is the result. */
void mp__sock_wait_readable(mp__sock *s, mp_op *op);
/* Send all len (< 2 GiB) bytes of buf (it must stay valid until the
 * completion): result len, or the error that stopped it. */
void mp__sock_send(mp__sock *s, mp_op *op, const char *buf, size_t len);
/* End a parked wait_readable or accept early: it completes with
 * MP_ECANCELED (or with its result, if that came first). */
void mp__sock_cancel_read(mp__sock *s);
/* Close: parked ops complete with MP_ECANCELED, then op completes once the
 * kernel no longer refers to s; only then may s be freed. */
void mp__sock_close(mp__sock *s, mp_op *op);

/* Datagram sockets (UDP).
 *
 * Receiving has the TCP shape: the zero-byte read (mp__sock_wait_readable;
 * on IOCP a zero-byte WSARecv with MSG_PEEK, which leaves the datagram
 * queued) waits without pinning a buffer, then the reader takes datagram
 * after datagram with mp__sock_recvfrom into the shared buffer until it
 * says MP_EAGAIN. Sending is mp__sock_sendto, the overlapped WSASendTo:
 * one in flight per socket, like mp__sock_send. Linux: sock_posix.c;
 * Windows: dgram_iocp.c (with the peek in sock_iocp.c). */

/* One datagram to send: its bytes and where to (to == NULL on a connected
 * socket). The sender owns it and keeps it, bytes and address, valid until
 * the sendto's completion. */
typedef struct mp__datagram {
  const char *buf;
  size_t len;
  const struct sockaddr *to;
  socklen_t to_len;
} mp__datagram;

/* Flags of mp__sock_bind. */
enum {
  MP__BIND_REUSEADDR = 1, /* SO_REUSEADDR: share the port (multicast receivers) */
  MP__BIND_IPV6ONLY = 2   /* an AF_INET6 socket takes IPv6 only (else also IPv4) */
};

/* Datagram socket options for mp__sock_set_dgram_opt (value: 0/1, or the TTL). */
enum { MP__DGRAM_BROADCAST, MP__DGRAM_MULTICAST_TTL, MP__DGRAM_MULTICAST_LOOP };

/* Create a non-blocking UDP socket of family (AF_INET or AF_INET6). */
int mp__sock_open_dgram(mp__sock *s, mp_port *port, int family);
/* Bind s to addr with MP__BIND_… flags (IPV6ONLY is set either way on
 * AF_INET6 sockets, on or off, so the system's default never decides). */
int mp__sock_bind(mp__sock *s, const struct sockaddr *addr, socklen_t len, unsigned flags);
/* Fix the peer of a datagram socket (connect has no handshake here: it
 * returns at once). From then on only its datagrams arrive, sendto may
 * leave out the address, and an ICMP "port unreachable" for a datagram
 * sent makes a later mp__sock_recvfrom or sendto fail with ECONNREFUSED.
 * A socket not connected never hears of ICMP errors (Linux reports them
 * only to connected sockets; on Windows dgram_iocp.c turns the reports
 * off until connect). */
int mp__sock_connect_dgram(mp__sock *s, const struct sockaddr *addr, socklen_t len);
/* Set a MP__DGRAM_… option; the socket's family picks IPv4's or IPv6's. */
int mp__sock_set_dgram_opt(mp__sock *s, int option, int value);
/* Join (join = 1) or leave the multicast group. iface names the interface:
 * for an IPv4 group, one of its addresses (struct sockaddr_in); for IPv6,
 * a struct sockaddr_in6 whose sin6_scope_id is its index; NULL lets the
 * system choose. */
int mp__sock_membership(mp__sock *s, const struct sockaddr *group, const struct sockaddr *iface,
                        int join);
/* Send multicast datagrams out of the interface iface (as for
 * mp__sock_membership; not NULL). */
int mp__sock_set_multicast_if(mp__sock *s, const struct sockaddr *iface);
/* Send the datagram d: result d->len once the kernel took it, or the error
 * (MP_EMSGSIZE for one too big for the protocol). Parks only while the
 * socket's send buffer is full. IOCP: WSASendTo, whose completion is the
 * result. */
void mp__sock_sendto(mp__sock *s, mp_op *op, const mp__datagram *d);
/* Send the datagram d now, non-blocking: d->len, MP_EAGAIN when the send
 * buffer is full (nothing sent), or an error. For the sender's fast path
 * while no sendto op is in flight. IOCP: a non-overlapped WSASendTo on the
 * non-blocking socket, which queues no completion packet. */
int mp__sock_try_sendto(mp__sock *s, const mp__datagram *d);
/* Take the next datagram, non-blocking: its length as received (at most
 * len), MP_EAGAIN when none is waiting, or an error (ECONNREFUSED on a
 * connected socket whose peer port is closed). from gets the sender.
 * *truncated is set to 1 when the datagram was longer than len (its rest
 * is gone), else 0. IOCP: WSARecvFrom, whose WSAEMSGSIZE with the buffer
 * filled becomes len and *truncated = 1. */
int mp__sock_recvfrom(mp__sock *s, char *buf, size_t len, struct sockaddr_storage *from,
                      int *truncated);

/* Synchronous, non-blocking calls for the reader and writer themselves. */
/* Receive up to len bytes: the count, 0 at EOF, MP_EAGAIN or an error. */
int mp__sock_recv(mp__sock *s, char *buf, size_t len);
/* Send what the socket takes now of buf: the count (0 if none) or an error. */
int mp__sock_try_send(mp__sock *s, const char *buf, size_t len);
/* Half-close: no more sends (SHUT_WR). */
int mp__sock_shutdown(mp__sock *s);

#endif
