/* signal_send_win32.c: signal_send.h on Windows: Ctrl+C (MP__SIG_INT) or
 * Ctrl+Break (MP__SIG_TERM) generated on the process's console.
 *
 * GenerateConsoleCtrlEvent reaches every process attached to the caller's
 * console: under ctest on Windows that is ctest itself and the shell that
 * runs it. So the first call moves this process to a console of its own,
 * where it is alone. (Under Wine, a process started without a terminal
 * has a console that cannot generate events at all, error 12; one of its
 * own can, but only Ctrl+C: Ctrl+Break fails with error 6.) */
#include "signal_send.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdio.h>

#include "check.h"
#include "platform/signal.h"

/* The console comes from a cmd.exe started with CREATE_NO_WINDOW, which
 * gets a new console without a window; this process leaves its own and
 * attaches to that one, then ends cmd.exe (the console stays while a
 * process is attached). cmd.exe waits for a line on a pipe that never
 * gets one, and writes to NUL: none of this process's handles reach it
 * or its console's host. (AllocConsole would open a window, on Windows
 * and under Wine, and Wine's console host would keep ctest's output pipe
 * open for a second or more after the test ends.) */
static int own_console(void) {
  static int done;
  if (done) return 0;
  SECURITY_ATTRIBUTES inherit = {.nLength = sizeof inherit, .bInheritHandle = TRUE};
  HANDLE line_in, line_out, nul;
  if (!CreatePipe(&line_in, &line_out, &inherit, 0)) return -1;
  SetHandleInformation(line_out, HANDLE_FLAG_INHERIT, 0);
  nul = CreateFileA("NUL", GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit,
                    OPEN_EXISTING, 0, NULL);
  STARTUPINFOA si = {.cb = sizeof si, .dwFlags = STARTF_USESTDHANDLES};
  si.hStdInput = line_in;
  si.hStdOutput = si.hStdError = nul;
  PROCESS_INFORMATION cmd;
  char command[] = "cmd.exe /q /k";
  BOOL started =
      nul != INVALID_HANDLE_VALUE &&
      CreateProcessA(NULL, command, NULL, NULL, TRUE, CREATE_NO_WINDOW, NULL, NULL, &si, &cmd);
  DWORD err = GetLastError();
  CloseHandle(line_in);
  if (nul != INVALID_HANDLE_VALUE) CloseHandle(nul);
  if (!started) {
    CloseHandle(line_out);
    fprintf(stderr, "starting cmd.exe for a console failed: error %lu\n", err);
    return -1;
  }
  /* Its console is there once it runs: try for up to 5 s. */
  FreeConsole();
  BOOL attached = FALSE;
  for (int i = 0; i < 500 && !(attached = AttachConsole(cmd.dwProcessId)); i++)
    Sleep(10);
  err = GetLastError();
  TerminateProcess(cmd.hProcess, 0);
  CloseHandle(cmd.hProcess);
  CloseHandle(cmd.hThread);
  CloseHandle(line_out);
  if (!attached) {
    fprintf(stderr, "AttachConsole failed: error %lu\n", err);
    return -1;
  }
  /* Ctrl+C may have been ignored since the process started (an inherited
   * flag): it must reach the handlers here. */
  SetConsoleCtrlHandler(NULL, FALSE);
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
