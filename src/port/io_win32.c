/* io_win32.c: a C module's handle on IOCP (io.h): the handle associated
 * with the port, a read an overlapped ReadFile into the caller's buffer,
 * the wait the same of zero bytes (as libuv waits on pipes), close a
 * CancelIoEx and a CloseHandle after the last packet. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <string.h>

#include "port/errno_win32.h"
#include "port/io.h"
#include "port/port_iocp.h"

/* A read that ended with error: 0 at the end of a pipe (its writer has
 * gone) or of a file; a message longer than the buffer (a message-mode
 * pipe) counts as the bytes read, its rest is there for the next read. */
static int read_result(DWORD error, DWORD bytes) {
  if (error == ERROR_BROKEN_PIPE || error == ERROR_HANDLE_EOF) return 0;
  if (error == ERROR_MORE_DATA) return (int)bytes;
  return mp__from_win_error(error);
}

/* Once closing and the kernel holds no read: close the handle and post the
 * close op, once. */
static void finish_close(mp__io_os *o) {
  if (!o->close_op || o->reader) return;
  CloseHandle(o->handle);
  o->handle = NULL;
  mp_op *op = o->close_op;
  o->close_op = NULL;
  mp__iocp_complete_later(o->port, op, 0);
}

static void read_done(mp_loop *loop, mp_op *op) {
  mp__io_os *o = (mp__io_os *)op->key_;
  DWORD bytes = 0;
  int result = GetOverlappedResult(o->handle, (OVERLAPPED *)op, &bytes, FALSE)
                   ? (int)bytes
                   : read_result(GetLastError(), bytes);
  o->reader = NULL;
  op->cb = o->reader_cb;
  op->result = result;
  finish_close(o);
  op->cb(loop, op);
}

int mp__io_os_open(mp__io_os *o, mp_port *port, mp_os_handle handle) {
  memset(o, 0, sizeof *o);
  o->port = port;
  int rc = mp__iocp_associate(port, handle, (uintptr_t)o);
  if (rc < 0) return rc;
  o->handle = handle;
  return 0;
}

void mp__io_os_read(mp__io_os *o, mp_op *op, void *buf, uint32_t len) {
  memset(&op->os_, 0, sizeof op->os_);
  o->reader_cb = op->cb;
  op->cb = read_done;
  o->reader = op;
  BOOL ok = ReadFile(o->handle, buf, len, NULL, (OVERLAPPED *)op);
  DWORD error = ok ? 0 : GetLastError();
  /* Its packet comes (ERROR_MORE_DATA, too, is a warning). */
  if (mp__iocp_packet_queued(op, ok, error)) return;
  /* Refused at once: the kernel holds nothing, and posts no packet. */
  o->reader = NULL;
  op->cb = o->reader_cb;
  mp__iocp_complete_later(o->port, op, read_result(error, 0));
}

/* The wait is a read of nothing: it ends when a read would not block and
 * takes no byte, so its count is always 0. */
void mp__io_os_wait_readable(mp__io_os *o, mp_op *op) {
  static char none;
  mp__io_os_read(o, op, &none, 0);
}

void mp__io_os_close(mp__io_os *o, mp_op *op) {
  o->closing = 1;
  o->close_op = op;
  if (o->reader) CancelIoEx(o->handle, NULL);
  finish_close(o);
}

void mp__io_os_discard(mp__io_os *o) {
  if (!o->handle) return;
  /* The loop is going: no packet will be taken any more, but the kernel
   * must be done with the read's OVERLAPPED (and buffer) before their
   * memory goes. */
  if (o->reader) {
    CancelIoEx(o->handle, NULL);
    while (!HasOverlappedIoCompleted((OVERLAPPED *)o->reader))
      Sleep(1);
  }
  CloseHandle(o->handle);
  o->handle = NULL;
}
