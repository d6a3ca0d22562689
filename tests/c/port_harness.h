/* port_harness.h: driving the socket ops of sock.h by hand, on the backend
 * MOONPORT_BACKEND names, without a loop. The test's main thread opens the
 * port and pumps it: on Linux it owns io_poll and takes the completed ops
 * off the reactor; on IOCP it waits on the port and runs each packet's
 * callback, as the loop's dispatch does (sock_iocp.c's own callbacks
 * first, then the test's). Every started op must come back exactly once,
 * and every wait has a deadline. Include it once per program: the harness
 * state below is the program's own. Portable: no OS calls here. */
#ifndef MP_PORT_HARNESS_H
#define MP_PORT_HARNESS_H

#include "check.h"
#include "platform/net.h"
#include "port/reactor.h"

/* An op the test starts. start() and its callback keep the books: an op is
 * in flight from its start until its completion is taken, a completion of
 * an op not in flight fails the test, and order says when it was taken. */
typedef struct test_op {
  mp_op op;
  int in_flight;
  int completions;                 /* taken since the test began */
  int order;                       /* the last completion's place among all taken */
  void (*then)(struct test_op *t); /* run once it is taken; may start it again */
} test_op;

/* The port under test and the books: T.started - T.taken ops are in flight. */
static struct {
  const mp_port_backend *b;
  mp_port *port;
  int started, taken;
} T;

static char scratch[64 * 1024]; /* the readers' shared receive buffer */

/* Every test op's callback: one start, one completion. */
static inline void taken(mp_loop *loop, mp_op *op) {
  (void)loop;
  test_op *t = MP_CONTAINER_OF(op, test_op, op);
  CHECK(t->in_flight);
  t->in_flight = 0;
  t->completions++;
  t->order = ++T.taken;
  if (t->then) t->then(t);
}

static inline mp_op *start(test_op *t) {
  CHECK(!t->in_flight);
  t->in_flight = 1;
  t->op.cb = taken;
  T.started++;
  return &t->op;
}

/* Take the ops the reactor has completed, without polling (Linux; the
 * port has no reactor on IOCP, where completions come only by pump). */
static inline void take(void) {
  if (!T.port->reactor) return;
  mp_op *tail, *op = mp__reactor_take(T.port->reactor, &tail);
  while (op) {
    mp_op *next = op->next_; /* then() may start the op again, which relinks it */
    CHECK(next || op == tail);
    op->cb(NULL, op);
    op = next;
  }
}

/* Poll, as the loop does: without waiting when completions are ready. */
static inline void pump(int64_t timeout_ms) {
  if (T.port->reactor) {
    T.b->io_poll(T.port, T.port->reactor->done_head ? 0 : timeout_ms);
    take();
    return;
  }
  mp_packet packets[MP_PORT_BATCH];
  int n = T.b->wait(T.port, packets, MP_PORT_BATCH, timeout_ms);
  CHECK(n >= 0);
  for (int i = 0; i < n; i++) {
    mp_op *op = packets[i].op;
    op->key_ = packets[i].key;
    op->bytes_ = packets[i].bytes;
    op->cb(NULL, op);
  }
}

/* Pump until cond holds; fail after ms milliseconds. */
#define PUMP_UNTIL(cond, ms)                                                                       \
  do {                                                                                             \
    uint64_t pump_deadline_ = mp__now_ns() + (uint64_t)(ms)*1000000u;                              \
    while (!(cond)) {                                                                              \
      if (mp__now_ns() > pump_deadline_) {                                                         \
        fprintf(stderr, "%s:%d: timed out waiting for %s\n", __FILE__, __LINE__, #cond);           \
        exit(1);                                                                                   \
      }                                                                                            \
      pump(10);                                                                                    \
    }                                                                                              \
  } while (0)

static inline void pump_for(int ms) {
  uint64_t until = mp__now_ns() + (uint64_t)ms * 1000000u;
  while (mp__now_ns() < until)
    pump(5);
}

/* t has come back n times in all, the last time with result res. */
#define CHECK_DONE(t, n, res)                                                                      \
  do {                                                                                             \
    CHECK_EQ((t).completions, n);                                                                  \
    CHECK_EQ((t).op.result, res);                                                                  \
  } while (0)

/* Nothing completes for ms milliseconds. */
static inline void expect_quiet(int ms) {
  int taken = T.taken;
  pump_for(ms);
  CHECK_EQ(T.taken, taken);
}

/* Open the port on this thread, and the OS's sockets. */
static inline void open_port(void) {
  T.b = test_backend();
  CHECK_EQ(mp__sock_startup(), 0);
  CHECK_EQ(T.b->open(&T.port), 0);
}

/* Every started op has come back, nothing more comes; close the port. */
static inline void close_port(void) {
  pump_for(30);
  CHECK_EQ(T.taken, T.started);
  T.b->shutdown(T.port);
  T.b->close(T.port);
}

static inline void close_sock(mp__sock *s) {
  test_op closed = {0};
  mp__sock_close(s, start(&closed));
  PUMP_UNTIL(closed.completions == 1, 5000);
  CHECK_EQ(closed.op.result, 0);
  CHECK(!mp__sock_is_open(s));
}

#endif
