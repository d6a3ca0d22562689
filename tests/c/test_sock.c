/* test_sock.c: TCP ops on the port (sock.h), on the backend
 * MOONPORT_BACKEND names, driven by hand through sock_harness.h: Linux's
 * reactors and Windows' IOCP. The few differences are the kernels' (a
 * cancel that loses the race with data on IOCP, which errors a send gets)
 * and are said where they are checked. */
#define _GNU_SOURCE /* setrlimit, struct linger; sigprocmask in sock_harness.h */
#include <stdatomic.h>
#if __has_include(<sys/resource.h>)
#include <sys/resource.h> /* descriptor limits: Linux; Windows has none to lower */
#define HAVE_RLIMIT 1
#endif

#include "sock_harness.h"

/* A case that cannot apply on Windows: say why (.ci/windows lists these
 * lines) and skip. */
#define SKIP_ON_WINDOWS(reason)                                                                    \
  do {                                                                                             \
    fprintf(stderr, "SKIP (Windows): test_sock.c:%d: %s\n", __LINE__, reason);                     \
    exit(SKIP_CODE);                                                                               \
  } while (0)

/* A cancelled wait ended with MP_ECANCELED, or, on IOCP only, with the
 * success of a read that data completed before the cancel reached it
 * (sock.h allows both; a reactor has not looked yet, so it cancels). */
static int cancelled_or_raced(const test_op *t) {
  return t->op.result == MP_ECANCELED || (!T.port->reactor && t->op.result == 0);
}

/* Bytes whose value depends on their offset, so a reordering shows. */
static unsigned char pattern_at(size_t i) {
  uint32_t x = (uint32_t)i * 2654435761u;
  return (unsigned char)((x ^ (x >> 15)) >> 24);
}

static const char *pattern(void) {
  static char *bytes;
  if (!bytes) {
    bytes = malloc(BIG);
    CHECK(bytes != NULL);
    for (size_t i = 0; i < BIG; i++)
      bytes[i] = (char)pattern_at(i);
  }
  return bytes;
}

/* Listen, then connect and accept in both orders; the two ends agree on
 * who is where. */
