/* thread_posix.c: platform.h on POSIX threads and clock_gettime. */
#define _GNU_SOURCE
#include "platform/platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "moonport.h"

/* These calls fail only on programming errors (bad or destroyed objects);
 * carrying on after one would corrupt state, so stop at once. */
static void check(int rc, const char *what) {
  if (rc != 0) {
    fprintf(stderr, "moonport: %s failed: %s\n", what, strerror(rc));
    abort();
  }
}

void mp__mutex_init(mp__mutex *m) {
  check(pthread_mutex_init(m, NULL), "pthread_mutex_init");
}
void mp__mutex_destroy(mp__mutex *m) {
  check(pthread_mutex_destroy(m), "pthread_mutex_destroy");
}
void mp__mutex_lock(mp__mutex *m) {
  check(pthread_mutex_lock(m), "pthread_mutex_lock");
}
void mp__mutex_unlock(mp__mutex *m) {
  check(pthread_mutex_unlock(m), "pthread_mutex_unlock");
}

/* Condition variables wait on CLOCK_MONOTONIC so that a change of the wall
 * clock does not stretch or cut a timeout. */
void mp__cond_init(mp__cond *c) {
  pthread_condattr_t attr;
  check(pthread_condattr_init(&attr), "pthread_condattr_init");
  check(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC), "pthread_condattr_setclock");
  check(pthread_cond_init(c, &attr), "pthread_cond_init");
  pthread_condattr_destroy(&attr);
}
void mp__cond_destroy(mp__cond *c) {
  check(pthread_cond_destroy(c), "pthread_cond_destroy");
}
void mp__cond_signal(mp__cond *c) {
  check(pthread_cond_signal(c), "pthread_cond_signal");
}
void mp__cond_broadcast(mp__cond *c) {
  check(pthread_cond_broadcast(c), "pthread_cond_broadcast");
}

int mp__cond_wait(mp__cond *c, mp__mutex *m, int64_t timeout_ms) {
  if (timeout_ms < 0) {
    check(pthread_cond_wait(c, m), "pthread_cond_wait");
    return 0;
  }
  return mp__cond_wait_until(c, m, mp__now_ns() + (uint64_t)timeout_ms * 1000000u);
}

/* mp__now_ns reads CLOCK_MONOTONIC, the clock the condition waits on, so a
 * deadline needs no conversion. */
int mp__cond_wait_until(mp__cond *c, mp__mutex *m, uint64_t deadline_ns) {
  struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000u),
                        .tv_nsec = (long)(deadline_ns % 1000000000u)};
  int rc = pthread_cond_timedwait(c, m, &ts);
  if (rc == ETIMEDOUT) return MP_ETIMEDOUT;
  check(rc, "pthread_cond_timedwait");
  return 0;
}

typedef struct thread_start {
  void (*fn)(void *);
  void *arg;
} thread_start;

static void *thread_main(void *p) {
  thread_start start = *(thread_start *)p;
  free(p);
  start.fn(start.arg);
  return NULL;
}

int mp__thread_start(mp__thread *t, void (*fn)(void *), void *arg) {
  thread_start *start = malloc(sizeof *start);
  if (!start) return MP_ENOMEM;
  start->fn = fn;
  start->arg = arg;
  int rc = pthread_create(t, NULL, thread_main, start);
  if (rc != 0) {
    free(start);
    return rc == EAGAIN ? MP_EAGAIN : MP_UNKNOWN;
  }
  return 0;
}

void mp__thread_join(mp__thread t) {
  check(pthread_join(t, NULL), "pthread_join");
}

uint64_t mp__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int mp__cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int mp__exe_dir(char *buf, size_t size) {
  ssize_t n = readlink("/proc/self/exe", buf, size - 1);
  if (n <= 0 || (size_t)n >= size - 1) return -1;
  buf[n] = '\0';
  char *slash = strrchr(buf, '/');
  if (!slash) return -1;
  *slash = '\0';
  return 0;
}
