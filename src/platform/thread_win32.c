/* thread_win32.c: threads, locks, clocks and the executable's directory on Windows (platform.h). */
#include "platform.h"

#include <errno.h>
#include <mmsystem.h>
#include <limits.h>
#include <process.h>
#include <stdlib.h>
#include <string.h>

#include "moonport.h"

/* Slim reader/writer locks and condition variables need no teardown and
 * cannot fail to initialise, which is what platform.h promises. */
void mp__mutex_init(mp__mutex *m) {
  InitializeSRWLock(m);
}

void mp__mutex_destroy(mp__mutex *m) {
  (void)m;
}

void mp__mutex_lock(mp__mutex *m) {
  AcquireSRWLockExclusive(m);
}

void mp__mutex_unlock(mp__mutex *m) {
  ReleaseSRWLockExclusive(m);
}

void mp__cond_init(mp__cond *c) {
  InitializeConditionVariable(c);
}

void mp__cond_destroy(mp__cond *c) {
  (void)c;
}

void mp__cond_signal(mp__cond *c) {
  WakeConditionVariable(c);
}

void mp__cond_broadcast(mp__cond *c) {
  WakeAllConditionVariable(c);
}

int mp__cond_wait(mp__cond *c, mp__mutex *m, int64_t timeout_ms) {
  DWORD ms;
  if (timeout_ms < 0)
    ms = INFINITE;
  else if (timeout_ms >= (int64_t)INFINITE)
    ms = INFINITE - 1; /* the longest finite wait; INFINITE itself would never time out */
  else
    ms = (DWORD)timeout_ms;
  if (SleepConditionVariableSRW(c, m, ms, 0)) return 0;
  /* Any other failure is reported as a wake-up: callers re-check their
   * predicate anyway, as they must after a spurious wake. */
  return GetLastError() == ERROR_TIMEOUT ? MP_ETIMEDOUT : 0;
}

/* Windows wakes sleepers on its timer tick, 15.6 ms by default: a timer
 * would fire up to that late. Ask for 1 ms ticks, once, for the life of
 * the process (on Windows 10 2004 and later this affects this process
 * only). Deadline waits are the timer thread's, so this happens only in a
 * program that uses timers. */
static BOOL CALLBACK ask_for_1ms_ticks(PINIT_ONCE once, PVOID param, PVOID *context) {
  (void)once, (void)param, (void)context;
  timeBeginPeriod(1);
  return TRUE;
}

int mp__cond_wait_until(mp__cond *c, mp__mutex *m, uint64_t deadline_ns) {
  static INIT_ONCE ticks_once = INIT_ONCE_STATIC_INIT;
  InitOnceExecuteOnce(&ticks_once, ask_for_1ms_ticks, NULL, NULL);
  uint64_t now = mp__now_ns();
  if (now >= deadline_ns) return MP_ETIMEDOUT;
  /* Round up: waking before the deadline would only cost another wait. */
  return mp__cond_wait(c, m, (int64_t)((deadline_ns - now + 999999u) / 1000000u));
}

/* What a new thread runs: the caller's function and argument, carried from
 * mp__thread_start to thread_main on the heap and freed by the new thread. */
typedef struct thread_start {
  void (*fn)(void *);
  void *arg;
} thread_start;

static unsigned __stdcall thread_main(void *p) {
  thread_start start = *(thread_start *)p;
  free(p);
  start.fn(start.arg);
  return 0;
}

int mp__thread_start(mp__thread *t, void (*fn)(void *), void *arg) {
  thread_start *start = malloc(sizeof *start);
  if (start == NULL) return MP_ENOMEM;
  start->fn = fn;
  start->arg = arg;
  /* _beginthreadex rather than CreateThread, so that the C runtime sets up
   * its per-thread state (errno, strtok, locale) for the new thread. */
  uintptr_t h = _beginthreadex(NULL, 0, thread_main, start, 0, NULL);
  if (h == 0) {
    int e = errno;
    free(start);
    return e == EAGAIN ? MP_EAGAIN : e == EINVAL ? MP_EINVAL : e == ENOMEM ? MP_ENOMEM : MP_UNKNOWN;
  }
  *t = (HANDLE)h;
  return 0;
}

void mp__thread_join(mp__thread t) {
  WaitForSingleObject(t, INFINITE);
  CloseHandle(t);
}

uint64_t mp__now_ns(void) {
  LARGE_INTEGER count, freq;
  /* Both calls always succeed on Windows XP and later. The frequency is
   * fixed at boot, so reading it each time is correct, and it is cheap. */
  QueryPerformanceCounter(&count);
  QueryPerformanceFrequency(&freq);
  uint64_t c = (uint64_t)count.QuadPart, f = (uint64_t)freq.QuadPart;
  /* count * 1e9 would overflow after half an hour of uptime at 10 MHz;
   * whole seconds and the remainder are scaled apart instead. The remainder
   * is below f, so remainder * 1e9 fits for any f below 18 GHz. */
  return c / f * 1000000000u + c % f * 1000000000u / f;
}

int mp__cpu_count(void) {
  SYSTEM_INFO info;
  /* The processors of this process's group: a thread runs in one group
   * unless it asks otherwise, so more workers than this would not run. */
  GetSystemInfo(&info);
  return info.dwNumberOfProcessors > 0 && info.dwNumberOfProcessors < INT_MAX
             ? (int)info.dwNumberOfProcessors
             : 1;
}

int mp__exe_dir(char *buf, size_t size) {
  if (buf == NULL || size == 0) return -1;
  DWORD cap = size > MAXDWORD ? MAXDWORD : (DWORD)size;
  /* The path is in the ANSI code page, as the C runtime's fopen (and so
   * Lua's loaders) expect it. A result that fills the buffer was cut. */
  DWORD n = GetModuleFileNameA(NULL, buf, cap);
  if (n == 0 || n >= cap) return -1;
  /* Forward slashes throughout, so that the runner's "/lua/?.lua" suffix
   * makes a path with one kind of separator; Windows accepts both. */
  for (char *p = buf; *p; p++)
    if (*p == '\\') *p = '/';
  char *slash = strrchr(buf, '/');
  if (slash == NULL) return -1;
  *slash = '\0';
  return 0;
}
