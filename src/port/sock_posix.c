/* sock_posix.c: TCP and UDP operations on Linux, turned from readiness into
 * completions (see sock.h and reactor.h). Each op tries its system call
 * first and parks only when the call would block (DESIGN.md rule 9). */
#define _GNU_SOURCE /* accept4, SO_REUSEPORT */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "moonport.h"
#include "port/dgram_opts.h"
#include "port/reactor.h"

enum { READ_ACCEPT = 1, READ_WAIT };
enum { WRITE_SEND = 1, WRITE_CONNECT, WRITE_SENDTO };

static int sys_error(void) {
  return errno == EWOULDBLOCK ? MP_EAGAIN : mp_from_errno(errno);
}

int mp__sock_startup(void) {
  return 0; /* nothing to start; SIGPIPE is kept away by MSG_NOSIGNAL */
}

void mp__sock_adopt(mp__sock *s, mp_port *port, int fd) {
  *s = (mp__sock){.reactor = port->reactor, .fd = fd};
  /* Unknown until a call says otherwise: try before waiting. */
  s->ready = MP__EV_READ | MP__EV_WRITE;
}

void mp__sock_discard(int fd) {
  close(fd);
}

int mp__sock_open(mp__sock *s, mp_port *port, int family) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return mp_from_errno(errno);
  mp__sock_adopt(s, port, fd);
  return 0;
}

int mp__sock_listen(mp__sock *s, const struct sockaddr *addr, socklen_t len, int backlog,
                    int reuseport) {
  int on = 1;
  /* A restarted server must not wait out TIME_WAIT of its old connections. */
  if (setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) return sys_error();
  if (reuseport && setsockopt(s->fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0)
    return sys_error();
  if (bind(s->fd, addr, len) < 0 || listen(s->fd, backlog) < 0) return sys_error();
  return 0;
}

int mp__sock_address(mp__sock *s, int peer, struct sockaddr_storage *out) {
  socklen_t len = sizeof *out;
  int rc = peer ? getpeername(s->fd, (struct sockaddr *)out, &len)
                : getsockname(s->fd, (struct sockaddr *)out, &len);
  return rc < 0 ? sys_error() : 0;
}

int mp__sock_setopt(mp__sock *s, int option, int on, int keepalive_secs) {
  int rc;
  if (option == MP__OPT_NODELAY) {
    rc = setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  } else {
    rc = setsockopt(s->fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    if (rc == 0 && on && keepalive_secs > 0)
      rc = setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPIDLE, &keepalive_secs, sizeof keepalive_secs);
  }
  return rc < 0 ? sys_error() : 0;
}

/* Park op on s until ev is ready; if the backend cannot watch, fail it. */
static void park(mp__sock *s, mp_op **slot, mp_op *op, unsigned ev) {
  s->ready &= (uint8_t)~ev;
  int rc = s->reactor->watch(s->reactor, s, ev);
  if (rc < 0) {
    mp__reactor_complete(s->reactor, op, rc);
    return;
  }
  *slot = op;
}

/* Park the op in *slot again (its watch ended). */
static void repark(mp__sock *s, mp_op **slot, unsigned ev) {
  mp_op *op = *slot;
  *slot = NULL;
  park(s, slot, op, ev);
}

/* Try the reader's call; park it again if it would block. */
static void run_reader(mp__sock *s, mp_op *op, int kind) {
  int result = 0;
  if (kind == READ_ACCEPT) {
    result = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (result < 0) result = sys_error();
  } else if (!(s->ready & MP__EV_READ)) {
    result = MP_EAGAIN;
  }
  if (result == MP_EAGAIN) {
    s->reader_kind = (uint8_t)kind;
    park(s, &s->reader, op, MP__EV_READ);
    return;
  }
  mp__reactor_complete(s->reactor, op, result);
}

/* Send what the socket takes of the parked send; park again if some is left. */
static void run_send(mp__sock *s, mp_op *op) {
  while (s->send_done < s->send_len) {
    int n = mp__sock_try_send(s, s->send_buf + s->send_done, s->send_len - s->send_done);
    if (n < 0) {
      mp__reactor_complete(s->reactor, op, n);
      return;
    }
    if (n == 0) {
      s->writer_kind = WRITE_SEND;
      park(s, &s->writer, op, MP__EV_WRITE);
      return;
    }
    s->send_done += (uint32_t)n;
  }
  mp__reactor_complete(s->reactor, op, (int)s->send_len);
}

/* Send the parked datagram, or park again while the buffer is full. */
static void run_sendto(mp__sock *s, mp_op *op) {
  int result = mp__sock_try_sendto(s, s->send_dgram);
  if (result == MP_EAGAIN) {
    s->writer_kind = WRITE_SENDTO;
    park(s, &s->writer, op, MP__EV_WRITE);
    return;
  }
  mp__reactor_complete(s->reactor, op, result);
}

/* The connect in progress has ended when the socket turns writable. */
static void finish_connect(mp__sock *s, mp_op *op) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  mp__reactor_complete(s->reactor, op, err ? mp_from_errno(err) : 0);
}

