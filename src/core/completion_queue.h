/* completion_queue.h: the queue from the worker threads into the Lua thread.
 *
 * Workers push whole batches (chains of ops linked by next_); the Lua thread
 * takes everything at once and runs it without the lock. A push signals the
 * Lua thread only when it is asleep and not yet signalled, so while it is
 * busy the hand-off costs no system call.
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
} mp__cq;

void mp__cq_init(mp__cq *q);
void mp__cq_destroy(mp__cq *q);
/* Append the chain first..last. Thread-safe. */
void mp__cq_push(mp__cq *q, mp_op *first, mp_op *last);
/* Take the whole queue as a chain, waiting until it is non-empty.
 * Consumer thread only. */
mp_op *mp__cq_take_all(mp__cq *q);

#endif
