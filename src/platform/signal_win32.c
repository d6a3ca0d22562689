/* signal_win32.c: platform/signal.h on Windows, through the console's
 * control handler (SetConsoleCtrlHandler).
 *
 * Windows has no signals to send to a process; what a console sends is a
 * control event: Ctrl+C is MP__SIG_INT, Ctrl+Break and the console window
 * being closed are MP__SIG_TERM. The system runs the handler on a thread
 * of its own, made for each event, so the handler is the delivering
 * thread and calls deliver directly. HUP, USR1 and USR2 have no event:
 * their number is 0 and catching them fails with MP_ENOSYS.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <signal.h>
#include <stdatomic.h>

#include "moonport.h"
#include "platform/signal.h"

/* The C runtime's numbers, which the runner's exit status and scripts know
 * from other systems; 0 where Windows has no such event. */
static const int numbers[MP__SIG_COUNT] = {SIGINT, SIGTERM, 0, 0, 0};

/* Ids caught now: read by the handler's threads while the Lua thread
 * changes it (under core/signals.c's lock). */
static atomic_uint catching;
/* Set before the handler is first installed, which orders it before any
 * call of the handler. */
static mp__signal_deliver deliver_fn;
static int installed; /* the handler is in the process's list */

static int id_of_event(DWORD event) {
  switch (event) {
  case CTRL_C_EVENT:
    return MP__SIG_INT;
  case CTRL_BREAK_EVENT:
  case CTRL_CLOSE_EVENT:
    return MP__SIG_TERM;
  default:
    return -1; /* logoff and shutdown reach services, not consoles */
  }
}

/* On a thread the system made for the event. FALSE passes the event on
 * to the next handler, in the end the default one, which ends the
 * process with STATUS_CONTROL_C_EXIT. */
static BOOL WINAPI on_control(DWORD event) {
  int id = id_of_event(event);
  if (id < 0 || !(atomic_load(&catching) & (1u << id))) return FALSE;
  deliver_fn(1u << id);
  if (event == CTRL_CLOSE_EVENT) {
    /* Once this returns, the system ends the process at once; until then
     * it waits some seconds (5 by default). Wait here, so that the loop
     * has that long to act on it and exit by itself. */
    Sleep(INFINITE);
  }
  return TRUE;
}

int mp__signal_number(int id) {
  return id >= 0 && id < MP__SIG_COUNT ? numbers[id] : 0;
}

int mp__signal_exit_status(int id) {
  (void)id;
  /* What the default handler exits with, for Ctrl+C and Ctrl+Break alike
   * (an NTSTATUS: negative as an int, 0xC000013A as an exit code). */
  return (int)STATUS_CONTROL_C_EXIT;
}

int mp__signal_ignored(int id) {
  /* A process may be started with Ctrl+C ignored (the inherited flag of
   * SetConsoleCtrlHandler(NULL, TRUE), CREATE_NEW_PROCESS_GROUP). There
   * is no call that reads the flag, but none is needed: while it is set,
   * Windows does not call the handlers for Ctrl+C, so it stays ignored. */
  (void)id;
  return 0;
}

int mp__signal_catch(int id, mp__signal_deliver deliver) {
  if (mp__signal_number(id) == 0) return MP_ENOSYS;
  if (!installed) {
    deliver_fn = deliver;
    if (!SetConsoleCtrlHandler(on_control, TRUE)) return MP_ENOMEM;
    installed = 1;
  }
  atomic_fetch_or(&catching, 1u << id);
  return 0;
}

void mp__signal_release(int id) {
  if (!(atomic_fetch_and(&catching, ~(1u << id)) & ~(1u << id)) && installed) {
    SetConsoleCtrlHandler(on_control, FALSE);
    installed = 0;
  }
}

void mp__signal_die(int id) {
  (void)id;
  /* As the default handler would, but without running the process's exit
   * code: the Lua thread may be stuck holding the runtime's locks (the
   * reason for dying now), and ExitProcess would wait on them. */
  SetConsoleCtrlHandler(on_control, FALSE);
  TerminateProcess(GetCurrentProcess(), (UINT)STATUS_CONTROL_C_EXIT);
}
