/* io_posix.c: a C module's descriptor on the Linux ports (io.h), waited on
 * through the socket ops' readiness machinery, which is not TCP-specific. */
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "port/errno_posix.h"
#include "port/io.h"

int mp__io_os_open(mp__io_os *o, mp_port *port, int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return mp__from_errno(errno);
  mp__sock_adopt(o, port, fd);
  return 0;
}

void mp__io_os_wait_readable(mp__io_os *o, mp_op *op) {
  /* The module reads the descriptor itself, so the readiness the reactor
   * reported says nothing of what it left: ask the kernel. (A failed poll
   * counts as ready: the module's read then meets the error.) */
  struct pollfd p = {.fd = o->fd, .events = POLLIN};
  int n = poll(&p, 1, 0);
  if (n == 0) {
    o->ready &= (uint8_t)~MP__EV_READ;
  } else {
    o->ready |= MP__EV_READ;
  }
  mp__sock_wait_readable(o, op);
}

void mp__io_os_close(mp__io_os *o, mp_op *op) {
  mp__sock_close(o, op);
}

void mp__io_os_discard(mp__io_os *o) {
  if (o->fd >= 0) close(o->fd);
  o->fd = -1;
}
