/* pipe_posix.c: pipe_os.h on Linux: pipe2, write. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "pipe_os.h"

int pipe_os_open(int *read_end, int *write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return mp_from_errno(errno);
  *read_end = fds[0];
  *write_end = fds[1];
  return 0;
}

/* write(2) fails with EPIPE instead of raising SIGPIPE when the read end is
 * gone (pipes have no MSG_NOSIGNAL): SIGPIPE is blocked in this thread for
 * the call, and the one it raised taken back. */
int pipe_os_write(int write_end, const char *buf, size_t len) {
  sigset_t sigpipe, old;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &sigpipe, &old);
  ssize_t n = write(write_end, buf, len);
  int err = errno;
  if (n < 0 && err == EPIPE && !sigismember(&old, SIGPIPE)) {
    static const struct timespec now = {0, 0};
    sigtimedwait(&sigpipe, NULL, &now);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (n >= 0) return (int)n;
  return err == EAGAIN || err == EWOULDBLOCK ? 0 : mp_from_errno(err);
}

void pipe_os_close(int handle) {
  close(handle);
}
