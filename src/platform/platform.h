/* platform.h: the few OS services the core needs (threads, locks, clocks),
 * behind one interface. thread_posix.c and thread_win32.c implement it; the
 * build picks one. This is the only header outside src/port/ that knows the OS. */
#ifndef MP_PLATFORM_H
#define MP_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
typedef SRWLOCK mp__mutex;
typedef CONDITION_VARIABLE mp__cond;
typedef HANDLE mp__thread;
#define MP__MUTEX_INITIALIZER SRWLOCK_INIT
#else
#include <pthread.h>
typedef pthread_mutex_t mp__mutex;
typedef pthread_cond_t mp__cond;
typedef pthread_t mp__thread;
#define MP__MUTEX_INITIALIZER PTHREAD_MUTEX_INITIALIZER
#endif

/* Locks and condition variables (a mutex of static storage may start as
 * MP__MUTEX_INITIALIZER instead of being initialized). Init cannot fail on either OS for the
 * default attributes we use (the POSIX calls are checked with abort). */
void mp__mutex_init(mp__mutex *m);
void mp__mutex_destroy(mp__mutex *m);
void mp__mutex_lock(mp__mutex *m);
void mp__mutex_unlock(mp__mutex *m);

void mp__cond_init(mp__cond *c);
void mp__cond_destroy(mp__cond *c);
void mp__cond_signal(mp__cond *c);
void mp__cond_broadcast(mp__cond *c);
/* Wait until signalled or timeout_ms elapsed (< 0: no timeout). Returns 0
 * when woken (or spuriously), MP_ETIMEDOUT after the timeout. */
int mp__cond_wait(mp__cond *c, mp__mutex *m, int64_t timeout_ms);
/* The same with a deadline on mp__now_ns's clock, to the nanosecond where
 * the OS can (Linux); Windows rounds up to its timer's resolution. */
int mp__cond_wait_until(mp__cond *c, mp__mutex *m, uint64_t deadline_ns);

/* Start fn(arg) on a new thread. Returns 0 or a negative MP_E… code. */
int mp__thread_start(mp__thread *t, void (*fn)(void *), void *arg);
void mp__thread_join(mp__thread t);

/* Monotonic clock in nanoseconds, from an arbitrary origin. */
uint64_t mp__now_ns(void);

/* Number of online processors (at least 1). */
int mp__cpu_count(void);

/* How the file of a loadable C module ends (for package.cpath). */
#ifdef _WIN32
#define MP__MODULE_SUFFIX ".dll"
#else
#define MP__MODULE_SUFFIX ".so"
#endif

/* Directory of the running executable, without trailing separator, written
 * into buf (NUL-terminated). Returns 0, or -1 if unknown or too long. */
int mp__exe_dir(char *buf, size_t size);

#endif
