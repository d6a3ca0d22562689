/* test_udp.c: the datagram ops of sock.h (UDP) on the port, on the
 * backend MOONPORT_BACKEND names (uring, epoll, iocp), driven by hand
 * through port_harness.h. Traffic stays on 127.0.0.1 and ::1. */
#include "port_harness.h"

/* A UDP socket bound to the loopback address of family, on a port the
 * kernel picks; its address goes to addr. Returns 0, or the bind's error
 * (IPv6 loopback may be missing). */
static int bind_loopback(mp__sock *s, int family, struct sockaddr_storage *addr) {
  CHECK_EQ(mp__sock_open_dgram(s, T.port, family), 0);
  struct sockaddr_storage any;
  memset(&any, 0, sizeof any);
  any.ss_family = family;
  socklen_t len = sizeof(struct sockaddr_in);
  if (family == AF_INET6) {
    ((struct sockaddr_in6 *)&any)->sin6_addr.s6_addr[15] = 1; /* ::1 */
    len = sizeof(struct sockaddr_in6);
  } else {
    ((struct sockaddr_in *)&any)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  int rc =
      mp__sock_bind(s, (struct sockaddr *)&any, len, family == AF_INET6 ? MP__BIND_IPV6ONLY : 0);
  if (rc == 0) CHECK_EQ(mp__sock_address(s, 0, addr), 0);
  return rc;
}

static socklen_t addr_len(const struct sockaddr_storage *a) {
  return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static uint16_t port_of(const struct sockaddr_storage *a) {
  return ntohs(a->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)a)->sin6_port
                                        : ((const struct sockaddr_in *)a)->sin_port);
}

/* Send len bytes of buf from s to addr and check the completion. */
static void send_one(mp__sock *s, const char *buf, size_t len, const struct sockaddr_storage *to) {
  test_op sent = {0};
  mp__datagram d = {.buf = buf,
                    .len = len,
                    .to = to ? (const struct sockaddr *)to : NULL,
                    .to_len = to ? addr_len(to) : 0};
  mp__sock_sendto(s, start(&sent), &d);
  PUMP_UNTIL(sent.completions == 1, 5000);
  CHECK_EQ(sent.op.result, (int)len);
}

/* Wait until s is readable (one completion, result 0). */
static void wait_readable(mp__sock *s) {
  test_op wait = {0};
  mp__sock_wait_readable(s, start(&wait));
  PUMP_UNTIL(wait.completions == 1, 5000);
  CHECK_EQ(wait.op.result, 0);
}

/* Datagrams both ways on family's loopback: whole, in order, with the
 * sender's address; a short buffer truncates and says so; an empty queue
 * says EAGAIN, and a wait then parks until the next datagram. */
static void round_trip(int family) {
  open_port();
  mp__sock a, b;
  struct sockaddr_storage a_addr, b_addr, from;
  CHECK_EQ(bind_loopback(&a, family, &a_addr), 0);
  int rc = bind_loopback(&b, family, &b_addr);
  if (rc == MP_EADDRNOTAVAIL || rc == MP_EAFNOSUPPORT) {
    fprintf(stderr, "skip: no IPv6 loopback here\n");
    exit(SKIP_CODE);
  }
  CHECK_EQ(rc, 0);
  send_one(&a, "first", 5, &b_addr);
  send_one(&a, "", 0, &b_addr);
  send_one(&a, "0123456789", 10, &b_addr);
  wait_readable(&b);
  int truncated = -1;
  CHECK_EQ(mp__sock_recvfrom(&b, scratch, sizeof scratch, &from, &truncated), 5);
  CHECK_EQ(truncated, 0);
  CHECK(memcmp(scratch, "first", 5) == 0);
  CHECK_EQ(from.ss_family, family);
  CHECK_EQ(port_of(&from), port_of(&a_addr));
  CHECK_EQ(mp__sock_recvfrom(&b, scratch, sizeof scratch, &from, &truncated), 0);
  CHECK_EQ(mp__sock_recvfrom(&b, scratch, 4, &from, &truncated), 4);
  CHECK_EQ(truncated, 1);
  CHECK(memcmp(scratch, "0123", 4) == 0);
  CHECK_EQ(mp__sock_recvfrom(&b, scratch, sizeof scratch, &from, &truncated), MP_EAGAIN);

  /* Nothing waits: the zero-byte read parks until a datagram comes. */
  test_op wait = {0};
  mp__sock_wait_readable(&b, start(&wait));
  expect_quiet(30);
  send_one(&b, "back", 4, &a_addr);
  send_one(&a, "again", 5, &b_addr);
  PUMP_UNTIL(wait.completions == 1, 5000);
  CHECK_EQ(wait.op.result, 0);
  CHECK_EQ(mp__sock_recvfrom(&b, scratch, sizeof scratch, &from, &truncated), 5);
  wait_readable(&a);
  CHECK_EQ(mp__sock_recvfrom(&a, scratch, sizeof scratch, &from, &truncated), 4);
  CHECK_EQ(port_of(&from), port_of(&b_addr));
  close_sock(&a);
  close_sock(&b);
  close_port();
}

static void round_trip_ipv4(void) {
  round_trip(AF_INET);
}

static void round_trip_ipv6(void) {
  round_trip(AF_INET6);
}

/* A connected socket whose peer port is closed: the send goes, the ICMP
 * error that comes back wakes the reader, and recvfrom says ECONNREFUSED
 * once; the socket then works on. */
