/* pipe_os.h: the OS's side of cmodule.pipe() (pipe_posix.c, pipe_win32.c):
 * a pipe whose read end mp_io_open takes (mp_io_read reads it the same way
 * on every OS), and non-blocking writes. Errors are MP_E… codes. Lua
 * thread. */
#ifndef CMODULE_PIPE_OS_H
#define CMODULE_PIPE_OS_H

#include <stddef.h>

#include "moonport.h"

/* Make a pipe: *read_end for mp_io_open, *write_end non-blocking. */
int pipe_os_open(mp_os_handle *read_end, mp_os_handle *write_end);
/* Write what the pipe takes now of buf: the count (0 when it is full), or
 * an error (MP_EPIPE once the read end is gone; never a SIGPIPE). */
int pipe_os_write(mp_os_handle write_end, const char *buf, size_t len);
void pipe_os_close(mp_os_handle handle);

#endif
