/* sock_iocp.c: sockets on Windows, the Winsock overlapped calls on the
 * completion port (see sock.h): AcceptEx, ConnectEx, WSASend and the
 * zero-byte WSARecv, and the life of every socket, TCP or UDP (the
 * datagram calls are in dgram_iocp.c). Each op's packet comes back through
 * the port's workers to the Lua thread, where the op's callback is first
 * one of ours (reader_done, writer_done): it finishes what Winsock leaves
 * to the caller, then hands the op to its issuer. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <mstcpip.h>
#include <mswsock.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "port/errno_win32.h"
#include "port/port_iocp.h"
#include "port/sock_iocp.h"

enum { READ_ACCEPT = 1, READ_WAIT, READ_PEEK };

/* AcceptEx writes both addresses, each in 16 bytes more than the largest. */
#define ACCEPT_ADDR_LEN (sizeof(struct sockaddr_storage) + 16)

static int wsa_error(void) {
  return mp__from_win_error((DWORD)WSAGetLastError());
}

int mp__iocp_sock_error(const mp__sock *s) {
  DWORD e = (DWORD)WSAGetLastError();
  if (s->dgram && e == WSAECONNRESET) return MP_ECONNREFUSED;
  if (s->dgram && e == WSAENETRESET) return MP_EHOSTUNREACH;
  return mp__from_win_error(e);
}

int mp__sock_startup(void) {
  WSADATA data;
  /* Counted by Winsock: one per loaded module, none ever undone (the
   * process's end frees it). */
  int rc = WSAStartup(MAKEWORD(2, 2), &data);
  return rc == 0 ? 0 : mp__from_win_error((DWORD)rc);
}

/* AcceptEx and ConnectEx are reached through the socket provider; the
 * pointers are the same for every socket, so the first lookup is kept. */
static _Atomic(LPFN_ACCEPTEX) accept_ex;
static _Atomic(LPFN_CONNECTEX) connect_ex;

static int lookup(SOCKET fd, GUID guid, void *fn, DWORD size) {
  DWORD bytes;
  if (WSAIoctl(fd, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, fn, size, &bytes, NULL,
               NULL) != 0)
    return wsa_error();
  return 0;
}

static LPFN_ACCEPTEX get_accept_ex(SOCKET fd) {
  LPFN_ACCEPTEX fn = atomic_load(&accept_ex);
  if (!fn && lookup(fd, (GUID)WSAID_ACCEPTEX, &fn, sizeof fn) == 0) atomic_store(&accept_ex, fn);
  return fn;
}

static LPFN_CONNECTEX get_connect_ex(SOCKET fd) {
  LPFN_CONNECTEX fn = atomic_load(&connect_ex);
  if (!fn && lookup(fd, (GUID)WSAID_CONNECTEX, &fn, sizeof fn) == 0) atomic_store(&connect_ex, fn);
  return fn;
}

void mp__sock_adopt(mp__sock *s, mp_port *port, SOCKET fd) {
  *s = (mp__sock){.port = port, .fd = fd, .accepted = INVALID_SOCKET};
  u_long on = 1;
  /* Non-blocking for recv and try_send; the overlapped calls are unaffected.
   * Without the port, no op of this socket could ever complete: close it,
   * and its ops fail at once (they see no socket). */
  if (ioctlsocket(fd, FIONBIO, &on) != 0 ||
      mp__iocp_associate(port, (HANDLE)fd, (uintptr_t)s) < 0) {
    closesocket(fd);
    s->fd = INVALID_SOCKET;
  }
}

void mp__sock_discard(SOCKET fd) {
  closesocket(fd);
}

int mp__sock_open(mp__sock *s, mp_port *port, int family) {
  SOCKET fd = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
  if (fd == INVALID_SOCKET) return wsa_error();
  mp__sock_adopt(s, port, fd);
  if (s->fd == INVALID_SOCKET) return MP_ENOMEM;
  s->family = (uint8_t)family;
  return 0;
}

int mp__sock_listen(mp__sock *s, const struct sockaddr *addr, socklen_t len, int backlog,
                    int reuseport) {
  /* No SO_REUSEADDR: on Windows it would let another socket take the port
   * over, and a restarted server binds past TIME_WAIT without it. */
  if (reuseport) return MP_ENOSYS;
  if (bind(s->fd, addr, len) != 0 || listen(s->fd, backlog) != 0) return wsa_error();
  return 0;
}