void mp__sock_accept(mp__sock *s, mp_op *op) {
  run_reader(s, op, READ_ACCEPT);
}

int mp__sock_accepted(mp__sock *listener, int result) {
  (void)listener;
  return result; /* accept4's descriptor */
}

void mp__sock_wait_readable(mp__sock *s, mp_op *op) {
  run_reader(s, op, READ_WAIT);
}

void mp__sock_connect(mp__sock *s, mp_op *op, const struct sockaddr *addr, socklen_t len) {
  if (connect(s->fd, addr, len) == 0) {
    mp__reactor_complete(s->reactor, op, 0);
  } else if (errno == EINPROGRESS) {
    s->writer_kind = WRITE_CONNECT;
    park(s, &s->writer, op, MP__EV_WRITE);
  } else {
    mp__reactor_complete(s->reactor, op, mp_from_errno(errno));
  }
}

void mp__sock_send(mp__sock *s, mp_op *op, const char *buf, size_t len) {
  s->send_buf = buf;
  s->send_len = (uint32_t)len;
  s->send_done = 0;
  run_send(s, op);
}

void mp__sock_ready(mp__sock *s, unsigned ev) {
  if (s->closing) return;
  s->ready |= (uint8_t)ev;
  if ((ev & MP__EV_READ) && s->reader) {
    mp_op *op = s->reader;
    s->reader = NULL;
    run_reader(s, op, s->reader_kind);
  }
  if ((ev & MP__EV_WRITE) && s->writer) {
    mp_op *op = s->writer;
    s->writer = NULL;
    if (s->writer_kind == WRITE_CONNECT) {
      finish_connect(s, op);
    } else if (s->writer_kind == WRITE_SENDTO) {
      run_sendto(s, op);
    } else {
      run_send(s, op);
    }
  }
}

void mp__sock_unwatched(mp__sock *s, unsigned ev, unsigned ready) {
  mp__reactor_set_watching(s->reactor, s, s->watching & ~ev);
  if (s->closing) {
    if (!s->watching) mp__reactor_complete(s->reactor, s->close_op, 0);
    return;
  }
  if (ready) mp__sock_ready(s, ready);
  /* A one-shot watch ended with an op still parked (it fired for nothing
   * that op can use yet): park it again, or it would wait forever. park()
   * fails it if the backend cannot watch; one already watched again by the
   * retry above costs nothing. */
  if ((ev & MP__EV_READ) && s->reader) repark(s, &s->reader, MP__EV_READ);
  if ((ev & MP__EV_WRITE) && s->writer) repark(s, &s->writer, MP__EV_WRITE);
}

void mp__sock_cancel_read(mp__sock *s) {
  if (s->closing || !s->reader) return;
  mp_op *op = s->reader;
  s->reader = NULL;
  mp__reactor_complete(s->reactor, op, MP_ECANCELED);
}

