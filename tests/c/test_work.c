/* test_work.c: offloaded work (mp_work): every item's callback comes once,
 * items run in parallel, cancel, and blocked work threads never hold up
 * timers. */
#include <stdatomic.h>

#include "check.h"
#include "core/loop.h"

enum { ITEMS = 2000 };

typedef struct item {
  mp_work work;
  int index;
  int calls;
} item;

static atomic_int running, max_running;
static atomic_int gate_open, gate_waiters;
static int done;

static void note_running(void) {
  int now = atomic_fetch_add(&running, 1) + 1;
  int seen = atomic_load(&max_running);
  while (now > seen && !atomic_compare_exchange_weak(&max_running, &seen, now)) {
  }
}

/* Doubles the index; every 100th item waits a little so that others overlap. */
static void double_index(mp_work *w) {
  item *it = MP_CONTAINER_OF(w, item, work);
  note_running();
  if (it->index % 100 == 0) test_sleep_ms(5);
  w->op.result = it->index * 2;
  atomic_fetch_sub(&running, 1);
}

static void on_item(mp_loop *loop, mp_op *op) {
  (void)loop;
  item *it = MP_CONTAINER_OF(op, item, work.op);
  CHECK_EQ(op->result, it->index * 2);
  it->calls++;
  done++;
}

static mp_loop *new_loop(void) {
  test_backend();
  mp_loop *loop;
  CHECK_EQ(mp__loop_new(&loop, NULL, 0), 0);
  return loop;
}

/* Every item completes once with its own result; several ran at once. */
static void many_items(void) {
  mp_loop *loop = new_loop();
  item *items = calloc(ITEMS, sizeof *items);
  CHECK(items != NULL);
  for (int i = 0; i < ITEMS; i++) {
    items[i].index = i;
    items[i].work.fn = double_index;
    items[i].work.op.cb = on_item;
    CHECK_EQ(mp_work_submit(loop, &items[i].work), 0);
  }
  CHECK(mp__loop_alive(loop));
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(done, ITEMS);
  for (int i = 0; i < ITEMS; i++)
    CHECK_EQ(items[i].calls, 1);
  CHECK(atomic_load(&max_running) > 1);
  CHECK(loop->work.nthreads <= loop->work.max_threads);
  mp__loop_free(loop);
  free(items);
}

static void wait_for_gate(mp_work *w) {
  atomic_fetch_add(&gate_waiters, 1);
  while (!atomic_load(&gate_open))
    test_sleep_ms(1);
  w->op.result = 7;
}

static void on_cancelled_or_done(mp_loop *loop, mp_op *op) {
  (void)loop;
  item *it = MP_CONTAINER_OF(op, item, work.op);
  it->calls++;
  it->index = op->result; /* what came back */
  done++;
}

static mp__timer timer;
static int timer_fired;

static void on_timer(mp_loop *loop, mp_op *op) {
  (void)loop;
  CHECK_EQ(op->result, 0);
  timer_fired = 1;
  atomic_store(&gate_open, 1); /* only now may the blocked work finish */
}

/* With its only work thread blocked: a queued item cancels (MP_ECANCELED,
 * once), the running one cannot (MP_EBUSY), and a timer still fires. */
static void cancel_and_timers(void) {
  mp_loop *loop = new_loop();
  loop->work.max_threads = 1;
  item items[3] = {0};
  for (int i = 0; i < 3; i++) {
    items[i].work.fn = wait_for_gate;
    items[i].work.op.cb = on_cancelled_or_done;
    CHECK_EQ(mp_work_submit(loop, &items[i].work), 0);
  }
  while (!atomic_load(&gate_waiters)) /* until item 0 runs */
    test_sleep_ms(1);
  CHECK_EQ(mp_work_cancel(loop, &items[0].work), MP_EBUSY);
  CHECK_EQ(mp_work_cancel(loop, &items[1].work), 0);
  CHECK_EQ(mp_work_cancel(loop, &items[1].work), MP_EBUSY); /* once */
  mp__timer_start(loop, &timer, mp__now_ns() + 20 * 1000000ull, on_timer);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK(timer_fired);
  CHECK_EQ(done, 3);
  CHECK_EQ(items[0].calls, 1);
  CHECK_EQ(items[0].index, 7);
  CHECK_EQ(items[1].calls, 1);
  CHECK_EQ(items[1].index, MP_ECANCELED);
  CHECK_EQ(items[2].calls, 1);
  CHECK_EQ(items[2].index, 7);
  CHECK_EQ(loop->work.nthreads, 1);
  mp__loop_free(loop);
}

int main(int argc, char **argv) {
  static const test_case cases[] = {
      {"many_items", many_items},
      {"cancel_and_timers", cancel_and_timers},
      {NULL, NULL},
  };
  return test_main(argc, argv, cases);
}
