/* pipe_win32.c: pipe_os.h on Windows: a named pipe whose server end is
 * opened for overlapped I/O (what mp_io wants) and whose client end writes
 * without waiting (PIPE_NOWAIT). */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "pipe_os.h"

#define PIPE_BUFFER 65536

/* The few errors a pipe meets, as MP_E… codes. */
static int pipe_error(DWORD error) {
  switch (error) {
  case ERROR_BROKEN_PIPE:
  case ERROR_NO_DATA: /* the other end is closing */
  case ERROR_PIPE_NOT_CONNECTED:
    return MP_EPIPE;
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
    return MP_ENOMEM;
  case ERROR_INVALID_HANDLE:
    return MP_EBADF;
  default:
    return MP_EIO;
  }
}

int pipe_os_open(HANDLE *read_end, HANDLE *write_end) {
  static LONG serial;
  char name[96];
  wsprintfA(name, "\\\\.\\pipe\\cmodule-%lu-%ld", GetCurrentProcessId(),
            InterlockedIncrement(&serial));
  HANDLE server = CreateNamedPipeA(name, PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED,
                                   PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1, PIPE_BUFFER,
                                   PIPE_BUFFER, 0, NULL);
  if (server == INVALID_HANDLE_VALUE) return pipe_error(GetLastError());
  HANDLE client =
      CreateFileA(name, GENERIC_WRITE | FILE_WRITE_ATTRIBUTES, 0, NULL, OPEN_EXISTING, 0, NULL);
  DWORD mode = PIPE_READMODE_BYTE | PIPE_NOWAIT;
  if (client == INVALID_HANDLE_VALUE || !SetNamedPipeHandleState(client, &mode, NULL, NULL)) {
    int err = pipe_error(GetLastError());
    if (client != INVALID_HANDLE_VALUE) CloseHandle(client);
    CloseHandle(server);
    return err;
  }
  *read_end = server;
  *write_end = client;
  return 0;
}

int pipe_os_write(HANDLE write_end, const char *buf, size_t len) {
  DWORD n = 0;
  if (len > PIPE_BUFFER) len = PIPE_BUFFER; /* a non-waiting write takes all or nothing */
  if (!WriteFile(write_end, buf, (DWORD)len, &n, NULL)) return pipe_error(GetLastError());
  return (int)n;
}

void pipe_os_close(HANDLE handle) {
  CloseHandle(handle);
}