void mp__sock_close(mp__sock *s, mp_op *op) {
  mp__sock_cancel_read(s);
  if (s->writer) {
    mp__reactor_complete(s->reactor, s->writer, MP_ECANCELED);
    s->writer = NULL;
  }
  s->closing = 1;
  s->close_op = op;
  s->reactor->forget(s->reactor, s);
  close(s->fd);
  s->fd = -1;
  if (!s->watching) mp__reactor_complete(s->reactor, op, 0);
}

int mp__sock_recv(mp__sock *s, char *buf, size_t len) {
  ssize_t n = recv(s->fd, buf, len, 0);
  if (n < 0) {
    int err = sys_error();
    if (err == MP_EAGAIN) s->ready &= (uint8_t)~MP__EV_READ;
    return err;
  }
  /* A short read emptied the socket: the reactor reports new data, unless
   * the peer's FIN came with this data (then recv returns 0 next). */
  if ((size_t)n < len && n > 0 && !(s->ready & MP__EV_HUP)) s->ready &= (uint8_t)~MP__EV_READ;
  return (int)n;
}

int mp__sock_try_send(mp__sock *s, const char *buf, size_t len) {
  if (len > INT32_MAX) len = INT32_MAX;
  /* MSG_NOSIGNAL: a peer that went away is an EPIPE here, never SIGPIPE. */
  ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);
  if (n >= 0) return (int)n;
  int err = sys_error();
  return err == MP_EAGAIN ? 0 : err;
}

int mp__sock_shutdown(mp__sock *s) {
  return shutdown(s->fd, SHUT_WR) < 0 ? sys_error() : 0;
}

int mp__sock_open_dgram(mp__sock *s, mp_port *port, int family) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return mp_from_errno(errno);
  mp__sock_adopt(s, port, fd);
  return 0;
}

int mp__sock_bind(mp__sock *s, const struct sockaddr *addr, socklen_t len, unsigned flags) {
  int on = 1, v6only = (flags & MP__BIND_IPV6ONLY) != 0;
  if ((flags & MP__BIND_REUSEADDR) &&
      setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
    return sys_error();
  if (addr->sa_family == AF_INET6 &&
      setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) < 0)
    return sys_error();
  return bind(s->fd, addr, len) < 0 ? sys_error() : 0;
}

int mp__sock_connect_dgram(mp__sock *s, const struct sockaddr *addr, socklen_t len) {
  return connect(s->fd, addr, len) < 0 ? sys_error() : 0;
}

int mp__sock_family(mp__sock *s) {
  int family;
  socklen_t len = sizeof family;
  return getsockopt(s->fd, SOL_SOCKET, SO_DOMAIN, &family, &len) < 0 ? sys_error() : family;
}

int mp__sock_setsockopt(mp__sock *s, const mp__sockopt *o) {
  return setsockopt(s->fd, o->level, o->name, &o->value, o->len) < 0 ? sys_error() : 0;
}

void mp__sock_sendto(mp__sock *s, mp_op *op, const mp__datagram *d) {
  s->send_dgram = d;
  run_sendto(s, op);
}

int mp__sock_try_sendto(mp__sock *s, const mp__datagram *d) {
  ssize_t n = sendto(s->fd, d->buf, d->len, MSG_NOSIGNAL, d->to, d->to ? d->to_len : 0);
  return n >= 0 ? (int)n : sys_error();
}

int mp__sock_recvfrom(mp__sock *s, char *buf, size_t len, struct sockaddr_storage *from,
                      int *truncated) {
  struct iovec iov = {.iov_base = buf, .iov_len = len};
  struct msghdr msg = {
      .msg_name = from, .msg_namelen = sizeof *from, .msg_iov = &iov, .msg_iovlen = 1};
  ssize_t n = recvmsg(s->fd, &msg, 0);
  if (n < 0) {
    int err = sys_error();
    /* Only "would block" says the queue is empty: every datagram is read
     * whole, so a short one says nothing about the next. */
    if (err == MP_EAGAIN) s->ready &= (uint8_t)~MP__EV_READ;
    return err;
  }
  *truncated = (msg.msg_flags & MSG_TRUNC) != 0;
  return (int)n;
}
