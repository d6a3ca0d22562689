/* work_pool.c: offloaded work: mp_work_submit, mp_work_cancel, the work threads. */
#include "core/work_pool.h"

#include <stdlib.h>

#include "core/loop.h"

enum { WORK_QUEUED = 1, WORK_RUNNING, WORK_DONE };

#define DEFAULT_THREADS 4
#define MAX_THREADS 128

static void work_thread_main(void *arg) {
  mp__work_pool *pool = arg;
  mp__mutex_lock(&pool->lock);
  for (;;) {
    while (!pool->head && !pool->stopping) {
      pool->idle++;
      mp__cond_wait(&pool->cond, &pool->lock, -1);
      pool->idle--;
    }
    if (pool->stopping) break;
    mp_op *op = pool->head;
    pool->head = op->next_;
    if (!pool->head) pool->tail = NULL;
    mp_work *work = MP_CONTAINER_OF(op, mp_work, op);
    work->state_ = WORK_RUNNING;
    mp__mutex_unlock(&pool->lock);

    work->fn(work);

    mp__mutex_lock(&pool->lock);
    work->state_ = WORK_DONE;
    /* Refused only once the port has shut down: the loop is being freed
     * and no callback is owed any more. */
    mp_loop *loop = pool->loop;
    (void)loop->backend->post(loop->port, &work->op, MP__KEY_REF, 0);
  }
  mp__mutex_unlock(&pool->lock);
}

static int config_threads(int requested) {
  if (requested > 0) return requested < MAX_THREADS ? requested : MAX_THREADS;
  const char *env = getenv("MOONPORT_WORK_THREADS");
  int n = env ? atoi(env) : 0;
  return n > 0 && n <= MAX_THREADS ? n : DEFAULT_THREADS;
}

void mp__work_pool_init(mp__work_pool *pool, mp_loop *loop, int max_threads) {
  pool->loop = loop;
  mp__mutex_init(&pool->lock);
  mp__cond_init(&pool->cond);
  pool->head = pool->tail = NULL;
  pool->threads = NULL;
  pool->nthreads = pool->idle = pool->stopping = 0;
  pool->max_threads = config_threads(max_threads);
}

void mp__work_pool_close(mp__work_pool *pool) {
  mp__mutex_lock(&pool->lock);
  pool->stopping = 1;
  mp__cond_broadcast(&pool->cond);
  mp__mutex_unlock(&pool->lock);
  for (int i = 0; i < pool->nthreads; i++)
    mp__thread_join(pool->threads[i]);
  free(pool->threads);
  mp__cond_destroy(&pool->cond);
  mp__mutex_destroy(&pool->lock);
}

/* Start one more thread if none is idle and the pool may grow. Locked. */
static int grow_locked(mp__work_pool *pool) {
  if (pool->idle > 0 || pool->nthreads >= pool->max_threads) return 0;
  if (!pool->threads) {
    pool->threads = calloc((size_t)pool->max_threads, sizeof *pool->threads);
    if (!pool->threads) return MP_ENOMEM;
  }
  int rc = mp__thread_start(&pool->threads[pool->nthreads], work_thread_main, pool);
  if (rc == 0) pool->nthreads++;
  /* A pool that already has threads can still queue the item. */
  return pool->nthreads > 0 ? 0 : rc;
}

int mp_work_submit(mp_loop *loop, mp_work *work) {
  mp__work_pool *pool = &loop->work;
  mp__mutex_lock(&pool->lock);
  int rc = grow_locked(pool);
  if (rc == 0) {
    work->state_ = WORK_QUEUED;
    mp__op_chain_append(&pool->head, &pool->tail, &work->op, &work->op);
    mp__cond_signal(&pool->cond);
  }
  mp__mutex_unlock(&pool->lock);
  if (rc == 0) loop->refs++; /* until its callback (MP__KEY_REF) */
  return rc;
}

int mp_work_cancel(mp_loop *loop, mp_work *work) {
  mp__work_pool *pool = &loop->work;
  mp__mutex_lock(&pool->lock);
  int queued = work->state_ == WORK_QUEUED;
  if (queued) {
    mp_op *prev = NULL, *op = pool->head;
    while (op != &work->op) {
      prev = op;
      op = op->next_;
    }
    if (prev) {
      prev->next_ = op->next_;
    } else {
      pool->head = op->next_;
    }
    if (pool->tail == op) pool->tail = prev;
    work->state_ = WORK_DONE;
  }
  mp__mutex_unlock(&pool->lock);
  if (!queued) return MP_EBUSY;
  loop->refs--; /* the deferred completion keeps the loop alive instead */
  mp__loop_defer(loop, &work->op, MP_ECANCELED);
  return 0;
}
