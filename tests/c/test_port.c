/* test_port.c: the completion port, on the backend MOONPORT_BACKEND names. */
#include <stdatomic.h>

#include "check.h"

typedef struct counted_op {
  mp_op op;
  atomic_int received;
} counted_op;

static mp_port *open_port(const mp_port_backend **backend) {
  *backend = test_backend();
  mp_port *port = NULL;
  CHECK_EQ((*backend)->open(&port), 0);
  CHECK(port != NULL);
  return port;
}

static void close_port(const mp_port_backend *b, mp_port *port) {
  b->shutdown(port);
  b->close(port);
}

/* Packets come back in the order they were posted, with key and bytes. */
static void post_wait_order(void) {
  const mp_port_backend *b;
  mp_port *port = open_port(&b);
  enum { N = 1000 };
  static mp_op ops[N];
  for (int i = 0; i < N; i++)
    CHECK_EQ(b->post(port, &ops[i], (uintptr_t)i + 7, (uint32_t)i * 3), 0);
  mp_packet packets[MP_PORT_BATCH];
  int next = 0;
  while (next < N) {
    int n = b->wait(port, packets, MP_PORT_BATCH, 1000);
    CHECK(n > 0 && n <= MP_PORT_BATCH);
    for (int i = 0; i < n; i++, next++) {
      CHECK(packets[i].op == &ops[next]);
      CHECK_EQ(packets[i].key, next + 7);
      CHECK_EQ(packets[i].bytes, next * 3);
    }
  }
  CHECK_EQ(b->wait(port, packets, MP_PORT_BATCH, 0), 0);
  close_port(b, port);
}

/* A wait takes as many packets as it may and as are there, no more. */
static void batch_sizes(void) {
  const mp_port_backend *b;
  mp_port *port = open_port(&b);
  enum { N = 200 };
  static mp_op ops[N];
  for (int i = 0; i < N; i++)
    CHECK_EQ(b->post(port, &ops[i], 0, 0), 0);
  mp_packet packets[MP_PORT_BATCH];
  CHECK_EQ(b->wait(port, packets, 1, 1000), 1);
  CHECK(packets[0].op == &ops[0]);
  CHECK_EQ(b->wait(port, packets, 10, 1000), 10);
  CHECK(packets[9].op == &ops[10]);
  CHECK_EQ(b->wait(port, packets, MP_PORT_BATCH, 1000), MP_PORT_BATCH);
  CHECK(packets[0].op == &ops[11]);
  int left = N - 1 - 10 - MP_PORT_BATCH;
  CHECK_EQ(b->wait(port, packets, MP_PORT_BATCH, 1000), left);
  CHECK(packets[left - 1].op == &ops[N - 1]);
  close_port(b, port);
}

/* An empty port: a zero timeout returns at once, a finite one on time. */
static void wait_timeout(void) {
  const mp_port_backend *b;
  mp_port *port = open_port(&b);
  mp_packet packets[4];
  uint64_t start = mp__now_ns();
  CHECK_EQ(b->wait(port, packets, 4, 0), 0);
  CHECK(mp__now_ns() - start < 50000000u);
  start = mp__now_ns();
  CHECK_EQ(b->wait(port, packets, 4, 80), 0);
  uint64_t waited_ms = (mp__now_ns() - start) / 1000000u;
  CHECK(waited_ms >= 79);
  CHECK(waited_ms < 1000);
  close_port(b, port);
}

enum { POSTERS = 4, WAITERS = 4, PER_POSTER = 25000, TOTAL = POSTERS * PER_POSTER };

typedef struct stress {
  const mp_port_backend *b;
  mp_port *port;
  counted_op *ops;
  atomic_int next_poster;
  atomic_int received;
  atomic_int batches;
} stress;

static void poster_main(void *arg) {
  stress *s = arg;
  int id = atomic_fetch_add(&s->next_poster, 1);
  for (int i = 0; i < PER_POSTER; i++) {
    counted_op *op = &s->ops[id * PER_POSTER + i];
    CHECK_EQ(s->b->post(s->port, &op->op, (uintptr_t)id, (uint32_t)i), 0);
  }
}

static void waiter_main(void *arg) {
  stress *s = arg;
  mp_packet packets[MP_PORT_BATCH];
  int last_seen[POSTERS];
  for (int i = 0; i < POSTERS; i++)
    last_seen[i] = -1;
  for (;;) {
    int n = s->b->wait(s->port, packets, MP_PORT_BATCH, -1);
    if (n == MP_ECLOSED) return;
    CHECK(n > 0);
    atomic_fetch_add(&s->batches, 1);
    for (int i = 0; i < n; i++) {
      counted_op *op = MP_CONTAINER_OF(packets[i].op, counted_op, op);
      int index = (int)(op - s->ops);
      CHECK(index >= 0 && index < TOTAL);
      CHECK_EQ(packets[i].key, index / PER_POSTER);
      CHECK_EQ(packets[i].bytes, index % PER_POSTER);
      /* One waiter sees each poster's packets in the order posted. */
      CHECK((int)packets[i].bytes > last_seen[packets[i].key]);
      last_seen[packets[i].key] = (int)packets[i].bytes;
      atomic_fetch_add(&op->received, 1);
      atomic_fetch_add(&s->received, 1);
    }
  }
}

