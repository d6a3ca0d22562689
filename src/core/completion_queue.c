/* completion_queue.c: the queue from the worker threads into the Lua thread. */
#include "core/completion_queue.h"

#include "port/port.h"

void mp__cq_init(mp__cq *q, void (*wake)(void *ctx), void *wake_ctx) {
  mp__mutex_init(&q->lock);
  mp__cond_init(&q->cond);
  q->head = q->tail = NULL;
  q->sleeping = 0;
  q->wake = wake;
  q->wake_ctx = wake_ctx;
}

void mp__cq_destroy(mp__cq *q) {
  mp__cond_destroy(&q->cond);
  mp__mutex_destroy(&q->lock);
}

static void wake_locked(mp__cq *q) {
  if (q->sleeping) {
    q->sleeping = 0;
    if (q->wake) {
      q->wake(q->wake_ctx);
    } else {
      mp__cond_signal(&q->cond);
    }
  }
}

void mp__cq_push(mp__cq *q, mp_op *first, mp_op *last) {
  mp__mutex_lock(&q->lock);
  mp__op_chain_append(&q->head, &q->tail, first, last);
  wake_locked(q);
  mp__mutex_unlock(&q->lock);
}

mp_op *mp__cq_take_all(mp__cq *q) {
  mp__mutex_lock(&q->lock);
  if (!q->head) {
    q->sleeping = 1;
    while (q->sleeping)
      mp__cond_wait(&q->cond, &q->lock, -1);
  }
  mp_op *chain = q->head;
  q->head = q->tail = NULL;
  mp__mutex_unlock(&q->lock);
  return chain;
}

mp_op *mp__cq_try_take(mp__cq *q, mp_op **tail) {
  mp__mutex_lock(&q->lock);
  mp_op *chain = q->head;
  *tail = q->tail;
  q->head = q->tail = NULL;
  mp__mutex_unlock(&q->lock);
  return chain;
}

int mp__cq_sleep_begin(mp__cq *q) {
  mp__mutex_lock(&q->lock);
  int empty = q->head == NULL;
  q->sleeping = empty;
  mp__mutex_unlock(&q->lock);
  return empty;
}

void mp__cq_sleep_end(mp__cq *q) {
  mp__mutex_lock(&q->lock);
  q->sleeping = 0;
  mp__mutex_unlock(&q->lock);
}
