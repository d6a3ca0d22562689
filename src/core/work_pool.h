/* work_pool.h: the threads that run offloaded work (mp_work).
 *
 * They are not the port's workers: blocking work (a slow getaddrinfo, a
 * file read on a disk that stalls) must never hold up the packets the port
 * workers relay, timers among them. A work thread takes the oldest queued
 * item, runs it, and posts its completion to the port like any packet. */
#ifndef MP_WORK_POOL_H
#define MP_WORK_POOL_H

#include "moonport.h"
#include "platform/platform.h"

typedef struct mp__work_pool {
  mp_loop *loop;
  mp__mutex lock;
  mp__cond cond;
  mp_op *head, *tail; /* queued items, through op.next_ */
  mp__thread *threads;
  int nthreads, max_threads;
  int idle; /* threads waiting for an item */
  int stopping;
} mp__work_pool;

/* max_threads <= 0: MOONPORT_WORK_THREADS, else 4. No thread starts yet. */
void mp__work_pool_init(mp__work_pool *pool, mp_loop *loop, int max_threads);
/* Let the running items finish, drop the queued ones, join the threads.
 * Before the port shuts down, so that the last completions are posted. */
void mp__work_pool_close(mp__work_pool *pool);

#endif
