/* packet_queue.c: the user-space completion queue behind the Linux ports. */
#include "port/packet_queue.h"

void mp__pq_init(mp__pq *q) {
  atomic_init(&q->incoming, NULL);
  atomic_init(&q->idle, 0);
  atomic_init(&q->closed, 0);
  mp__mutex_init(&q->lock);
  mp__cond_init(&q->cond);
  q->head = q->tail = NULL;
  q->waiters = q->wakes_pending = 0;
}

void mp__pq_destroy(mp__pq *q) {
  mp__cond_destroy(&q->cond);
  mp__mutex_destroy(&q->lock);
}

/* Wake one sleeping waiter unless enough wakes are on their way. */
static void wake_one_locked(mp__pq *q) {
  if (q->waiters > q->wakes_pending) {
    q->wakes_pending++;
    mp__cond_signal(&q->cond);
  }
}

int mp__pq_post_chain(mp__pq *q, mp_op *first, mp_op *last) {
  /* A post that races shutdown may pass this test; its packets are then
   * dropped like any still queued at shutdown (port.h allows it). */
  if (atomic_load(&q->closed)) return MP_ECLOSED;
  /* The stack holds the newest first: push the chain reversed. */
  last->next_ = NULL;
  mp_op *old = mp__op_stack_push(&q->incoming, mp__op_chain_reverse(first), first);
  /* A non-empty stack had its wake already, or a waiter will see it before
   * it sleeps (see the invariant in packet_queue.h). */
  if (old == NULL && atomic_load(&q->idle) > 0) {
    mp__mutex_lock(&q->lock);
    wake_one_locked(q);
    mp__mutex_unlock(&q->lock);
  }
  return 0;
}

int mp__pq_port_post(mp_port *port, mp_op *op, uintptr_t key, uint32_t bytes) {
  op->key_ = key;
  op->bytes_ = bytes;
  return mp__pq_post_chain(&((mp__pq_port *)port)->queue, op, op);
}

/* Swap out the posted stack and append it, oldest first, to head/tail. */
static void take_incoming_locked(mp__pq *q) {
  mp_op *stack = atomic_exchange(&q->incoming, NULL);
  if (stack) mp__op_chain_append(&q->head, &q->tail, mp__op_chain_reverse(stack), stack);
}

static int take_locked(mp__pq *q, mp_packet *out, int max) {
  int n = 0;
  while (q->head && n < max) {
    mp_op *op = q->head;
    q->head = op->next_;
    op->next_ = NULL;
    out[n].op = op;
    out[n].key = op->key_;
    out[n].bytes = op->bytes_;
    n++;
  }
  if (!q->head) q->tail = NULL;
  return n;
}

int mp__pq_port_wait(mp_port *port, mp_packet *out, int max, int64_t timeout_ms) {
  mp__pq *q = &((mp__pq_port *)port)->queue;
  uint64_t deadline = timeout_ms < 0 ? 0 : mp__now_ns() + (uint64_t)timeout_ms * 1000000u;
  mp__mutex_lock(&q->lock);
  for (;;) {
    if (atomic_load(&q->closed)) {
      mp__mutex_unlock(&q->lock);
      return MP_ECLOSED;
    }
    if (!q->head) take_incoming_locked(q);
    if (q->head) {
      int n = take_locked(q, out, max);
      /* What is left is another waiter's batch. */
      if (q->head) wake_one_locked(q);
      mp__mutex_unlock(&q->lock);
      return n;
    }
    int64_t remaining = -1;
    if (timeout_ms >= 0) {
      uint64_t now = mp__now_ns();
      if (now >= deadline) break;
      /* Round up so that a wait never ends before its deadline. */
      remaining = (int64_t)((deadline - now + 999999u) / 1000000u);
    }
    atomic_fetch_add(&q->idle, 1);
    if (atomic_load(&q->incoming)) {
      atomic_fetch_sub(&q->idle, 1);
      continue;
    }
    q->waiters++;
    mp__cond_wait(&q->cond, &q->lock, remaining);
    q->waiters--;
    atomic_fetch_sub(&q->idle, 1);
    /* Whatever woke us (signal, timeout or spurious), count one wake as
     * taken: this can only under-count pending wakes, never over-count, so
     * a post never skips a signal it owed. */
    if (q->wakes_pending > 0) q->wakes_pending--;
  }
  mp__mutex_unlock(&q->lock);
  return 0;
}

void mp__pq_shutdown(mp__pq *q) {
  mp__mutex_lock(&q->lock);
  atomic_store(&q->closed, 1);
  atomic_store(&q->incoming, NULL);
  q->head = q->tail = NULL;
  mp__cond_broadcast(&q->cond);
  mp__mutex_unlock(&q->lock);
}
