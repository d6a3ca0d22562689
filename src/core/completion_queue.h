/* completion_queue.h: the queue from the worker threads into the Lua thread.
 *
 * Workers push whole batches (chains of ops linked by next_); the Lua thread
 * takes everything at once and runs it without the lock. A push wakes the
 * Lua thread only when it is asleep and not yet woken, so while it is busy
 * the hand-off costs no system call. The Lua thread sleeps either in cond
 * (mp__cq_take_all) or, on ports with a reactor, in the kernel's poll
 * between mp__cq_sleep_begin and mp__cq_sleep_end; then wake stops it.
 */
#ifndef MP_COMPLETION_QUEUE_H
#define MP_COMPLETION_QUEUE_H

#include "moonport.h"
#include "platform/platform.h"

/* Invariants (under lock): head == NULL iff tail == NULL; sleeping is 1
 * only while the consumer waits in cond and nobody has signalled it. */
typedef struct mp__cq {
  mp__mutex lock;
  mp__cond cond;
  mp_op *head, *tail;
  int sleeping;
  void (*wake)(void *ctx); /* NULL: signal cond */
  void *wake_ctx;
} mp__cq;

/* wake may be NULL (the consumer sleeps in cond); it is called with the
 * queue's lock held. */
void mp__cq_init(mp__cq *q, void (*wake)(void *ctx), void *wake_ctx);
void mp__cq_destroy(mp__cq *q);
/* Append the chain first..last. Thread-safe. */
void mp__cq_push(mp__cq *q, mp_op *first, mp_op *last);
/* Take the whole queue as a chain, waiting until it is non-empty.
 * Consumer thread only. */
mp_op *mp__cq_take_all(mp__cq *q);
/* Take the whole queue without waiting; *tail gets its last op. */
mp_op *mp__cq_try_take(mp__cq *q, mp_op **tail);
/* Before sleeping elsewhere: returns 1 (now counted asleep, so a push will
 * call wake) if the queue is empty, else 0 (do not sleep). */
int mp__cq_sleep_begin(mp__cq *q);
/* After that sleep, woken or not. */
void mp__cq_sleep_end(mp__cq *q);

#endif
