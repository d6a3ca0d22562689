/* port_iocp.c: the port on a Windows I/O completion port, the model the port was drawn from. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <assert.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "backends.h"
#include "port/port_iocp.h"
#include "port/errno_win32.h"

/* IOCP hands back the OVERLAPPED address an operation was started with;
 * moonport starts every operation with the op itself, so the op must begin
 * with storage that is exactly an OVERLAPPED. */
static_assert(sizeof(OVERLAPPED) == sizeof(((mp_op *)0)->os_), "mp_op.os_ must fit an OVERLAPPED");
static_assert(offsetof(mp_op, os_) == 0, "mp_op.os_ must come first");

/* A port. handle lives from open to close. closed goes from 0 to 1 once, in
 * shutdown, and never back. wake is never handed to the kernel for I/O: its
 * address only marks the packet that shutdown posts, so that no op or key
 * value has to be reserved for it. At most one waiter holds that packet at
 * a time, and each one that takes it posts it again before returning, so
 * every waiter that was blocked in the kernel at shutdown wakes in turn. */
typedef struct iocp_port {
  mp_port base; /* first: the core sees an mp_port */
  HANDLE handle;
  atomic_int closed;
  OVERLAPPED wake;
} iocp_port;

static int iocp_available(void) {
  return 1; /* every Windows since NT 3.5 has completion ports */
}

static int iocp_open(mp_port **out) {
  iocp_port *p = malloc(sizeof *p);
  if (p == NULL) return MP_ENOMEM;
  /* No file handle yet: a bare port. Concurrency 0 lets as many waiters run
   * at once as there are processors. */
  p->handle = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
  if (p->handle == NULL) {
    int err = mp__from_win_error(GetLastError());
    free(p);
    return err;
  }
  p->base.backend = &mp__port_iocp;
  p->base.reactor = NULL; /* kernel completions come through wait() here */
  atomic_init(&p->closed, 0);
  ZeroMemory(&p->wake, sizeof p->wake);
  *out = &p->base;
  return 0;
}

static int iocp_post(mp_port *port, mp_op *op, uintptr_t key, uint32_t bytes) {
  iocp_port *p = (iocp_port *)port;
  /* A post that races with shutdown may pass this test and land behind the
   * wake packet; it is then dropped like any packet still queued at
   * shutdown, as port.h allows. */
  if (atomic_load(&p->closed)) return MP_ECLOSED;
  if (!PostQueuedCompletionStatus(p->handle, bytes, key, (OVERLAPPED *)op))
    return mp__from_win_error(GetLastError());
  return 0;
}

/* Queue the wake packet, retrying briefly: the kernel allocates a packet for
 * each post, and a waiter left without one would sleep forever. */
static void iocp_post_wake(iocp_port *p) {
  for (int tries = 0; tries < 1000; tries++) {
    if (PostQueuedCompletionStatus(p->handle, 0, 0, &p->wake)) return;
    Sleep(1);
  }
}

static int iocp_wait(mp_port *port, mp_packet *out, int max, int64_t timeout_ms) {
  iocp_port *p = (iocp_port *)port;
  OVERLAPPED_ENTRY entries[MP_PORT_BATCH];
  ULONG got = 0;
  DWORD ms;

  if (max <= 0) return MP_EINVAL;
  if (atomic_load(&p->closed)) return MP_ECLOSED;
  if (timeout_ms < 0)
    ms = INFINITE;
  else if (timeout_ms >= (int64_t)INFINITE)
    ms = INFINITE - 1; /* the longest finite wait */
  else
    ms = (DWORD)timeout_ms;

  ULONG count = max < MP_PORT_BATCH ? (ULONG)max : MP_PORT_BATCH;
  if (!GetQueuedCompletionStatusEx(p->handle, entries, count, &got, ms, FALSE)) {
    DWORD e = GetLastError();
    return e == WAIT_TIMEOUT ? 0 : mp__from_win_error(e);
  }

  /* Keep the real packets in order; pass the wake packet on to the next
   * waiter. If the batch held real packets too, they are returned now and
   * this thread's next wait sees closed and returns MP_ECLOSED. */
  int n = 0, woken = 0;
  for (ULONG i = 0; i < got; i++) {
    if (entries[i].lpOverlapped == &p->wake) {
      woken = 1;
      continue;
    }
    out[n].op = (mp_op *)entries[i].lpOverlapped;
    out[n].key = (uintptr_t)entries[i].lpCompletionKey;
    out[n].bytes = (uint32_t)entries[i].dwNumberOfBytesTransferred;
    n++;
  }
  if (woken) iocp_post_wake(p);
  return n > 0 ? n : woken ? MP_ECLOSED : 0;
}

static void iocp_shutdown(mp_port *port) {
  iocp_port *p = (iocp_port *)port;
  /* The first caller wakes the waiters; later calls find closed set. */
  if (atomic_exchange(&p->closed, 1) == 0) iocp_post_wake(p);
}

static void iocp_close(mp_port *port) {
  iocp_port *p = (iocp_port *)port;
  /* Safe only now that no thread waits: closing the handle under a waiter
   * would leave it blocked or failing with ERROR_ABANDONED_WAIT_0. Packets
   * still queued, the wake packet among them, go with the handle. */
  CloseHandle(p->handle);
  free(p);
}

int mp__iocp_associate(mp_port *port, HANDLE handle, uintptr_t key) {
  iocp_port *p = (iocp_port *)port;
  if (CreateIoCompletionPort(handle, p->handle, key, 0) == NULL)
    return mp__from_win_error(GetLastError());
  /* Nobody waits on the handle itself: spare the kernel setting its event
   * on every completion. (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS stays off:
   * every op, also one that succeeds at once, ends with its packet.) A
   * failure costs only that saving. */
  SetFileCompletionNotificationModes(handle, FILE_SKIP_SET_EVENT_ON_HANDLE);
  return 0;
}

void mp__iocp_complete_later(mp_port *port, mp_op *op, int result) {
  op->result = result;
  (void)iocp_post(port, op, 0, 0);
}

int mp__iocp_packet_queued(const mp_op *op, int ok, DWORD error) {
  if (ok || error == ERROR_IO_PENDING) return 1;
  return (((const OVERLAPPED *)op)->Internal & 0xC0000000u) == 0x80000000u;
}

const mp_port_backend mp__port_iocp = {
    .name = "iocp",
    .available = iocp_available,
    .open = iocp_open,
    .post = iocp_post,
    .wait = iocp_wait,
    .shutdown = iocp_shutdown,
    .close = iocp_close,
};
