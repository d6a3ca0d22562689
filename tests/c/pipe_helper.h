/* pipe_helper.h: a pipe for the mp_io tests on each OS (pipe_posix.c,
 * pipe_win32.c): its read end is a handle mp_io_open takes (Linux: a
 * descriptor; Windows: the server end of a named pipe opened for
 * overlapped I/O), its write end stays the test's. */
#ifndef MP_PIPE_HELPER_H
#define MP_PIPE_HELPER_H

#include "moonport.h"

typedef struct test_pipe {
  mp_os_handle read_end;
  mp_os_handle write_end;
} test_pipe;

/* Make a pipe; exits the test if it cannot. */
test_pipe test_pipe_open(void);
/* Make a pipe whose reads keep the writes' message boundaries and hand a
 * message longer than the read in pieces (Windows: a message-mode named
 * pipe). Returns 0 where there is none such (Linux: a packet pipe drops
 * the rest of a long message instead). */
int test_message_pipe_open(test_pipe *p);
/* Write len bytes (blocking); returns the count. Any thread. */
int test_pipe_write(test_pipe *p, const char *data, int len);
/* Read up to len bytes without blocking: the count, 0 at the end, -1 when
 * nothing is there yet. */
int test_pipe_read(test_pipe *p, char *buf, int len);
void test_pipe_close_writer(test_pipe *p);
/* Whether handle has been closed (by the io that owned it). */
int test_handle_closed(mp_os_handle handle);
/* A regular file, opened for reading as mp_io_open wants it. */
mp_os_handle test_regular_file(void);
/* A value that is no handle at all. */
mp_os_handle test_bad_handle(void);

#endif
