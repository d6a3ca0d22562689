/* io_win32.c: a C module's handle on IOCP (io.h): not written yet. The plan
 * is CreateIoCompletionPort with the handle and the module's own overlapped
 * ReadFile on the op; until then mp_io_open says MP_ENOSYS. */
#include "port/io.h"

int mp__io_os_open(mp__io_os *o, mp_port *port, mp_os_handle handle) {
  (void)port;
  (void)handle;
  o->handle = NULL;
  return MP_ENOSYS;
}

void mp__io_os_wait_readable(mp__io_os *o, mp_op *op) {
  (void)o;
  (void)op;
}

void mp__io_os_close(mp__io_os *o, mp_op *op) {
  (void)o;
  (void)op;
}

void mp__io_os_discard(mp__io_os *o) {
  (void)o;
}