static void connected_refused(void) {
  open_port();
  mp__sock a, gone;
  struct sockaddr_storage a_addr, gone_addr, from;
  CHECK_EQ(bind_loopback(&a, AF_INET, &a_addr), 0);
  CHECK_EQ(bind_loopback(&gone, AF_INET, &gone_addr), 0);
  close_sock(&gone);
  CHECK_EQ(mp__sock_connect_dgram(&a, (struct sockaddr *)&gone_addr, addr_len(&gone_addr)), 0);
  int truncated;
  CHECK_EQ(mp__sock_recvfrom(&a, scratch, sizeof scratch, &from, &truncated), MP_EAGAIN);
  test_op wait = {0};
  mp__sock_wait_readable(&a, start(&wait));
  send_one(&a, "anyone?", 7, NULL);
  PUMP_UNTIL(wait.completions == 1, 5000);
  CHECK_EQ(wait.op.result, 0);
  CHECK_EQ(mp__sock_recvfrom(&a, scratch, sizeof scratch, &from, &truncated), MP_ECONNREFUSED);
  CHECK_EQ(mp__sock_recvfrom(&a, scratch, sizeof scratch, &from, &truncated), MP_EAGAIN);
  close_sock(&a);
  close_port();
}

/* Failures come as the op's one completion: a datagram too big for UDP,
 * a broadcast without SO_BROADCAST (refused locally, nothing is sent). */
static void send_errors(void) {
  open_port();
  mp__sock a;
  struct sockaddr_storage a_addr;
  CHECK_EQ(bind_loopback(&a, AF_INET, &a_addr), 0);
  static char big[70000];
  test_op sent = {0};
  mp__datagram d = {
      .buf = big, .len = sizeof big, .to = (struct sockaddr *)&a_addr, .to_len = addr_len(&a_addr)};
  mp__sock_sendto(&a, start(&sent), &d);
  PUMP_UNTIL(sent.completions == 1, 5000);
  CHECK_EQ(sent.op.result, MP_EMSGSIZE);
  struct sockaddr_in everyone = {
      .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_BROADCAST)};
  d = (mp__datagram){
      .buf = "x", .len = 1, .to = (struct sockaddr *)&everyone, .to_len = sizeof everyone};
  mp__sock_sendto(&a, start(&sent), &d);
  PUMP_UNTIL(sent.completions == 2, 5000);
  CHECK_EQ(sent.op.result, MP_EACCES);
  close_sock(&a);
  close_port();
}

/* Options and multicast membership on loopback; a parked reader ends with
 * ECANCELED when the socket closes. */
static void options_and_close(void) {
  open_port();
  mp__sock a;
  struct sockaddr_storage a_addr;
  CHECK_EQ(bind_loopback(&a, AF_INET, &a_addr), 0);
  CHECK_EQ(mp__sock_set_dgram_opt(&a, MP__DGRAM_BROADCAST, 1), 0);
  CHECK_EQ(mp__sock_set_dgram_opt(&a, MP__DGRAM_MULTICAST_TTL, 4), 0);
  CHECK_EQ(mp__sock_set_dgram_opt(&a, MP__DGRAM_MULTICAST_LOOP, 0), 0);
  struct sockaddr_in group = {.sin_family = AF_INET};
  struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  inet_pton(AF_INET, "239.255.77.80", &group.sin_addr);
  int rc = mp__sock_membership(&a, (struct sockaddr *)&group, (struct sockaddr *)&lo, 1);
  if (rc == 0) {
    CHECK_EQ(mp__sock_set_multicast_if(&a, (struct sockaddr *)&lo), 0);
    CHECK_EQ(mp__sock_membership(&a, (struct sockaddr *)&group, (struct sockaddr *)&lo, 0), 0);
    /* Leaving again fails: EADDRNOTAVAIL on Linux. Wine passes Linux's
     * EADDRNOTAVAIL on as STATUS_INVALID_PARAMETER, which is EINVAL. */
    rc = mp__sock_membership(&a, (struct sockaddr *)&group, (struct sockaddr *)&lo, 0);
    CHECK(rc == MP_EADDRNOTAVAIL || (strcmp(T.b->name, "iocp") == 0 && rc == MP_EINVAL));
  } else {
    fprintf(stderr, "note: no multicast membership on loopback here (%s)\n", mp_err_name(rc));
  }
  /* A new socket's readiness is unknown until a call finds it empty. */
  struct sockaddr_storage from;
  int truncated;
  CHECK_EQ(mp__sock_recvfrom(&a, scratch, sizeof scratch, &from, &truncated), MP_EAGAIN);
  test_op wait = {0}, closed = {0};
  mp__sock_wait_readable(&a, start(&wait));
  pump(0);
  CHECK(wait.in_flight);
  mp__sock_close(&a, start(&closed));
  PUMP_UNTIL(closed.completions == 1, 5000);
  CHECK_DONE(wait, 1, MP_ECANCELED);
  CHECK(closed.order > wait.order);
  close_port();
}

int main(int argc, char **argv) {
  static const test_case cases[] = {
      {"round_trip_ipv4", round_trip_ipv4},     {"round_trip_ipv6", round_trip_ipv6},
      {"connected_refused", connected_refused}, {"send_errors", send_errors},
      {"options_and_close", options_and_close}, {NULL, NULL},
  };
  return test_main(argc, argv, cases);
}