int mp__sock_address(mp__sock *s, int peer, struct sockaddr_storage *out) {
  int len = sizeof *out;
  int rc = peer ? getpeername(s->fd, (struct sockaddr *)out, &len)
                : getsockname(s->fd, (struct sockaddr *)out, &len);
  return rc != 0 ? wsa_error() : 0;
}

int mp__sock_setopt(mp__sock *s, int option, int on, int keepalive_secs) {
  BOOL value = on ? TRUE : FALSE;
  int rc;
  if (option == MP__OPT_NODELAY) {
    rc = setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, (const char *)&value, sizeof value);
  } else if (on && keepalive_secs > 0) {
    /* Probes after keepalive_secs idle, then one a second (Linux's default
     * interval is longer, but Windows makes ten probes, not nine). */
    struct tcp_keepalive k = {
        .onoff = 1, .keepalivetime = (ULONG)keepalive_secs * 1000, .keepaliveinterval = 1000};
    DWORD bytes;
    rc = WSAIoctl(s->fd, SIO_KEEPALIVE_VALS, &k, sizeof k, NULL, 0, &bytes, NULL, NULL);
  } else {
    rc = setsockopt(s->fd, SOL_SOCKET, SO_KEEPALIVE, (const char *)&value, sizeof value);
  }
  return rc != 0 ? wsa_error() : 0;
}

/* Make op the reader or the writer (slot) that the kernel is about to
 * hold: its packet comes to ours, and cb is kept for the issuer. */
static void hand_to_kernel(mp_op *op, mp_op **slot, mp_op_cb *cb, mp_op_cb ours) {
  memset(&op->os_, 0, sizeof op->os_);
  *cb = op->cb;
  op->cb = ours;
  *slot = op;
}

/* The call that was to start the op in slot failed with err: the kernel
 * holds nothing, so its completion is posted (DESIGN.md rule 6). */
static void take_back(mp__sock *s, mp_op **slot, mp_op_cb cb, int err) {
  mp_op *op = *slot;
  *slot = NULL;
  op->cb = cb;
  mp__iocp_complete_later(s->port, op, err);
}

/* Whether the Winsock call that was to start op (failed: it returned an
 * error) queued op's packet (under Wine a send too big ends at once with
 * WSAEMSGSIZE, a warning). Before anything else that may change
 * WSAGetLastError. */
static int started(const mp_op *op, int failed) {
  return mp__iocp_packet_queued(op, !failed, failed ? (DWORD)WSAGetLastError() : 0);
}

/* What the kernel did with op: the bytes it moved, or an MP_E… code. */
static int kernel_result(mp__sock *s, mp_op *op) {
  DWORD bytes, flags;
  if (WSAGetOverlappedResult(s->fd, (OVERLAPPED *)op, &bytes, FALSE, &flags))
    return bytes > INT32_MAX ? INT32_MAX : (int)bytes;
  return mp__iocp_sock_error(s);
}

/* Once closing and the kernel holds no op of s: close the socket (if it
 * ever opened) and post the close op, once. */
static void finish_close(mp__sock *s) {
  if (!s->close_op || s->reader || s->writer) return;
  if (s->fd != INVALID_SOCKET) closesocket(s->fd);
  s->fd = INVALID_SOCKET;
  free(s->accept_buf);
  s->accept_buf = NULL;
  mp_op *op = s->close_op;
  s->close_op = NULL;
  mp__iocp_complete_later(s->port, op, 0);
}

/* Give op back to its issuer with result. s stays allocated during cb: a
 * closing socket's memory is freed only after the close op, which comes
 * later. */
static void hand_back(mp_loop *loop, mp__sock *s, mp_op *op, mp_op_cb cb, int result) {
  op->cb = cb;
  op->result = result;
  finish_close(s);
  cb(loop, op);
}

