/* pipe_posix.c: pipe_helper.h on Linux: pipe(2). */
#define _POSIX_C_SOURCE 200809L /* fileno */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "pipe_helper.h"

test_pipe test_pipe_open(void) {
  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  test_pipe p = {fds[0], fds[1]};
  return p;
}

int test_message_pipe_open(test_pipe *p) {
  (void)p;
  return 0;
}

int test_pipe_write(test_pipe *p, const char *data, int len) {
  return (int)write(p->write_end, data, (size_t)len);
}

int test_pipe_read(test_pipe *p, char *buf, int len) {
  ssize_t n = read(p->read_end, buf, (size_t)len);
  if (n < 0) CHECK(errno == EAGAIN); /* mp_io_open made it non-blocking */
  return (int)n;
}

void test_pipe_close_writer(test_pipe *p) {
  close(p->write_end);
}

int test_handle_closed(int fd) {
  return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

int test_regular_file(void) {
  FILE *f = tmpfile();
  CHECK(f != NULL);
  int fd = dup(fileno(f));
  fclose(f);
  return fd;
}

int test_bad_handle(void) {
  return 12345;
}
