/* loop.c: the event loop: port, workers, the queue into the Lua thread, run. */
#include "core/loop.h"

#include <stdlib.h>

#include "core/resolve.h"
#include "port/reactor.h"

/* A worker waits on the port and hands each batch, as one chain, to the
 * Lua thread. It keeps the packet's key and bytes in the op for dispatch. */
static void worker_main(void *arg) {
  mp_loop *loop = arg;
  mp_packet packets[MP_PORT_BATCH];
  for (;;) {
    int n = loop->backend->wait(loop->port, packets, MP_PORT_BATCH, -1);
    if (n < 0) break; /* MP_ECLOSED: the loop is going away */
    if (n == 0) continue;
    for (int i = 0; i < n; i++) {
      mp_op *op = packets[i].op;
      op->key_ = packets[i].key;
      op->bytes_ = packets[i].bytes;
      op->next_ = i + 1 < n ? packets[i + 1].op : NULL;
    }
    mp__cq_push(&loop->queue, packets[0].op, packets[n - 1].op);
  }
}

static int worker_count(int requested) {
  if (requested > 0) return requested;
  const char *env = getenv("MOONPORT_WORKERS");
  int n = env ? atoi(env) : 0;
  if (n > 0 && n <= 256) return n;
  return mp__cpu_count();
}

static void wake_poll(void *arg) {
  mp_loop *loop = arg;
  loop->backend->io_wake(loop->port);
}

static void stop_workers(mp_loop *loop, int started) {
  loop->backend->shutdown(loop->port);
  for (int i = 0; i < started; i++)
    mp__thread_join(loop->workers[i]);
}

int mp__loop_new(mp_loop **out, const char *backend_name, int nworkers) {
  const mp_port_backend *backend = mp__port_choose(backend_name);
  if (!backend) return MP_ENOSYS;
  mp_loop *loop = calloc(1, sizeof *loop);
  if (!loop) return MP_ENOMEM;
  loop->backend = backend;
  loop->nworkers = worker_count(nworkers);
  atomic_init(&loop->posts_in_flight, 0);
  loop->workers = calloc((size_t)loop->nworkers, sizeof *loop->workers);
  int rc = loop->workers ? backend->open(&loop->port) : MP_ENOMEM;
  if (rc < 0) {
    free(loop->workers);
    free(loop);
    return rc;
  }
  /* With a reactor, the Lua thread sleeps in the kernel's poll. */
  if (loop->port->reactor) {
    mp__cq_init(&loop->queue, wake_poll, loop);
  } else {
    mp__cq_init(&loop->queue, NULL, NULL);
  }
  int started = 0;
  for (; started < loop->nworkers; started++) {
    rc = mp__thread_start(&loop->workers[started], worker_main, loop);
    if (rc < 0) break;
  }
  if (rc == 0) rc = mp__timers_init(&loop->timers, loop);
  if (rc < 0) {
    stop_workers(loop, started);
    backend->close(loop->port);
    mp__cq_destroy(&loop->queue);
    free(loop->workers);
    free(loop);
    return rc;
  }
  mp__work_pool_init(&loop->work, loop, 0);
  *out = loop;
  return 0;
}

void mp__loop_free(mp_loop *loop) {
  /* The timer and work threads post, so they go first; then nothing else does. */
  mp__timers_close(&loop->timers);
  mp__work_pool_close(&loop->work);
  stop_workers(loop, loop->nworkers);
  /* Only now does no thread touch them: a work thread may have posted a
   * request's completion, and a worker may be relaying it. */
  mp__resolve_free_all(loop);
  mp__io_free_all(loop);
  loop->backend->close(loop->port);
  mp__cq_destroy(&loop->queue);
  free(loop->workers);
  free(loop);
}

int mp__loop_alive(mp_loop *loop) {
  mp__reactor *r = loop->port->reactor;
  return loop->refs > 0 || atomic_load(&loop->posts_in_flight) > 0 || loop->pending ||
         loop->deferred || (r && r->done_head);
}