static void accept_connect(void) {
  open_tcp_port();
  mp__sock l, client[2], server[2];
  struct sockaddr_in addr;
  listen_any(&l, &addr);
  struct sockaddr_storage unused;
  CHECK_EQ(mp__sock_address(&l, 1, &unused), MP_ENOTCONN);

  /* Accept first: it parks until the connection comes. */
  test_op accepted = {0}, connected = {0};
  mp__sock_accept(&l, start(&accepted));
  pump_for(20);
  CHECK(accepted.in_flight);
  open_connect(&client[0], &connected, &addr);
  PUMP_UNTIL(accepted.completions && connected.completions, 5000);
  CHECK_EQ(connected.op.result, 0);
  CHECK(accepted.op.result >= 0);
  mp__sock_adopt(&server[0], T.port, mp__sock_accepted(&l, accepted.op.result));

  /* Connect first: once the kernel has queued the connection, accept
   * completes without waiting for the reactor. */
  open_connect(&client[1], &connected, &addr);
  PUMP_UNTIL(connected.completions == 2, 5000);
  CHECK_EQ(connected.op.result, 0);
  pump_for(20); /* loopback: the server's side of the handshake has long ended */
  mp__sock_accept(&l, start(&accepted));
  TAKE_UNTIL(accepted.completions == 2);
  CHECK(accepted.op.result >= 0);
  mp__sock_adopt(&server[1], T.port, mp__sock_accepted(&l, accepted.op.result));

  for (int i = 0; i < 2; i++) {
    struct sockaddr_in client_local = address_of(&client[i], 0);
    CHECK_EQ(client_local.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    check_same_address(address_of(&client[i], 1), addr);
    check_same_address(address_of(&server[i], 0), addr);
    check_same_address(address_of(&server[i], 1), client_local);
  }
  CHECK(address_of(&client[0], 0).sin_port != address_of(&client[1], 0).sin_port);
  for (int i = 0; i < 2; i++) {
    close_sock(&client[i]);
    close_sock(&server[i]);
  }
  close_sock(&l);
  close_port();
}

/* The reader: wait_readable, then recv until the socket would block, and
 * again; each byte is checked against the pattern at its offset. */
typedef struct reader {
  test_op wait;
  mp__sock *s;
  size_t received;
  int eof;
} reader;

static void on_readable(test_op *t) {
  reader *r = MP_CONTAINER_OF(t, reader, wait);
  CHECK_EQ(t->op.result, 0);
  for (;;) {
    int n = mp__sock_recv(r->s, scratch, sizeof scratch);
    if (n == MP_EAGAIN) break;
    if (n == 0) {
      r->eof = 1;
      return;
    }
    CHECK(n > 0);
    CHECK(r->received + (size_t)n <= BIG);
    for (int i = 0; i < n; i++)
      CHECK_EQ((unsigned char)scratch[i], pattern_at(r->received + (size_t)i));
    r->received += (size_t)n;
  }
  mp__sock_wait_readable(r->s, start(t));
}

static void start_reader(reader *r, mp__sock *s) {
  *r = (reader){.s = s, .wait.then = on_readable};
  mp__sock_wait_readable(s, start(&r->wait));
}

/* The writer: sends of the pattern, one in flight at a time, each started
 * when the one before has completed. */
typedef struct writer {
  test_op send;
  mp__sock *s;
  size_t total, sent, chunk;
  int sends;
  int one_send; /* send everything in one op */
  reader *peer; /* if set, note what it had read when the last send completed */
  size_t peer_received_at_end;
} writer;

static void send_next(writer *w) {
  static const size_t sizes[] = {1, 7, 1500, 65536, 100000, 3, 262144, 4096, 131071};
  w->chunk = w->one_send ? w->total : sizes[w->sends % (sizeof sizes / sizeof sizes[0])];
  if (w->chunk > w->total - w->sent) w->chunk = w->total - w->sent;
  mp__sock_send(w->s, start(&w->send), pattern() + w->sent, w->chunk);
}

static void on_sent(test_op *t) {
  writer *w = MP_CONTAINER_OF(t, writer, send);
  CHECK_EQ(t->op.result, (int)w->chunk);
  w->sent += w->chunk;
  w->sends++;
  if (w->sent < w->total) {
    send_next(w);
  } else if (w->peer) {
    w->peer_received_at_end = w->peer->received;
  }
}

/* 1 MiB in sends of many sizes arrives complete and in order; a send to a
 * peer that does not read parks, and completes once the peer reads. */
static void send_recv_order(void) {
  open_tcp_port();
  mp__sock a, b;
  static reader r;
  static writer w;

  connect_pair(&a, &b);
  start_reader(&r, &b);
  w = (writer){.send.then = on_sent, .s = &a, .total = 1 << 20};
  send_next(&w);
  PUMP_UNTIL(w.sent == w.total, 20000);
  CHECK(w.sends > 10);
  CHECK_EQ(mp__sock_shutdown(&a), 0);
  PUMP_UNTIL(r.eof, 20000);
  CHECK_EQ(r.received, 1 << 20);
  close_sock(&a);
  close_sock(&b);

  /* One send of BIG bytes to a peer that does not read yet: it parks, and
   * completes only after the peer has read. */
  connect_pair(&a, &b);
  w = (writer){.send.then = on_sent, .s = &a, .total = BIG, .one_send = 1, .peer = &r};
  send_next(&w);
  pump_for(200);
  CHECK(w.send.in_flight); /* 8 MiB did not fill the loopback buffers */
  printf("the send parked with %u of %d bytes sent\n", (unsigned)a.send_done, BIG);
  start_reader(&r, &b);
  PUMP_UNTIL(w.sent == BIG, 20000);
  CHECK_EQ(w.sends, 1);
  CHECK(w.peer_received_at_end > 0);
  CHECK_EQ(mp__sock_shutdown(&a), 0);
  PUMP_UNTIL(r.eof, 20000);
  CHECK_EQ(r.received, BIG);
  close_sock(&a);
  close_sock(&b);

  /* Both ways at once: each socket has a reader and a writer parked. */
  static reader duplex_r[2];
  static writer duplex_w[2];
  connect_pair(&a, &b);
  mp__sock *ends[2] = {&a, &b};
  for (int i = 0; i < 2; i++) {
    start_reader(&duplex_r[i], ends[i]);
    duplex_w[i] = (writer){.send.then = on_sent, .s = ends[i], .total = BIG};
    send_next(&duplex_w[i]);
  }
  PUMP_UNTIL(duplex_w[0].sent == BIG && duplex_w[1].sent == BIG, 20000);
  for (int i = 0; i < 2; i++)
    CHECK_EQ(mp__sock_shutdown(ends[i]), 0);
  PUMP_UNTIL(duplex_r[0].eof && duplex_r[1].eof, 20000);
  for (int i = 0; i < 2; i++)
    CHECK_EQ(duplex_r[i].received, BIG);
  close_sock(&a);
  close_sock(&b);
  close_port();
}

/* One start, one completion: for errors found at once, errors found later,
 * cancels, cancels that race readiness, and closes of busy sockets. */
static void exactly_one_completion(void) {
  open_tcp_port();
  mp__sock l, c, a, b;
  struct sockaddr_in addr;

  /* Refused: the error is the connect's completion. */
  listen_any(&l, &addr);
  close_sock(&l);
  test_op refused = {0};
  open_connect(&c, &refused, &addr);
  PUMP_UNTIL(refused.completions, 5000);
  CHECK_EQ(refused.op.result, MP_ECONNREFUSED);
  close_sock(&c);

  /* Calls the kernel refuses at once complete at once, without a poll. */
  test_op not_listening = {0}, not_connected = {0};
  CHECK_EQ(mp__sock_open(&c, T.port, AF_INET), 0);
  mp__sock_accept(&c, start(&not_listening));
  mp__sock_send(&c, start(&not_connected), "x", 1);
  TAKE_UNTIL(not_connected.completions);
  /* Linux says EPIPE; Winsock ENOTCONN, and Wine ECONNRESET (the Lua
   * layer never sends before the connect's completion, so none of them
   * reaches a script). */
  if (T.port->reactor) {
    CHECK_DONE(not_connected, 1, MP_EPIPE);
  } else {
    CHECK(not_connected.op.result == MP_ENOTCONN || not_connected.op.result == MP_ECONNRESET);
  }
  uint64_t until = mp__now_ns() + 1000000000u; /* IOCP: a second for the kernel's packet */
  take();
  while (!T.port->reactor && !not_listening.completions && mp__now_ns() < until)
    pump(10);
  if (!not_listening.completions) {
    CHECK(!T.port->reactor);
    fprintf(stderr,
            "SKIP (Wine): test_sock.c:%d: AcceptEx on a socket that does not listen "
            "stays pending under Wine (Windows fails it with WSAEINVAL): cancelled\n",
            __LINE__);
    mp__sock_cancel_read(&c);
    PUMP_UNTIL(not_listening.completions, 5000);
    CHECK_DONE(not_listening, 1, MP_ECANCELED);
  } else {
    CHECK_DONE(not_listening, 1, MP_EINVAL);
  }
  close_sock(&c);

  /* A parked wait_readable, cancelled twice: one MP_ECANCELED. Data that
   * comes later completes nothing until the next wait, which sees it. */
  connect_pair(&a, &b);
  test_op wait = {0};
  park_reader(&a, &wait);
  pump_for(20);
  CHECK(wait.in_flight);
  mp__sock_cancel_read(&a);
  mp__sock_cancel_read(&a);
  TAKE_UNTIL(wait.completions == 1);
  CHECK_DONE(wait, 1, MP_ECANCELED);
  CHECK_EQ(mp__sock_try_send(&b, "1", 1), 1);
  expect_quiet(50);
  mp__sock_wait_readable(&a, start(&wait));
  PUMP_UNTIL(wait.completions == 2, 5000);
  CHECK_EQ(wait.op.result, 0);
  CHECK_EQ(drain(&a), 1);

  /* Cancelled after data came, before the backend has reported it. */
  park_reader(&a, &wait);
  CHECK_EQ(mp__sock_try_send(&b, "22", 2), 2);
  mp__sock_cancel_read(&a);
  TAKE_UNTIL(wait.completions == 3);
  CHECK(cancelled_or_raced(&wait));
  expect_quiet(50);
  mp__sock_wait_readable(&a, start(&wait));
  PUMP_UNTIL(wait.completions == 4, 5000);
  CHECK_EQ(wait.op.result, 0);
  CHECK_EQ(drain(&a), 2);

  /* Cancelled and at once started again: the new wait sees data that
   * comes afterwards. On a reactor the cancel is done when it returns,
   * so the new wait may start before its completion is taken; on IOCP
   * the cancelled read is the kernel's until its packet comes, and only
   * one read may be in flight (sock.h). */
  test_op again = {0};
  park_reader(&a, &wait);
  mp__sock_cancel_read(&a);
  if (!T.port->reactor) TAKE_UNTIL(wait.completions == 5);
  mp__sock_wait_readable(&a, start(&again));
  TAKE_UNTIL(wait.completions == 5);
  CHECK_DONE(wait, 5, MP_ECANCELED);
  pump_for(20);
  CHECK(again.in_flight);
  CHECK_EQ(mp__sock_try_send(&b, "333", 3), 3);
  PUMP_UNTIL(again.completions == 1, 5000);
  CHECK_EQ(again.op.result, 0);
  CHECK_EQ(drain(&a), 3);

  /* A send of nothing completes at once with 0. */
  test_op empty = {0};
  mp__sock_send(&a, start(&empty), "", 0);
  TAKE_UNTIL(empty.completions == 1);
  CHECK_DONE(empty, 1, 0);

  /* Close with a parked reader and a parked writer: both MP_ECANCELED,
   * then the close, each once. */
  test_op send = {0}, closed = {0};
  park_reader(&a, &wait);
  park_writer(&a, &send);
  pump_for(20);
  mp__sock_close(&a, start(&closed));
  PUMP_UNTIL(closed.completions, 5000);
  CHECK_DONE(wait, 6, MP_ECANCELED);
  CHECK_DONE(send, 1, MP_ECANCELED);
  CHECK_EQ(closed.op.result, 0);
  CHECK(closed.order > wait.order && closed.order > send.order);
  close_sock(&b);

  /* A parked accept, cancelled: MP_ECANCELED once, and the listener still
   * accepts the next connection. */
  test_op accepted = {0}, connected = {0};
  listen_any(&l, &addr);
  mp__sock_accept(&l, start(&accepted));
  pump_for(20);
  CHECK(accepted.in_flight);
  mp__sock_cancel_read(&l);
  TAKE_UNTIL(accepted.completions == 1);
  CHECK_DONE(accepted, 1, MP_ECANCELED);
  open_connect(&c, &connected, &addr);
  PUMP_UNTIL(connected.completions, 5000);
  CHECK_EQ(connected.op.result, 0);
  mp__sock_accept(&l, start(&accepted));
  PUMP_UNTIL(accepted.completions == 2, 5000);
  CHECK(accepted.op.result >= 0);
  mp__sock_discard(mp__sock_accepted(&l, accepted.op.result));

  /* Close a listener with a parked accept. */
  closed = (test_op){0};
  mp__sock_accept(&l, start(&accepted));
  pump_for(20);
  CHECK(accepted.in_flight);
  mp__sock_close(&l, start(&closed));
  PUMP_UNTIL(closed.completions, 5000);
  CHECK_DONE(accepted, 3, MP_ECANCELED);
  CHECK(closed.order > accepted.order);
  close_sock(&c);

  /* A connect that waits (the listener's queue is full and it drops the
   * SYN), ended by close: MP_ECANCELED, then the close. */
  enum { QUEUED = 8 };
  static mp__sock queued[QUEUED];
  static test_op queued_connect[QUEUED];
  struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK_EQ(mp__sock_open(&l, T.port, AF_INET), 0);
  CHECK_EQ(mp__sock_listen(&l, (struct sockaddr *)&lo, sizeof lo, 1, 0), 0);
  addr = address_of(&l, 0);
  int last = 0;
  for (;; last++) {
    CHECK(last < QUEUED);
    open_connect(&queued[last], &queued_connect[last], &addr);
    pump_for(100);
    if (queued_connect[last].in_flight) break;
    CHECK_EQ(queued_connect[last].op.result, 0);
  }
  closed = (test_op){0};
  mp__sock_close(&queued[last], start(&closed));
  PUMP_UNTIL(closed.completions, 5000);
  CHECK_DONE(queued_connect[last], 1, MP_ECANCELED);
  CHECK(closed.order > queued_connect[last].order);
  for (int i = 0; i < last; i++)
    close_sock(&queued[i]);
  close_sock(&l);

  /* Nothing more comes for any of them. */
  expect_quiet(50);
  close_port();
}

/* A send to a connection reset earlier: Linux says EPIPE, Winsock goes
 * on saying ECONNRESET. */
static int sent_after_reset(int rc) {
  return rc == MP_EPIPE || (!T.port->reactor && rc == MP_ECONNRESET);
}

/* Peer shutdown: EOF. Peer gone with data unread: a reset, as errors of
 * the calls and ops, never as SIGPIPE. */
static void eof_and_reset(void) {
  open_tcp_port();
  mp__sock a, b;
  char got[64];
  size_t n;

  /* Half-close: the waiting peer wakes and reads EOF, which stays. */
  connect_pair(&a, &b);
  test_op wait = {0}, send = {0};
  park_reader(&b, &wait);
  pump_for(20);
  CHECK(wait.in_flight);
  CHECK_EQ(mp__sock_shutdown(&a), 0);
  PUMP_UNTIL(wait.completions == 1, 5000);
  CHECK_EQ(wait.op.result, 0);
  CHECK_EQ(mp__sock_recv(&b, scratch, sizeof scratch), 0);
  CHECK_EQ(mp__sock_recv(&b, scratch, sizeof scratch), 0);
  mp__sock_wait_readable(&b, start(&wait));
  PUMP_UNTIL(wait.completions == 2, 5000);
  CHECK_EQ(wait.op.result, 0);
  /* The other direction still works, up to its own EOF. */
  mp__sock_send(&b, start(&send), "bye", 3);
  PUMP_UNTIL(send.completions == 1, 5000);
  CHECK_EQ(send.op.result, 3);
  CHECK_EQ(mp__sock_shutdown(&b), 0);
  CHECK_EQ(read_to_end(&a, got, sizeof got, &n), 0);
  CHECK(n == 3 && memcmp(got, "bye", 3) == 0);
  close_sock(&a);
  close_sock(&b);

  /* Data and FIN in one readiness report: the short read that takes the
   * data must not hide the EOF behind it (edge-triggered reactors report
   * the FIN only once). */
  connect_pair(&a, &b);
  park_reader(&b, &wait);
  CHECK_EQ(mp__sock_try_send(&a, "last", 4), 4);
  CHECK_EQ(mp__sock_shutdown(&a), 0);
  PUMP_UNTIL(wait.completions == 3, 5000);
  CHECK_EQ(mp__sock_recv(&b, scratch, sizeof scratch), 4);
  mp__sock_wait_readable(&b, start(&wait));
  PUMP_UNTIL(wait.completions == 4, 1000);
  CHECK_EQ(wait.op.result, 0);
  CHECK_EQ(mp__sock_recv(&b, scratch, sizeof scratch), 0);
  close_sock(&a);
  close_sock(&b);

  /* Reset under a parked reader: b closes with SO_LINGER 0 and unread data. */
  connect_pair(&a, &b);
  CHECK_EQ(mp__sock_try_send(&a, "unread", 6), 6);
  park_reader(&a, &wait);
  pump_for(20);
  struct linger hard = {.l_onoff = 1, .l_linger = 0};
  CHECK_EQ(setsockopt(b.fd, SOL_SOCKET, SO_LINGER, (const void *)&hard, sizeof hard), 0);
  close_sock(&b);
  PUMP_UNTIL(wait.completions == 5, 5000);
  /* A reactor reports the reset as readiness, and recv finds it; on IOCP
   * the zero-byte read may end with the reset itself (sock.h). */
  if (T.port->reactor || wait.op.result != MP_ECONNRESET) {
    CHECK_EQ(wait.op.result, 0);
    CHECK_EQ(mp__sock_recv(&a, scratch, sizeof scratch), MP_ECONNRESET);
  }
  mp__sock_send(&a, start(&send), "late", 4);
  PUMP_UNTIL(send.completions == 2, 5000);
  CHECK(send.op.result == MP_EPIPE || send.op.result == MP_ECONNRESET);
  CHECK(sent_after_reset(mp__sock_try_send(&a, "later", 5)));
  close_sock(&a);

  /* Reset under a parked writer: b closes with our data unread. */
  connect_pair(&a, &b);
  park_writer(&a, &send);
  pump_for(20);
  close_sock(&b);
  PUMP_UNTIL(send.completions == 3, 5000);
  printf("a parked send ended by a reset: %s\n", mp_err_name(send.op.result));
  CHECK(send.op.result == MP_ECONNRESET || send.op.result == MP_EPIPE);
  int rc = read_to_end(&a, got, sizeof got, &n);
  CHECK(rc == 0 || rc == MP_ECONNRESET);
  CHECK_EQ(n, 0);
  CHECK(sent_after_reset(mp__sock_try_send(&a, "later", 5)));
  close_sock(&a);
  close_port();
}

/* A socket in memory of its own, freed by its close completion. */
typedef struct owned_sock {
  mp__sock s;
  test_op closed;
} owned_sock;

static int owned_freed;

static void free_owned(test_op *t) {
  owned_sock *o = MP_CONTAINER_OF(t, owned_sock, closed);
  CHECK_EQ(t->op.result, 0);
  CHECK(!mp__sock_is_open(&o->s));
  CHECK(!mp__sock_in_kernel(&o->s));
  memset(o, 0xff, sizeof *o); /* a late touch without ASan still goes wrong loudly */
  free(o);
  owned_freed++;
}

static owned_sock *owned_pair(mp__sock *peer) {
  owned_sock *o = malloc(sizeof *o);
  CHECK(o != NULL);
  *o = (owned_sock){.closed.then = free_owned};
  connect_pair(&o->s, peer);
  return o;
}

static void close_owned(owned_sock *o) {
  mp__sock_close(&o->s, start(&o->closed));
}

/* Close, and take what is done at once (the cancelled ops): on uring, not
 * the close, which waits for the polls still out. Then pump until the
 * close has come and freed the socket. */
static void close_and_free(owned_sock *o) {
  int freed = owned_freed;
  close_owned(o);
  take();
  if (is_uring()) CHECK_EQ(owned_freed, freed);
  PUMP_UNTIL(owned_freed == freed + 1, 5000);
}

/* Closing a socket with polls in flight: the close completes only after
 * the kernel has given them back, so the socket can be freed right there. */
static void close_frees_after_kernel(void) {
  open_tcp_port();
  mp__sock peer;
  test_op wait = {0}, send = {0};

  /* An idle poll, cancelled by the close. */
  owned_sock *o = owned_pair(&peer);
  park_reader(&o->s, &wait);
  close_and_free(o);
  CHECK_EQ(wait.op.result, MP_ECANCELED);
  close_sock(&peer);

  /* A poll that has fired, but nobody has taken its completion yet. */
  o = owned_pair(&peer);
  park_reader(&o->s, &wait);
  CHECK_EQ(mp__sock_try_send(&peer, "x", 1), 1);
  close_and_free(o);
  CHECK(cancelled_or_raced(&wait));
  close_sock(&peer);

  /* Polls out in both directions. */
  o = owned_pair(&peer);
  park_reader(&o->s, &wait);
  park_writer(&o->s, &send);
  pump_for(20);
  close_and_free(o);
  CHECK_EQ(wait.op.result, MP_ECANCELED);
  CHECK_EQ(send.op.result, MP_ECANCELED);
  close_sock(&peer);

  /* Closed before the backend has run: the poll was only asked for. */
  o = owned_pair(&peer);
  drain(&o->s);
  mp__sock_wait_readable(&o->s, start(&wait));
  close_and_free(o);
  CHECK_EQ(wait.op.result, MP_ECANCELED);
  close_sock(&peer);

  /* The poll of a cancelled read, with nothing parked any more. */
  o = owned_pair(&peer);
  park_reader(&o->s, &wait);
  mp__sock_cancel_read(&o->s);
  pump_for(20);
  CHECK_EQ(wait.op.result, MP_ECANCELED);
  close_and_free(o);
  close_sock(&peer);

  /* Many at once; new sockets take their descriptor numbers while the old
   * polls are on their way back, and work. */
  enum { N = 32 };
  static owned_sock *many[N];
  static mp__sock peers[N], fresh[N][2];
  static test_op waits[N], fresh_waits[N];
  for (int i = 0; i < N; i++) {
    many[i] = owned_pair(&peers[i]);
    park_reader(&many[i]->s, &waits[i]);
  }
  int freed = owned_freed;
  for (int i = 0; i < N; i++)
    close_owned(many[i]);
  for (int i = 0; i < N; i++) {
    connect_pair(&fresh[i][0], &fresh[i][1]);
    park_reader(&fresh[i][1], &fresh_waits[i]);
    CHECK_EQ(mp__sock_try_send(&fresh[i][0], "y", 1), 1);
  }
  PUMP_UNTIL(owned_freed == freed + N, 5000);
  for (int i = 0; i < N; i++) {
    PUMP_UNTIL(fresh_waits[i].completions == 1, 5000);
    CHECK_EQ(fresh_waits[i].op.result, 0);
    CHECK_EQ(drain(&fresh[i][1]), 1);
    CHECK_DONE(waits[i], 1, MP_ECANCELED);
    close_sock(&peers[i]);
    close_sock(&fresh[i][0]);
    close_sock(&fresh[i][1]);
  }
  close_port();
}

/* io_wake from another thread ends an io_poll that would wait forever. */
enum { WAKE_ROUNDS = 50 };
static atomic_int wake_polling;  /* the round whose io_poll has begun (or is about to) */
static atomic_int wake_returned; /* the last round whose io_poll has returned */

static void waker_main(void *arg) {
  (void)arg;
  for (int round = 1; round <= WAKE_ROUNDS; round++) {
    await_flag(&wake_polling, round, "the next io_poll");
    /* The first poll sleeps a while; later ones are woken soon or at once,
     * maybe before they have begun to wait. */
    test_sleep_ms(round == 1 ? 100 : round % 3);
    T.b->io_wake(T.port);
    await_flag(&wake_returned, round, "io_poll(-1) returning after io_wake");
  }
}

static void wake(void) {
  open_tcp_port();
  if (!T.port->reactor)
    SKIP_ON_WINDOWS("IOCP has no reactor, so no io_poll or io_wake: its kernel completions come "
                    "through the port's wait (test_port)");
  mp__thread waker;
  CHECK_EQ(mp__thread_start(&waker, waker_main, NULL), 0);
  for (int round = 1; round <= WAKE_ROUNDS; round++) {
    uint64_t begin = mp__now_ns();
    atomic_store(&wake_polling, round);
    T.b->io_poll(T.port, -1);
    uint64_t waited = mp__now_ns() - begin;
    atomic_store(&wake_returned, round);
    if (round == 1) CHECK(waited >= 90000000u); /* it did sleep until the wake */
  }
  mp__thread_join(waker);

  /* Wakes while nobody polls: the next poll returns at once, and they
   * count as one, so the poll after that sleeps. */
  for (int i = 0; i < 5; i++)
    T.b->io_wake(T.port);
  uint64_t begin = mp__now_ns();
  T.b->io_poll(T.port, 5000);
  CHECK(mp__now_ns() - begin < 1000000000u);
  begin = mp__now_ns();
  T.b->io_poll(T.port, 100);
  CHECK(mp__now_ns() - begin >= 90000000u);
  close_port();
}

#if HAVE_RLIMIT
/* The lowest descriptor number not in use (any open one to copy: fd). */
static int lowest_free_fd(int fd) {
  fd = dup(fd);
  CHECK(fd >= 0);
  close(fd);
  return fd;
}

/* Out of descriptors: accept completes with MP_EMFILE (once, without a
 * busy loop), and accepts again once descriptors are free. */
static void emfile_accept(void) {
  open_tcp_port();
  mp__sock l, c1, c2, s1, s2, extra;
  struct sockaddr_in addr;
  test_op accepted = {0}, connected = {0};
  listen_any(&l, &addr);
  mp__sock_accept(&l, start(&accepted));
  open_connect(&c1, &connected, &addr);
  PUMP_UNTIL(accepted.completions == 1 && connected.completions == 1, 5000);
  CHECK(accepted.op.result >= 0);
  mp__sock_adopt(&s1, T.port, accepted.op.result);
  CHECK_EQ(mp__sock_open(&c2, T.port, AF_INET), 0);

  /* An accept parks; then no descriptor is left (Linux's accept4 wants one
   * before it looks for a connection), and a connection wakes the accept. */
  mp__sock_accept(&l, start(&accepted));
  pump_for(20);
  CHECK(accepted.in_flight);
  struct rlimit old, low;
  CHECK_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  low = old;
  low.rlim_cur = (rlim_t)lowest_free_fd(l.fd);
  CHECK_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  CHECK_EQ(mp__sock_open(&extra, T.port, AF_INET), MP_EMFILE);
  mp__sock_connect(&c2, start(&connected), (struct sockaddr *)&addr, sizeof addr);
  PUMP_UNTIL(accepted.completions == 2 && connected.completions == 2, 5000);
  CHECK_EQ(connected.op.result, 0);
  CHECK_EQ(accepted.op.result, MP_EMFILE);

  /* Nothing spins: polls sleep, and nothing more completes. */
  int taken = T.taken, polls = 0;
  uint64_t until = mp__now_ns() + 300000000u;
  while (mp__now_ns() < until) {
    pump(100);
    polls++;
  }
  CHECK(polls <= 10);
  CHECK_EQ(T.taken, taken);

  /* Still out of descriptors: MP_EMFILE again, at once. */
  mp__sock_accept(&l, start(&accepted));
  take();
  CHECK_DONE(accepted, 3, MP_EMFILE);

  /* Two descriptors freed: the waiting connection is accepted. */
  close_sock(&c1);
  close_sock(&s1);
  mp__sock_accept(&l, start(&accepted));
  PUMP_UNTIL(accepted.completions == 4, 5000);
  CHECK(accepted.op.result >= 0);
  mp__sock_adopt(&s2, T.port, accepted.op.result);
  check_same_address(address_of(&s2, 1), address_of(&c2, 0));
  CHECK_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);

  close_sock(&s2);
  close_sock(&c2);
  close_sock(&l);
  close_port();
}
#else
static void emfile_accept(void) {
  SKIP_ON_WINDOWS("no descriptor limit to lower (RLIMIT_NOFILE): Windows sockets are handles, "
                  "bounded by memory");
}
#endif

