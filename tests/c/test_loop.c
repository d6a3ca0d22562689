/* test_loop.c: the loop: mp_post from other threads reaches the Lua thread. */
#include <stdatomic.h>

#include "check.h"
#include "core/loop.h"

enum { THREADS = 4, PER_THREAD = 20000, TOTAL = THREADS * PER_THREAD };

typedef struct post_test {
  mp_loop *loop;
  mp_op ops[TOTAL];
  int calls[TOTAL];
  int done;
  atomic_int next_thread;
} post_test;

static post_test *test;

static void on_post(mp_loop *loop, mp_op *op) {
  int index = (int)(op - test->ops);
  CHECK(index >= 0 && index < TOTAL);
  CHECK_EQ(op->result, index);
  test->calls[index]++;
  if (++test->done == TOTAL) mp_loop_unref(loop);
}

static void poster(void *arg) {
  (void)arg;
  int id = atomic_fetch_add(&test->next_thread, 1);
  for (int i = id * PER_THREAD; i < (id + 1) * PER_THREAD; i++) {
    test->ops[i].cb = on_post;
    test->ops[i].result = i;
    CHECK_EQ(mp_post(test->loop, &test->ops[i]), 0);
  }
}

/* Every post's callback runs exactly once. */
static void mp_post_from_threads(void) {
  test_backend();
  test = calloc(1, sizeof *test);
  CHECK(test != NULL);
  CHECK_EQ(mp__loop_new(&test->loop, NULL, 0), 0); /* MOONPORT_WORKERS or one per core */
  mp_loop_ref(test->loop);                         /* until every post has come back */
  mp__thread threads[THREADS];
  for (int i = 0; i < THREADS; i++)
    CHECK_EQ(mp__thread_start(&threads[i], poster, NULL), 0);
  CHECK_EQ(mp__loop_run(test->loop), 0);
  for (int i = 0; i < THREADS; i++)
    mp__thread_join(threads[i]);
  CHECK_EQ(test->done, TOTAL);
  for (int i = 0; i < TOTAL; i++)
    CHECK_EQ(test->calls[i], 1);
  CHECK(!mp__loop_alive(test->loop));
  mp__loop_free(test->loop);
  free(test);
}

int main(int argc, char **argv) {
  static const test_case cases[] = {
      {"mp_post_from_threads", mp_post_from_threads},
      {NULL, NULL},
  };
  return test_main(argc, argv, cases);
}