void mp__loop_defer(mp_loop *loop, mp_op *op, int result) {
  op->result = result;
  op->key_ = MP__KEY_INTERNAL;
  mp__op_chain_append(&loop->deferred, &loop->deferred_tail, op, op);
}

/* Append the chain first..last (if any) to the list head..tail. */
static void join(mp_op **head, mp_op **tail, mp_op *first, mp_op *last) {
  if (first) mp__op_chain_append(head, tail, first, last);
}

/* Gather the next round's work into pending: deferred ops, then kernel I/O
 * (polled without waiting when there is other work, else slept on), then
 * the workers' batches. Waits only when there is nothing at all. */
static void take_work(mp_loop *loop) {
  mp__reactor *r = loop->port->reactor;
  mp_op *head = loop->deferred, *tail = loop->deferred_tail;
  loop->deferred = loop->deferred_tail = NULL;
  if (!r) {
    loop->pending = head ? head : mp__cq_take_all(&loop->queue);
    return;
  }
  mp_op *posted_tail, *posted = mp__cq_try_take(&loop->queue, &posted_tail);
  if (head || posted || r->done_head) {
    /* Look for ready sockets between rounds of other work, if any could be. */
    if (r->watched) loop->backend->io_poll(loop->port, 0);
  } else {
    /* Nothing at all: sleep in the kernel's poll, unless a batch came in
     * between (then sleep_begin says no), and take what woke us. */
    if (mp__cq_sleep_begin(&loop->queue)) {
      loop->backend->io_poll(loop->port, -1);
      mp__cq_sleep_end(&loop->queue);
    }
    posted = mp__cq_try_take(&loop->queue, &posted_tail);
  }
  mp_op *done_tail, *done = mp__reactor_take(r, &done_tail);
  join(&head, &tail, done, done_tail);
  join(&head, &tail, posted, posted_tail);
  loop->pending = head;
}

static void dispatch(mp_loop *loop, mp_op *op) {
  if (op->key_ == MP__KEY_POST) atomic_fetch_sub(&loop->posts_in_flight, 1);
  if (op->key_ == MP__KEY_REF) loop->refs--;
  op->cb(loop, op);
}

/* The next op is usually cold (a timer's userdata, a packet posted long
 * ago): start fetching it, and the lines around it where its request keeps
 * its state, while the current callback runs. */
static inline void prefetch_op(const mp_op *op) {
#if defined(__GNUC__)
  __builtin_prefetch(op);
  __builtin_prefetch((const char *)op - 64);
  __builtin_prefetch((const char *)op + 64);
#else
  (void)op;
#endif
}

int mp__loop_run(mp_loop *loop) {
  loop->running = 1;
  loop->stop_requested = 0;
  while (!loop->stop_requested) {
    if (!loop->pending) {
      if (!mp__loop_alive(loop)) break;
      take_work(loop);
    }
    while (loop->pending && !loop->stop_requested) {
      mp_op *op = loop->pending;
      loop->pending = op->next_;
      if (loop->pending) prefetch_op(loop->pending);
      op->next_ = NULL;
      dispatch(loop, op);
    }
  }
  loop->running = 0;
  return loop->stop_requested;
}

void mp__loop_stop(mp_loop *loop) {
  loop->stop_requested = 1;
}

int mp_post(mp_loop *loop, mp_op *op) {
  atomic_fetch_add(&loop->posts_in_flight, 1);
  int rc = loop->backend->post(loop->port, op, MP__KEY_POST, 0);
  if (rc < 0) atomic_fetch_sub(&loop->posts_in_flight, 1);
  return rc;
}

void mp_loop_ref(mp_loop *loop) {
  loop->refs++;
}

void mp_loop_unref(mp_loop *loop) {
  loop->refs--;
}

const char *mp_loop_backend(mp_loop *loop) {
  return loop->backend->name;
}
