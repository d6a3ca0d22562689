/* wake_fd.h: the eventfd that stops a Linux port's io_poll.
 *
 * io_wake (any thread) writes it and the reactor, watching it for input,
 * drains it with read(2). One write is enough however many wakes were
 * asked for: the counter only has to be non-zero.
 */
#ifndef MP_WAKE_FD_H
#define MP_WAKE_FD_H

#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* A non-blocking eventfd, or -1 with errno set. */
static inline int mp__wake_fd_open(void) {
  return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

static inline void mp__wake_fd_signal(int fd) {
  uint64_t one = 1;
  /* EAGAIN means the counter is already non-zero: the poll will wake. */
  if (write(fd, &one, sizeof one) < 0) return;
}

static inline void mp__wake_fd_drain(int fd) {
  uint64_t count;
  /* Nothing to read means another wake drained it first: fine. */
  if (read(fd, &count, sizeof count) < 0) return;
}

#endif
