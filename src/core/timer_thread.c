/* timer_thread.c: the timer thread, and timers' arm, cancel and dispatch. */
#include "core/loop.h"

/* Hand the ready chain to the Lua thread: post the timer packet unless it
 * is already on its way (it will carry whatever is in the chain then). */
static void post_packet_locked(mp__timers *ts) {
  if (ts->packet_posted || !ts->ready_head) return;
  ts->packet_posted = 1;
  /* The port refuses only after shutdown, when the loop is being freed and
   * no callback is owed any more. */
  if (ts->loop->backend->post(ts->loop->port, &ts->packet, MP__KEY_INTERNAL, 0) < 0) {
    ts->packet_posted = 0;
  }
}

static void ready_append_locked(mp__timers *ts, mp__timer *t, int status) {
  t->op.result = status;
  t->op.key_ = MP__KEY_REF;
  mp__op_chain_append(&ts->ready_head, &ts->ready_tail, &t->op, &t->op);
}

/* Move what the Lua thread armed into the heap, in arm order. */
static void take_incoming_locked(mp__timers *ts) {
  /* The list is newest first: reverse it, so equal deadlines keep arm order. */
  mp_op *fifo = mp__op_chain_reverse(atomic_exchange(&ts->incoming, NULL));
  while (fifo) {
    mp_op *next = fifo->next_;
    mp__timer *t = MP_CONTAINER_OF(fifo, mp__timer, op);
    if (t->heap_index == MP__TIMER_INCOMING_CANCELLED) {
      t->heap_index = MP__TIMER_NOT_IN_HEAP;
      ready_append_locked(ts, t, MP_ECANCELED);
    } else if (mp__timer_heap_insert(&ts->heap, t) < 0) {
      t->heap_index = MP__TIMER_NOT_IN_HEAP;
      ready_append_locked(ts, t, MP_ENOMEM);
    }
    fifo = next;
  }
}

static void timer_thread_main(void *arg) {
  mp__timers *ts = arg;
  mp__mutex_lock(&ts->lock);
  while (!ts->quit) {
    atomic_store(&ts->wake_below, 0);
    take_incoming_locked(ts);
    uint64_t now = mp__now_ns();
    mp__timer *t;
    while ((t = mp__timer_heap_top(&ts->heap)) && t->due <= now) {
      mp__timer_heap_remove(&ts->heap, t);
      ready_append_locked(ts, t, 0);
    }
    post_packet_locked(ts);
    atomic_store(&ts->wake_below, t ? t->due : UINT64_MAX);
    if (atomic_load(&ts->incoming)) continue; /* armed meanwhile */
    ts->sleeping = 1;
    if (t) {
      mp__cond_wait_until(&ts->cond, &ts->lock, t->due);
    } else {
      mp__cond_wait(&ts->cond, &ts->lock, -1);
    }
    ts->sleeping = 0;
  }
  mp__mutex_unlock(&ts->lock);
}

/* The timer packet's callback, on the Lua thread: put the ready chain at
 * the front of what the loop dispatches next, so that the timers' own
 * callbacks run now, in expiry order, and mp.stop() between them holds. */
static void timer_packet_cb(mp_loop *loop, mp_op *op) {
  mp__timers *ts = MP_CONTAINER_OF(op, mp__timers, packet);
  mp__mutex_lock(&ts->lock);
  mp_op *head = ts->ready_head, *tail = ts->ready_tail;
  ts->ready_head = ts->ready_tail = NULL;
  ts->packet_posted = 0;
  mp__mutex_unlock(&ts->lock);
  if (!head) return;
  tail->next_ = loop->pending;
  loop->pending = head;
}

int mp__timers_init(mp__timers *ts, mp_loop *loop) {
  mp__mutex_init(&ts->lock);
  mp__cond_init(&ts->cond);
  mp__timer_heap_init(&ts->heap);
  ts->ready_head = ts->ready_tail = NULL;
  ts->packet_posted = ts->sleeping = ts->quit = 0;
  ts->packet.cb = timer_packet_cb;
  atomic_init(&ts->incoming, NULL);
  atomic_init(&ts->wake_below, 0);
  ts->loop = loop;
  int rc = mp__thread_start(&ts->thread, timer_thread_main, ts);
  if (rc < 0) {
    mp__timer_heap_free(&ts->heap);
    mp__cond_destroy(&ts->cond);
    mp__mutex_destroy(&ts->lock);
  }
  return rc;
}

void mp__timers_close(mp__timers *ts) {
  mp__mutex_lock(&ts->lock);
  ts->quit = 1;
  mp__cond_signal(&ts->cond);
  mp__mutex_unlock(&ts->lock);
  mp__thread_join(ts->thread);
  mp__timer_heap_free(&ts->heap);
  mp__cond_destroy(&ts->cond);
  mp__mutex_destroy(&ts->lock);
}

void mp__timer_start(mp_loop *loop, mp__timer *t, uint64_t due, mp_op_cb cb) {
  mp__timers *ts = &loop->timers;
  t->due = due;
  t->op.cb = cb;
  t->heap_index = MP__TIMER_INCOMING;
  loop->refs++;
  mp__op_stack_push(&ts->incoming, &t->op, &t->op);
  if (due < atomic_load(&ts->wake_below)) {
    mp__mutex_lock(&ts->lock);
    if (ts->sleeping) {
      ts->sleeping = 0;
      mp__cond_signal(&ts->cond);
    }
    mp__mutex_unlock(&ts->lock);
  }
}

void mp__timer_cancel(mp_loop *loop, mp__timer *t) {
  mp__timers *ts = &loop->timers;
  mp__mutex_lock(&ts->lock);
  if (t->heap_index == MP__TIMER_INCOMING) {
    /* Not in the heap yet: the timer thread will end it as cancelled. */
    t->heap_index = MP__TIMER_INCOMING_CANCELLED;
    if (ts->sleeping) {
      ts->sleeping = 0;
      mp__cond_signal(&ts->cond);
    }
  } else if (t->heap_index != MP__TIMER_NOT_IN_HEAP &&
             t->heap_index != MP__TIMER_INCOMING_CANCELLED) {
    mp__timer_heap_remove(&ts->heap, t);
    ready_append_locked(ts, t, MP_ECANCELED);
    post_packet_locked(ts);
  }
  mp__mutex_unlock(&ts->lock);
}
