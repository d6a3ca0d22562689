/* io_posix.c: a C module's descriptor on the Linux ports (io.h), waited on
 * through the socket ops' readiness machinery, which is not TCP-specific;
 * a read tries read(2) first and waits only on EAGAIN (DESIGN.md rule 9). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "moonport.h"
#include "port/io.h"
#include "port/reactor.h"

int mp__io_os_open(mp__io_os *o, mp_port *port, int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return mp_from_errno(errno);
  mp__sock_adopt(&o->sock, port, fd);
  o->reader = NULL;
  return 0;
}

void mp__io_os_wait_readable(mp__io_os *o, mp_op *op) {
  /* The module reads the descriptor itself, so the readiness the reactor
   * reported says nothing of what it left: ask the kernel. (A failed poll
   * counts as ready: the module's read then meets the error.) */
  struct pollfd p = {.fd = o->sock.fd, .events = POLLIN};
  int n = poll(&p, 1, 0);
  if (n == 0) {
    o->sock.ready &= (uint8_t)~MP__EV_READ;
  } else {
    o->sock.ready |= MP__EV_READ;
  }
  mp__sock_wait_readable(&o->sock, op);
}

/* One non-blocking read(2): the count, 0 at the end, MP_EAGAIN or an error.
 * EAGAIN also forgets the readiness, so that the wait parks until the
 * reactor reports new data. */
static int try_read(mp__io_os *o) {
  ssize_t n;
  do {
    n = read(o->sock.fd, o->buf, o->len);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return (int)n;
  if (errno != EAGAIN && errno != EWOULDBLOCK) return mp_from_errno(errno);
  o->sock.ready &= (uint8_t)~MP__EV_READ;
  return MP_EAGAIN;
}

/* The read's wait came back, on the Lua thread: read, or wait again. The
 * read's op is finished here, directly, so that it comes before a close
 * op queued behind this wait. */
static void read_ready(mp_loop *loop, mp_op *wait) {
  mp__io_os *o = MP_CONTAINER_OF(wait, mp__io_os, wait);
  int result = wait->result;
  if (result == 0) {
    /* Ready, but closed before this came: the descriptor is gone. */
    result = o->sock.closing ? MP_ECANCELED : try_read(o);
    if (result == MP_EAGAIN) {
      mp__sock_wait_readable(&o->sock, &o->wait);
      return;
    }
  }
  mp_op *op = o->reader;
  o->reader = NULL;
  op->result = result;
  op->cb(loop, op);
}

void mp__io_os_read(mp__io_os *o, mp_op *op, void *buf, uint32_t len) {
  o->buf = buf;
  o->len = len;
  int result = try_read(o);
  if (result != MP_EAGAIN) {
    mp__reactor_complete(o->sock.reactor, op, result);
    return;
  }
  o->reader = op;
  o->wait.cb = read_ready;
  mp__sock_wait_readable(&o->sock, &o->wait);
}

void mp__io_os_close(mp__io_os *o, mp_op *op) {
  mp__sock_close(&o->sock, op);
}

void mp__io_os_discard(mp__io_os *o) {
  if (o->sock.fd >= 0) close(o->sock.fd);
  o->sock.fd = -1;
}
