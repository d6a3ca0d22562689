/* io_win32.c: a C module's handle on IOCP (io.h): the handle associated
 * with the port, the wait a zero-byte overlapped ReadFile (as libuv waits
 * on pipes), close a CancelIoEx and a CloseHandle after the last packet. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <string.h>

#include "port/errno_win32.h"
#include "port/io.h"
#include "port/port_iocp.h"

/* Post op's completion with result (DESIGN.md rule 6). The port refuses
 * only while the loop is being freed, when nothing is dispatched any more. */
static void complete_later(mp__io_os *o, mp_op *op, int result) {
  op->result = result;
  o->port->backend->post(o->port, op, 0, 0);
}

/* A wait's outcome as io.h promises it: 0 when a read would not block, the
 * end of a pipe included (the module's read then sees it). */
static int wait_result(DWORD error) {
  if (error == ERROR_BROKEN_PIPE || error == ERROR_HANDLE_EOF || error == ERROR_MORE_DATA) return 0;
  return mp__from_win_error(error);
}

/* Once closing and the kernel holds no wait: close the handle and post the
 * close op, once. */
static void finish_close(mp__io_os *o) {
  if (!o->close_op || o->reader) return;
  CloseHandle(o->handle);
  o->handle = NULL;
  mp_op *op = o->close_op;
  o->close_op = NULL;
  complete_later(o, op, 0);
}

static void wait_done(mp_loop *loop, mp_op *op) {
  mp__io_os *o = (mp__io_os *)op->key_;
  DWORD bytes;
  int result = GetOverlappedResult(o->handle, (OVERLAPPED *)op, &bytes, FALSE)
                   ? 0
                   : wait_result(GetLastError());
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

void mp__io_os_wait_readable(mp__io_os *o, mp_op *op) {
  static char none;
  memset(&op->os_, 0, sizeof op->os_);
  o->reader_cb = op->cb;
  op->cb = wait_done;
  o->reader = op;
  if (ReadFile(o->handle, &none, 0, NULL, (OVERLAPPED *)op)) return; /* its packet comes */
  DWORD error = GetLastError();
  if (error == ERROR_IO_PENDING) return;
  /* Refused at once: the kernel holds nothing, and posts no packet. */
  o->reader = NULL;
  op->cb = o->reader_cb;
  complete_later(o, op, wait_result(error));
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
   * must be done with the wait's OVERLAPPED before its memory goes. */
  if (o->reader) {
    CancelIoEx(o->handle, NULL);
    while (!HasOverlappedIoCompleted((OVERLAPPED *)o->reader))
      Sleep(1);
  }
  CloseHandle(o->handle);
  o->handle = NULL;
}
