/* sock_harness.h: test_sock.c's harness for TCP ops (sock.h) on every
 * port, Linux's reactors and IOCP, on top of port_harness.h: connected
 * pairs, readers and writers that park, and SIGPIPE (where there is one)
 * left at its default, so that only MSG_NOSIGNAL can keep a dead peer
 * from killing the test. Traffic stays on 127.0.0.1. Include it once per
 * program. */
#ifndef MP_SOCK_HARNESS_H
#define MP_SOCK_HARNESS_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before the first #include (sigprocmask under -std=c11)"
#endif

#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "port_harness.h"

enum { BIG = 8 << 20 }; /* more than loopback buffers hold for a peer that does not read */

static inline int is_uring(void) {
  return strcmp(T.b->name, "uring") == 0;
}

/* Open the port. SIGPIPE, where there is one, keeps its default action
 * (it kills the process). */
static inline void open_tcp_port(void) {
  open_port();
#ifdef SIGPIPE
  signal(SIGPIPE, SIG_DFL);
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigprocmask(SIG_UNBLOCK, &pipe_set, NULL);
#endif
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