static void reader_done(mp_loop *loop, mp_op *op) {
  mp__sock *s = (mp__sock *)op->key_;
  int result = kernel_result(s, op);
  s->reader = NULL;
  if (s->reader_kind == READ_PEEK) {
    result = mp__iocp_peek_result(s, result);
  } else if (s->reader_kind == READ_ACCEPT) {
    /* Until this, the new socket knows nothing of its listener
     * (getpeername, shutdown fail). */
    if (result >= 0 && setsockopt(s->accepted, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                                  (const char *)&s->fd, sizeof s->fd) != 0)
      result = wsa_error();
    if (result < 0) {
      closesocket(s->accepted);
      s->accepted = INVALID_SOCKET;
    }
  }
  hand_back(loop, s, op, s->reader_cb, result < 0 ? result : 0);
}

static void start_send(mp__sock *s, mp_op *op);

static void writer_done(mp_loop *loop, mp_op *op) {
  mp__sock *s = (mp__sock *)op->key_;
  int result = kernel_result(s, op);
  s->writer = NULL;
  if (s->writer_kind == MP__IOCP_WRITE_CONNECT) {
    /* Until this, the socket behaves as unconnected (getpeername, shutdown). */
    if (result >= 0 && setsockopt(s->fd, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0) != 0)
      result = wsa_error();
    if (result > 0) result = 0;
  } else if (s->writer_kind == MP__IOCP_WRITE_SEND && result >= 0) {
    s->send_done += (uint32_t)result;
    if (s->send_done < s->send_len && !s->closing) {
      op->cb = s->writer_cb;
      start_send(s, op); /* the kernel took part of it: send the rest */
      return;
    }
    result = s->send_done < s->send_len ? MP_ECANCELED : (int)s->send_len;
  }
  hand_back(loop, s, op, s->writer_cb, result);
}

void mp__iocp_writer_start(mp__sock *s, mp_op *op, int kind) {
  s->writer_kind = (uint8_t)kind;
  hand_to_kernel(op, &s->writer, &s->writer_cb, writer_done);
}

void mp__iocp_writer_called(mp__sock *s, int failed) {
  if (!started(s->writer, failed)) take_back(s, &s->writer, s->writer_cb, mp__iocp_sock_error(s));
}

