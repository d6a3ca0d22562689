/* io.h: the port's side of a C module's handle (mp_io in moonport.h): take
 * over a handle, read it or wait until it is readable, close it. The
 * core's io.c keeps the module's ops and the loop's count around these.
 *
 * The ops have sock.h's rules: each start gives exactly one completion of
 * its op on the Lua thread, also when it fails at once or is cancelled,
 * and at most one read or wait is in flight per handle.
 */
#ifndef MP_IO_H
#define MP_IO_H

#include "port/port.h"

#ifdef _WIN32
#include <windows.h>
/* A handle opened for overlapped I/O (FILE_FLAG_OVERLAPPED), associated
 * with the port (key: the mp__io_os). A read is an overlapped ReadFile
 * into the caller's buffer; the wait is the same with zero bytes, which
 * ends when data (or the end, or an error) is there and takes none of it.
 * Its packet comes to io_win32.c first, which finishes it and hands it to
 * its issuer. The handle is closed once closing and no read is left. */
typedef struct mp__io_os {
  mp_port *port;
  HANDLE handle; /* NULL once closed */
  mp_op *reader; /* the read the kernel holds, or NULL */
  mp_op_cb reader_cb;
  mp_op *close_op; /* posted once closing and reader is NULL (then NULL) */
  int closing;
} mp__io_os;
#else
#include "port/sock.h"
/* A descriptor is waited on like a socket's zero-byte read (sock_posix.c);
 * a read is that wait, parked as the socket's reader, then read(2), again
 * until the read does not say EAGAIN. */
typedef struct mp__io_os {
  mp__sock sock;
  mp_op wait;    /* the read's wait, while reader is set */
  mp_op *reader; /* the read in flight, or NULL */
  char *buf;     /* its buffer... */
  uint32_t len;  /* ...and size */
} mp__io_os;
#endif

/* Take over handle on port. Returns 0 or an MP_E… code (the handle stays
 * the caller's). */
int mp__io_os_open(mp__io_os *o, mp_port *port, mp_os_handle handle);
/* Complete op with 0 when a read would not block, asking the kernel now,
 * so that bytes another reader left behind count. */
void mp__io_os_wait_readable(mp__io_os *o, mp_op *op);
/* Read up to len (1 to INT32_MAX) bytes into buf, which stays valid until
 * op completes: with the count, 0 at the end of file or of a pipe whose
 * writer has gone, or an MP_E… code. */
void mp__io_os_read(mp__io_os *o, mp_op *op, void *buf, uint32_t len);
/* The read or wait in flight completes with MP_ECANCELED, the handle is closed,
 * then op completes once the kernel holds nothing of o. */
void mp__io_os_close(mp__io_os *o, mp_op *op);
/* Close the handle of an o that was never closed, without completions (the
 * loop is being freed). */
void mp__io_os_discard(mp__io_os *o);

#endif