/* Wait until the waiters have counted n packets (giving up after
 * timeout_ms), then check that they have. */
static void wait_received(stress *s, int n, int timeout_ms) {
  uint64_t deadline = mp__now_ns() + (uint64_t)timeout_ms * 1000000u;
  while (atomic_load(&s->received) < n && mp__now_ns() < deadline)
    test_sleep_ms(1);
  CHECK(atomic_load(&s->received) >= n);
}

/* Shut the port down under the waiters, join them, check that each of the
 * first n ops arrived exactly once, and free everything. */
static void finish_stress(stress *s, mp__thread *waiters, int n) {
  s->b->shutdown(s->port);
  for (int i = 0; i < WAITERS; i++)
    mp__thread_join(waiters[i]);
  for (int i = 0; i < n; i++)
    CHECK_EQ(atomic_load(&s->ops[i].received), 1);
  s->b->close(s->port);
  free(s->ops);
}

/* Many threads post while many wait: every packet arrives exactly once. */
static void many_posters_many_waiters(void) {
  stress s = {0};
  s.port = open_port(&s.b);
  s.ops = calloc(TOTAL, sizeof *s.ops);
  CHECK(s.ops != NULL);
  mp__thread posters[POSTERS], waiters[WAITERS];
  for (int i = 0; i < WAITERS; i++)
    CHECK_EQ(mp__thread_start(&waiters[i], waiter_main, &s), 0);
  for (int i = 0; i < POSTERS; i++)
    CHECK_EQ(mp__thread_start(&posters[i], poster_main, &s), 0);
  for (int i = 0; i < POSTERS; i++)
    mp__thread_join(posters[i]);
  wait_received(&s, TOTAL, 20000);
  printf("%d packets in %d batches\n", TOTAL, atomic_load(&s.batches));
  finish_stress(&s, waiters, TOTAL);
}

/* Posts that come one at a time, with pauses, while every waiter sleeps:
 * each post must wake a waiter (a lost wake leaves a packet stranded). */
static void trickle_posts_wake_sleepers(void) {
  stress s = {0};
  s.port = open_port(&s.b);
  enum { N = 3000 };
  s.ops = calloc(TOTAL, sizeof *s.ops);
  CHECK(s.ops != NULL);
  mp__thread waiters[WAITERS];
  for (int i = 0; i < WAITERS; i++)
    CHECK_EQ(mp__thread_start(&waiters[i], waiter_main, &s), 0);
  unsigned seed = 12345;
  for (int i = 0; i < N; i++) {
    CHECK_EQ(s.b->post(s.port, &s.ops[i].op, 0, (uint32_t)i), 0);
    seed = seed * 1103515245u + 12345u;
    uint64_t until = mp__now_ns() + (seed >> 16) % 150000u; /* up to 150 us */
    while (mp__now_ns() < until) {
    }
    /* Now and then, wait until it has arrived, so the waiters go to sleep. */
    if (i % 100 == 0) wait_received(&s, i + 1, 2000);
  }
  wait_received(&s, N, 5000);
  CHECK_EQ(atomic_load(&s.received), N);
  finish_stress(&s, waiters, N);
}

typedef struct blocked {
  const mp_port_backend *b;
  mp_port *port;
  atomic_int closed_seen;
} blocked;

static void blocked_waiter(void *arg) {
  blocked *w = arg;
  mp_packet packets[8];
  int n = w->b->wait(w->port, packets, 8, -1);
  CHECK_EQ(n, MP_ECLOSED);
  atomic_fetch_add(&w->closed_seen, 1);
}

/* Shutdown wakes every waiter, however long it meant to wait. */
static void shutdown_wakes_waiters(void) {
  blocked w = {0};
  w.port = open_port(&w.b);
  enum { N = 3 };
  mp__thread threads[N];
  for (int i = 0; i < N; i++)
    CHECK_EQ(mp__thread_start(&threads[i], blocked_waiter, &w), 0);
  test_sleep_ms(100); /* let them block */
  uint64_t start = mp__now_ns();
  w.b->shutdown(w.port);
  w.b->shutdown(w.port); /* idempotent */
  for (int i = 0; i < N; i++)
    mp__thread_join(threads[i]);
  CHECK_EQ(atomic_load(&w.closed_seen), N);
  CHECK(mp__now_ns() - start < 2000000000u);
  w.b->close(w.port);
}

/* After shutdown, posts are refused and waits fail at once. */
static void post_after_shutdown(void) {
  const mp_port_backend *b;
  mp_port *port = open_port(&b);
  mp_op op;
  b->shutdown(port);
  CHECK_EQ(b->post(port, &op, 1, 1), MP_ECLOSED);
  mp_packet packets[1];
  CHECK_EQ(b->wait(port, packets, 1, -1), MP_ECLOSED);
  b->close(port);
}

int main(int argc, char **argv) {
  static const test_case cases[] = {
      {"post_wait_order", post_wait_order},
      {"batch_sizes", batch_sizes},
      {"wait_timeout", wait_timeout},
      {"many_posters_many_waiters", many_posters_many_waiters},
      {"trickle_posts_wake_sleepers", trickle_posts_wake_sleepers},
      {"shutdown_wakes_waiters", shutdown_wakes_waiters},
      {"post_after_shutdown", post_after_shutdown},
      {NULL, NULL},
  };
  return test_main(argc, argv, cases);
}
