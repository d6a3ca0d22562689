/* signal_win32.c: platform/signal.h on Windows. Not there yet: Ctrl+C and
 * Ctrl+Break will come through SetConsoleCtrlHandler (whose handler runs
 * on a thread of its own, so it can call deliver directly). Until then no
 * signal is available, and mp.signal says so. */
#include "platform/signal.h"

#include "moonport.h"

int mp__signal_number(int id) {
  (void)id;
  return 0;
}

int mp__signal_ignored(int id) {
  (void)id;
  return 0;
}

int mp__signal_catch(int id, mp__signal_deliver deliver) {
  (void)id;
  (void)deliver;
  return MP_ENOSYS;
}

void mp__signal_release(int id) {
  (void)id;
}

void mp__signal_die(int id) {
  (void)id;
}
