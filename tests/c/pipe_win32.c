/* pipe_win32.c: pipe_helper.h on Windows: a named pipe whose server end
 * is opened for overlapped I/O (what the port needs) and whose client end
 * the test writes to, blocking. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "check.h"
#include "pipe_helper.h"

/* A named pipe of type (PIPE_TYPE_BYTE or PIPE_TYPE_MESSAGE), read the
 * same way. */
static test_pipe open_named(DWORD type, DWORD read_mode) {
  static LONG serial;
  char name[96];
  wsprintfA(name, "\\\\.\\pipe\\moonport-test-io-%lu-%ld", GetCurrentProcessId(),
            InterlockedIncrement(&serial));
  HANDLE server = CreateNamedPipeA(name, PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED,
                                   type | read_mode | PIPE_WAIT, 1, 65536, 65536, 0, NULL);
  CHECK(server != INVALID_HANDLE_VALUE);
  HANDLE client = CreateFileA(name, GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
  CHECK(client != INVALID_HANDLE_VALUE);
  test_pipe p = {server, client};
  return p;
}

test_pipe test_pipe_open(void) {
  return open_named(PIPE_TYPE_BYTE, PIPE_READMODE_BYTE);
}

int test_message_pipe_open(test_pipe *p) {
  *p = open_named(PIPE_TYPE_MESSAGE, PIPE_READMODE_MESSAGE);
  return 1;
}

int test_pipe_write(test_pipe *p, const char *data, int len) {
  DWORD n = 0;
  CHECK(WriteFile(p->write_end, data, (DWORD)len, &n, NULL));
  return (int)n;
}

int test_pipe_read(test_pipe *p, char *buf, int len) {
  /* What is there, then a read that cannot wait (as libuv reads pipes). */
  DWORD avail = 0;
  if (!PeekNamedPipe(p->read_end, NULL, 0, NULL, &avail, NULL))
    return GetLastError() == ERROR_BROKEN_PIPE ? 0 : -1;
  if (avail == 0) return -1;
  OVERLAPPED ov = {0};
  ov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
  /* The low bit of hEvent: no completion packet for this read. */
  ov.hEvent = (HANDLE)((ULONG_PTR)ov.hEvent | 1);
  DWORD n = 0;
  BOOL ok = ReadFile(p->read_end, buf, avail < (DWORD)len ? avail : (DWORD)len, &n, &ov) ||
            GetOverlappedResult(p->read_end, &ov, &n, TRUE);
  CloseHandle((HANDLE)((ULONG_PTR)ov.hEvent & ~(ULONG_PTR)1));
  CHECK(ok);
  return (int)n;
}

void test_pipe_close_writer(test_pipe *p) {
  CloseHandle(p->write_end);
}

int test_handle_closed(HANDLE handle) {
  DWORD flags;
  return !GetHandleInformation(handle, &flags);
}

HANDLE test_regular_file(void) {
  char dir[MAX_PATH], path[MAX_PATH];
  CHECK(GetTempPathA(sizeof dir, dir) > 0);
  CHECK(GetTempFileNameA(dir, "mpt", 0, path) != 0);
  HANDLE h = CreateFileA(path, GENERIC_READ, 0, NULL, OPEN_EXISTING,
                         FILE_FLAG_OVERLAPPED | FILE_FLAG_DELETE_ON_CLOSE, NULL);
  CHECK(h != INVALID_HANDLE_VALUE);
  return h;
}

HANDLE test_bad_handle(void) {
  return (HANDLE)(ULONG_PTR)0x12344;
}
