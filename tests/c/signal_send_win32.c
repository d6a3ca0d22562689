/* signal_send_win32.c: signal_send.h on Windows: Ctrl+C (MP__SIG_INT) or
 * Ctrl+Break (MP__SIG_TERM) generated on the process's console.
 *
 * GenerateConsoleCtrlEvent reaches every process attached to the caller's
 * console: under ctest on Windows that is ctest itself and the shell that
 * runs it. So the first call moves this process to a console of its own,
 * hidden, where it is alone. (Under Wine, a process started without a
 * terminal has a console that cannot generate events at all, error 12;
 * one of its own can, but only Ctrl+C: Ctrl+Break fails with error 6.)
 * The standard handles stay what they were, so the test's output still
 * reaches ctest. */
#include "signal_send.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdio.h>

#include "check.h"
#include "platform/signal.h"

static int own_console(void) {
  static int done;
  if (done) return 0;
  HANDLE in = GetStdHandle(STD_INPUT_HANDLE), out = GetStdHandle(STD_OUTPUT_HANDLE),
         err = GetStdHandle(STD_ERROR_HANDLE);
  FreeConsole();
  if (!AllocConsole()) {
    fprintf(stderr, "AllocConsole failed: error %lu\n", GetLastError());
    return -1;
  }
  HWND window = GetConsoleWindow();
  if (window) ShowWindow(window, SW_HIDE);
  /* Ctrl+C may have been ignored since the process started (an inherited
   * flag): it must reach the handlers here. */
  SetConsoleCtrlHandler(NULL, FALSE);
  SetStdHandle(STD_INPUT_HANDLE, in);
  SetStdHandle(STD_OUTPUT_HANDLE, out);
  SetStdHandle(STD_ERROR_HANDLE, err);
  done = 1;
  return 0;
}

/* Wine is told by the registry key that every Wine prefix has. */
static int on_wine(void) {
  HKEY key;
  if (RegOpenKeyExA(HKEY_CURRENT_USER, "Software\\Wine", 0, KEY_READ, &key) != ERROR_SUCCESS)
    return 0;
  RegCloseKey(key);
  return 1;
}

int test_signal_send(int id) {
  DWORD event = id == MP__SIG_INT ? CTRL_C_EVENT : CTRL_BREAK_EVENT;
  if (id != MP__SIG_INT && id != MP__SIG_TERM) {
    fprintf(stderr, "no console event for signal id %d\n", id);
    return -1;
  }
  if (own_console() < 0) return -1;
  if (GenerateConsoleCtrlEvent(event, 0)) return 0;
  if (event == CTRL_BREAK_EVENT && on_wine()) {
    fprintf(stderr,
            "SKIP (Wine): %s:%d: Wine cannot generate Ctrl+Break (GenerateConsoleCtrlEvent: "
            "error %lu; Ctrl+C works)\n",
            "signal_send_win32.c", __LINE__, GetLastError());
    exit(SKIP_CODE);
  }
  fprintf(stderr, "GenerateConsoleCtrlEvent failed: error %lu\n", GetLastError());
  return -1;
}