/* More parked ops than the ring has entries (256 on uring), all started
 * before one poll, then woken together and closed together: each op still
 * completes exactly once. */
static void many_parked(void) {
  enum { N = 300 };
#if HAVE_RLIMIT
  struct rlimit lim;
  CHECK_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_cur < 2 * N + 64) {
    if (lim.rlim_max < 2 * N + 64) {
      printf("SKIP: %d descriptors needed\n", 2 * N + 64);
      exit(SKIP_CODE);
    }
    lim.rlim_cur = 2 * N + 64;
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &lim), 0);
  }
#endif
  open_tcp_port();
  static mp__sock client[N], server[N];
  static test_op connected[N], accepted[N], client_wait[N], server_wait[N], closed[2 * N];
  mp__sock l;
  struct sockaddr_in addr;
  listen_any(&l, &addr);
  for (int i = 0; i < N; i++) {
    open_connect(&client[i], &connected[i], &addr);
    mp__sock_accept(&l, start(&accepted[i]));
    PUMP_UNTIL(connected[i].completions == 1 && accepted[i].completions == 1, 5000);
    CHECK_EQ(connected[i].op.result, 0);
    CHECK(accepted[i].op.result >= 0);
    mp__sock_adopt(&server[i], T.port, mp__sock_accepted(&l, accepted[i].op.result));
  }
  close_sock(&l);

  /* 2N polls asked for before the backend runs once. */
  for (int i = 0; i < N; i++) {
    drain(&client[i]);
    drain(&server[i]);
    mp__sock_wait_readable(&client[i], start(&client_wait[i]));
    mp__sock_wait_readable(&server[i], start(&server_wait[i]));
  }
  expect_quiet(50);

  /* Every server side becomes readable at once. */
  for (int i = 0; i < N; i++)
    CHECK_EQ(mp__sock_try_send(&client[i], "z", 1), 1);
  PUMP_UNTIL(T.taken == T.started - N, 5000); /* all but the client sides' waits */
  for (int i = 0; i < N; i++) {
    CHECK_DONE(server_wait[i], 1, 0);
    CHECK_EQ(client_wait[i].completions, 0);
    CHECK_EQ(drain(&server[i]), 1);
  }

  /* Close them all at once: N parked readers, N polls to cancel. */
  for (int i = 0; i < N; i++) {
    mp__sock_close(&client[i], start(&closed[2 * i]));
    mp__sock_close(&server[i], start(&closed[2 * i + 1]));
  }
  PUMP_UNTIL(T.taken == T.started, 5000);
  for (int i = 0; i < N; i++) {
    CHECK_DONE(client_wait[i], 1, MP_ECANCELED);
    CHECK(closed[2 * i].order > client_wait[i].order);
  }
  for (int i = 0; i < 2 * N; i++) {
    CHECK_DONE(closed[i], 1, 0);
  }
  close_port();
}

int main(int argc, char **argv) {
  static const test_case cases[] = {
      {"accept_connect", accept_connect},
      {"send_recv_order", send_recv_order},
      {"exactly_one_completion", exactly_one_completion},
      {"eof_and_reset", eof_and_reset},
      {"close_frees_after_kernel", close_frees_after_kernel},
      {"wake", wake},
      {"emfile_accept", emfile_accept},
      {"many_parked", many_parked},
      {NULL, NULL},
  };
  return test_main(argc, argv, cases);
}
