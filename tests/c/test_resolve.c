/* test_resolve.c: name resolution as offloaded work (core/resolve.h):
 * answers and their ports, hosts refused before any work, cancels, and a
 * loop freed while requests are in flight (nothing called, nothing
 * leaked: run it under ASan). */
#include <stdatomic.h>

#include "check.h"
#include "core/loop.h"
#include "core/resolve.h"

static int calls;
static mp__resolve last; /* a copy of the last request done, addresses aside */
static struct sockaddr_storage first_addr;

static void on_done(mp__resolve *r) {
  calls++;
  last = *r;
  if (r->naddrs > 0) first_addr = r->addrs[0];
}

static mp_loop *new_loop(void) {
  test_backend();
  mp_loop *loop;
  CHECK_EQ(mp__loop_new(&loop, NULL, 0), 0);
  return loop;
}

static void resolve_one(mp_loop *loop, const char *host, int family) {
  mp__resolve_hints hints = {.family = family, .socktype = SOCK_STREAM, .port = 8080};
  int err = 0;
  CHECK(mp__resolve_start(loop, host, strlen(host), &hints, on_done, NULL, &err) != NULL);
  calls = 0;
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(calls, 1);
}

/* Numeric hosts come back as themselves, localhost as a loopback address,
 * each with the port asked for. */
static void answers(void) {
  mp_loop *loop = new_loop();
  resolve_one(loop, "127.0.0.1", AF_UNSPEC);
  CHECK_EQ(last.result, 0);
  CHECK_EQ(last.naddrs, 1);
  const struct sockaddr_in *v4 = (const struct sockaddr_in *)&first_addr;
  CHECK_EQ(v4->sin_family, AF_INET);
  CHECK_EQ(ntohl(v4->sin_addr.s_addr), 0x7f000001);
  CHECK_EQ(ntohs(v4->sin_port), 8080);

  resolve_one(loop, "::1", AF_UNSPEC);
  CHECK_EQ(last.result, 0);
  CHECK_EQ(last.naddrs, 1);
  const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&first_addr;
  CHECK_EQ(v6->sin6_family, AF_INET6);
  CHECK_EQ(ntohs(v6->sin6_port), 8080);

  resolve_one(loop, "localhost", AF_INET);
  CHECK_EQ(last.result, 0);
  CHECK(last.naddrs >= 1);
  CHECK_EQ(first_addr.ss_family, AF_INET);

  /* An IPv4 address asked for as IPv6 has no answer; the resolver says why. */
  resolve_one(loop, "127.0.0.1", AF_INET6);
  CHECK(last.result < 0);
  CHECK(strncmp(mp_err_name(last.result), "EAI_", 4) == 0);
  CHECK(mp__resolve_message(&last)[0] != '\0');
  mp__loop_free(loop);
}

/* Empty, NUL-holding and over-long hosts never reach getaddrinfo. */
static void bad_hosts(void) {
  mp_loop *loop = new_loop();
  mp__resolve_hints hints = {.family = AF_UNSPEC};
  char longest[MP__HOST_MAX + 2];
  memset(longest, 'a', sizeof longest);
  const struct {
    const char *host;
    size_t len;
  } bad[] = {{"", 0}, {"local\0host", 10}, {longest, MP__HOST_MAX + 1}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK(mp__resolve_check_host(bad[i].host, bad[i].len) != NULL);
    int err = 0;
    CHECK(mp__resolve_start(loop, bad[i].host, bad[i].len, &hints, on_done, NULL, &err) == NULL);
    CHECK_EQ(err, MP_EINVAL);
  }
  CHECK(mp__resolve_check_host(longest, MP__HOST_MAX) == NULL);
  CHECK(!mp__loop_alive(loop));
  mp__loop_free(loop);
}

/* Holds the only work thread for ms milliseconds. */
typedef struct blocker {
  mp_work work;
  int ms;
} blocker;

static void block(mp_work *w) {
  test_sleep_ms(MP_CONTAINER_OF(w, blocker, work)->ms);
  w->op.result = 0;
}

static void on_blocker(mp_loop *loop, mp_op *op) {
  (void)loop;
  (void)op;
}

static int cancelled;
static void on_cancel_done(mp__resolve *r) {
  if (r->result == MP_ECANCELED) cancelled++;
  calls++;
}

/* Requests queued behind a busy work thread cancel: each done comes once,
 * with MP_ECANCELED. */
static void cancel_queued(void) {
  mp_loop *loop = new_loop();
  loop->work.max_threads = 1;
  blocker b = {.work = {.fn = block, .op = {.cb = on_blocker}}, .ms = 50};
  CHECK_EQ(mp_work_submit(loop, &b.work), 0);
  mp__resolve_hints hints = {.family = AF_UNSPEC, .socktype = SOCK_STREAM};
  mp__resolve *rs[10];
  int err;
  for (int i = 0; i < 10; i++) {
    rs[i] = mp__resolve_start(loop, "localhost", 9, &hints, on_cancel_done, NULL, &err);
    CHECK(rs[i] != NULL);
  }
  for (int i = 0; i < 10; i++)
    mp__resolve_cancel(rs[i]);
  calls = 0;
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(calls, 10);
  CHECK_EQ(cancelled, 10);
  mp__loop_free(loop);
}

static void never_called(mp__resolve *r) {
  (void)r;
  CHECK(!"a freed loop called a request's done");
}

/* The loop goes while requests run and wait: they are freed, not called. */
static void free_in_flight(void) {
  mp_loop *loop = new_loop();
  loop->work.max_threads = 2;
  blocker b = {.work = {.fn = block, .op = {.cb = on_blocker}}, .ms = 20};
  CHECK_EQ(mp_work_submit(loop, &b.work), 0);
  mp__resolve_hints hints = {.family = AF_UNSPEC, .socktype = SOCK_STREAM};
  int err;
  for (int i = 0; i < 20; i++) {
    const char *host = i % 2 ? "localhost" : "127.0.0.1";
    CHECK(mp__resolve_start(loop, host, strlen(host), &hints, never_called, NULL, &err) != NULL);
  }
  mp__loop_free(loop);
}

int main(int argc, char **argv) {
  static const test_case cases[] = {
      {"answers", answers},
      {"bad_hosts", bad_hosts},
      {"cancel_queued", cancel_queued},
      {"free_in_flight", free_in_flight},
      {NULL, NULL},
  };
  return test_main(argc, argv, cases);
}