void mp__sock_accept(mp__sock *s, mp_op *op) {
  if (s->closing) {
    mp__iocp_complete_later(s->port, op, MP_ECANCELED);
    return;
  }
  LPFN_ACCEPTEX accept_fn = get_accept_ex(s->fd);
  if (!accept_fn) {
    mp__iocp_complete_later(s->port, op, wsa_error());
    return;
  }
  if (!s->accept_buf && !(s->accept_buf = malloc(2 * ACCEPT_ADDR_LEN))) {
    mp__iocp_complete_later(s->port, op, MP_ENOMEM);
    return;
  }
  /* AcceptEx takes a socket made beforehand; out of sockets, this is where
   * it shows (WSAEMFILE, WSAENOBUFS). */
  s->accepted = WSASocketW(s->family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
  if (s->accepted == INVALID_SOCKET) {
    mp__iocp_complete_later(s->port, op, wsa_error());
    return;
  }
  s->reader_kind = READ_ACCEPT;
  hand_to_kernel(op, &s->reader, &s->reader_cb, reader_done);
  DWORD bytes;
  /* No data with the connection (0): it completes on the handshake. */
  BOOL ok = accept_fn(s->fd, s->accepted, s->accept_buf, 0, ACCEPT_ADDR_LEN, ACCEPT_ADDR_LEN,
                      &bytes, (OVERLAPPED *)op);
  if (!started(op, !ok)) {
    int err = wsa_error();
    closesocket(s->accepted);
    s->accepted = INVALID_SOCKET;
    take_back(s, &s->reader, s->reader_cb, err);
  }
}

SOCKET mp__sock_accepted(mp__sock *listener, int result) {
  (void)result;
  SOCKET fd = listener->accepted;
  listener->accepted = INVALID_SOCKET;
  return fd;
}

void mp__sock_wait_readable(mp__sock *s, mp_op *op) {
  if (s->closing) {
    mp__iocp_complete_later(s->port, op, MP_ECANCELED);
    return;
  }
  /* No buffer: the read ends when data (or EOF, or an error) is there,
   * and takes none of it. On a stream socket that is so. On a datagram
   * socket, a zero-byte read *receives* the next datagram into no bytes,
   * and the datagram is gone (WSAEMSGSIZE says so, too late): there the
   * read only peeks (MSG_PEEK), and the datagram stays queued, whole, for
   * mp__sock_recvfrom. (A read into a real buffer would lose nothing
   * either, but would pin 64 KiB per idle socket, which the zero-byte read
   * is there to avoid.) */
  static char none;
  WSABUF nothing = {.len = 0, .buf = &none};
  DWORD flags = s->dgram ? MSG_PEEK : 0;
  s->reader_kind = s->dgram ? READ_PEEK : READ_WAIT;
  hand_to_kernel(op, &s->reader, &s->reader_cb, reader_done);
  int failed = WSARecv(s->fd, &nothing, 1, NULL, &flags, (OVERLAPPED *)op, NULL) != 0;
  if (!started(op, failed)) {
    int err = mp__iocp_sock_error(s);
    take_back(s, &s->reader, s->reader_cb, s->dgram ? mp__iocp_peek_result(s, err) : err);
  }
}

void mp__sock_connect(mp__sock *s, mp_op *op, const struct sockaddr *addr, socklen_t len) {
  if (s->closing) {
    mp__iocp_complete_later(s->port, op, MP_ECANCELED);
    return;
  }
  /* ConnectEx wants a bound socket: the wildcard address of the family
   * (all zeros, port 0), as connect() would pick on its own. */
  struct sockaddr_storage any;
  memset(&any, 0, sizeof any);
  any.ss_family = addr->sa_family;
  LPFN_CONNECTEX connect_fn = get_connect_ex(s->fd);
  if (!connect_fn || bind(s->fd, (struct sockaddr *)&any, len) != 0) {
    mp__iocp_complete_later(s->port, op, wsa_error());
    return;
  }
  mp__iocp_writer_start(s, op, MP__IOCP_WRITE_CONNECT);
  mp__iocp_writer_called(s, !connect_fn(s->fd, addr, len, NULL, 0, NULL, (OVERLAPPED *)op));
}

/* Send what is left of the send in flight. */
static void start_send(mp__sock *s, mp_op *op) {
  WSABUF rest = {.len = s->send_len - s->send_done, .buf = (char *)s->send_buf + s->send_done};
  mp__iocp_writer_start(s, op, MP__IOCP_WRITE_SEND);
  mp__iocp_writer_called(s, WSASend(s->fd, &rest, 1, NULL, 0, (OVERLAPPED *)op, NULL) != 0);
}

void mp__sock_send(mp__sock *s, mp_op *op, const char *buf, size_t len) {
  if (s->closing) {
    mp__iocp_complete_later(s->port, op, MP_ECANCELED);
    return;
  }
  s->send_buf = buf;
  s->send_len = (uint32_t)len;
  s->send_done = 0;
  start_send(s, op);
}

void mp__sock_cancel_read(mp__sock *s) {
  /* Only a request: the op's packet still comes, cancelled or with the
   * result that beat the cancel. */
  if (s->reader && !s->closing) CancelIoEx((HANDLE)s->fd, (OVERLAPPED *)s->reader);
}

void mp__sock_close(mp__sock *s, mp_op *op) {
  s->closing = 1;
  s->close_op = op;
  if (s->reader || s->writer) CancelIoEx((HANDLE)s->fd, NULL);
  finish_close(s);
}

int mp__sock_recv(mp__sock *s, char *buf, size_t len) {
  int n = recv(s->fd, buf, len > INT32_MAX ? INT32_MAX : (int)len, 0);
  return n == SOCKET_ERROR ? wsa_error() : n;
}

int mp__sock_try_send(mp__sock *s, const char *buf, size_t len) {
  /* Windows has no SIGPIPE: a peer that went away is only an error here. */
  int n = send(s->fd, buf, len > INT32_MAX ? INT32_MAX : (int)len, 0);
  if (n != SOCKET_ERROR) return n;
  int err = wsa_error();
  return err == MP_EAGAIN ? 0 : err;
}

int mp__sock_shutdown(mp__sock *s) {
  return shutdown(s->fd, SD_SEND) != 0 ? wsa_error() : 0;
}
