/* sock_harness.h: test_sock.c's harness for TCP ops on the port (sock.h).
 * The test's main thread opens the port and plays the loop: on Linux it
 * owns io_poll, polls, and takes the completed ops off the reactor; on
 * IOCP, which has no reactor, it waits on the port itself and runs each
 * packet's op as the loop would. Either way it counts them: every started
 * op must come back exactly once. Traffic stays on 127.0.0.1, and every
 * wait has a deadline. Include it once per program: the harness state
 * below is the program's own. */
#ifndef MP_SOCK_HARNESS_H
#define MP_SOCK_HARNESS_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before the first #include (sigprocmask under -std=c11)"
#endif

#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "check.h"
#include "platform/net.h"
#include "port/reactor.h"

/* An op the test starts. start() and take() keep the books: an op is in
 * flight from its start until its completion is taken, a completion of an
 * op not in flight fails the test, and order says when it was taken. */
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

enum { BIG = 8 << 20 }; /* more than loopback buffers hold for a peer that does not read */

/* Every test op's callback: the books for its completion. */
static inline void taken(mp_loop *loop, mp_op *op) {
  (void)loop; /* the harness has none */
  test_op *t = MP_CONTAINER_OF(op, test_op, op);
  CHECK(t->in_flight); /* one start, one completion */
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

/* IOCP: run the packets that come within timeout_ms (the first wait;
 * then without waiting until none is left), as the loop does: the op
 * gets its key and bytes, then its callback runs, which for a kernel op
 * is sock_iocp.c's (it finishes the op and calls taken). */
static inline void run_packets(int64_t timeout_ms) {
  mp_packet packets[MP_PORT_BATCH];
  int n;
  while ((n = T.b->wait(T.port, packets, MP_PORT_BATCH, timeout_ms)) > 0) {
    for (int i = 0; i < n; i++) {
      mp_op *op = packets[i].op;
      op->key_ = packets[i].key;
      op->bytes_ = packets[i].bytes;
      op->cb(NULL, op);
    }
    timeout_ms = 0;
  }
  CHECK_EQ(n, 0);
}

/* Take the ops that have completed, without waiting: from the reactor's
 * done list, or the packets already on the port. */
static inline void take(void) {
  if (!T.port->reactor) {
    run_packets(0);
    return;
  }
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
  } else {
    run_packets(timeout_ms);
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

/* Completions that need nothing from the network (a failure found at
 * once, a cancel, a connection already queued): on a reactor they are in
 * its done list when the call returns, so cond holds after take(); on
 * IOCP each is a packet that the kernel may queue a moment later. */
#define TAKE_UNTIL(cond)                                                                           \
  do {                                                                                             \
    if (T.port->reactor) {                                                                         \
      take();                                                                                      \
      CHECK(cond);                                                                                 \
    } else {                                                                                       \
      PUMP_UNTIL(cond, 5000);                                                                      \
    }                                                                                              \
  } while (0)

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

static inline int is_uring(void) {
  return strcmp(T.b->name, "uring") == 0;
}

/* Open the port on this thread. SIGPIPE, where there is one, keeps its
 * default action (it kills the process): only MSG_NOSIGNAL may keep a
 * dead peer from raising it. */
static inline void open_port(void) {
  T.b = test_backend();
  CHECK_EQ(mp__sock_startup(), 0);
  CHECK_EQ(T.b->open(&T.port), 0);
#ifdef SIGPIPE
  signal(SIGPIPE, SIG_DFL);
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigprocmask(SIG_UNBLOCK, &pipe_set, NULL);
#endif
}

/* Every started op has come back, nothing more comes; close the port. */
static inline void close_port(void) {
  pump_for(30);
  CHECK_EQ(T.taken, T.started);
  T.b->shutdown(T.port);
  T.b->close(T.port);
}

static inline struct sockaddr_in address_of(mp__sock *s, int peer) {
  struct sockaddr_storage ss;
  CHECK_EQ(mp__sock_address(s, peer, &ss), 0);
  CHECK_EQ(ss.ss_family, AF_INET);
  struct sockaddr_in in;
  memcpy(&in, &ss, sizeof in);
  return in;
}

static inline void check_same_address(struct sockaddr_in a, struct sockaddr_in b) {
  CHECK_EQ(a.sin_family, b.sin_family);
  CHECK_EQ(a.sin_addr.s_addr, b.sin_addr.s_addr);
  CHECK_EQ(a.sin_port, b.sin_port);
}

/* A listener on 127.0.0.1 and a port the kernel picked; addr is where it listens. */
static inline void listen_any(mp__sock *l, struct sockaddr_in *addr) {
  CHECK_EQ(mp__sock_open(l, T.port, AF_INET), 0);
  struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK_EQ(mp__sock_listen(l, (struct sockaddr *)&any, sizeof any, 64, 0), 0);
  *addr = address_of(l, 0);
  CHECK_EQ(addr->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  CHECK(addr->sin_port != 0);
}

/* Open s and start its connect to addr. */
static inline void open_connect(mp__sock *s, test_op *t, const struct sockaddr_in *addr) {
  CHECK_EQ(mp__sock_open(s, T.port, AF_INET), 0);
  mp__sock_connect(s, start(t), (const struct sockaddr *)addr, sizeof *addr);
}

static inline void close_sock(mp__sock *s) {
  test_op closed = {0};
  mp__sock_close(s, start(&closed));
  PUMP_UNTIL(closed.completions == 1, 5000);
  CHECK_EQ(closed.op.result, 0);
  CHECK(!mp__sock_is_open(s));
}

/* A connected pair on 127.0.0.1: client and the server side it reached. */
static inline void connect_pair(mp__sock *client, mp__sock *server) {
  mp__sock l;
  struct sockaddr_in addr;
  listen_any(&l, &addr);
  test_op accepted = {0}, connected = {0};
  mp__sock_accept(&l, start(&accepted));
  open_connect(client, &connected, &addr);
  PUMP_UNTIL(accepted.completions && connected.completions, 5000);
  CHECK_EQ(connected.op.result, 0);
  CHECK(accepted.op.result >= 0);
  mp__sock_adopt(server, T.port, mp__sock_accepted(&l, accepted.op.result));
  close_sock(&l);
}

/* Read and drop what s holds now, until the call would block. */
static inline size_t drain(mp__sock *s) {
  size_t total = 0;
  for (;;) {
    int n = mp__sock_recv(s, scratch, sizeof scratch);
    if (n == MP_EAGAIN) return total;
    CHECK(n > 0);
    total += (size_t)n;
  }
}

/* Start a wait_readable that must park: nothing to read, no EOF. */
static inline void park_reader(mp__sock *s, test_op *t) {
  drain(s);
  mp__sock_wait_readable(s, start(t));
  pump(0);
  CHECK(t->in_flight);
}

/* Start a send of BIG bytes to a peer that does not read: it must park. */
static inline void park_writer(mp__sock *s, test_op *t) {
  static char zeros[BIG];
  mp__sock_send(s, start(t), zeros, sizeof zeros);
  pump(0);
  CHECK(t->in_flight); /* 8 MiB did not fill the loopback buffers */
}

/* Read what s has until EOF (returns 0) or an error (returned); the bytes
 * go to out, of which *got are filled. */
static inline int read_to_end(mp__sock *s, char *out, size_t size, size_t *got) {
  test_op wait = {0};
  *got = 0;
  for (;;) {
    mp__sock_wait_readable(s, start(&wait));
    PUMP_UNTIL(!wait.in_flight, 5000);
    CHECK_EQ(wait.op.result, 0);
    for (;;) {
      int n = mp__sock_recv(s, out + *got, size - *got);
      if (n == MP_EAGAIN) break;
      if (n <= 0) return n;
      *got += (size_t)n;
      CHECK(*got < size);
    }
  }
}

/* Wait until *flag reaches value; after 5 s, fail the test from this thread. */
static inline void await_flag(atomic_int *flag, int value, const char *what) {
  uint64_t deadline = mp__now_ns() + 5000000000u;
  while (atomic_load(flag) < value) {
    if (mp__now_ns() > deadline) {
      fprintf(stderr, "%s:%d: %s did not happen within 5 s\n", __FILE__, __LINE__, what);
      _exit(1);
    }
    test_sleep_ms(1);
  }
}

#endif
