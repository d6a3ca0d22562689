/* idle_conns.c: open N idle TCP connections to a server and hold them, so
 * tests/bench/echo.sh can read the server's memory per idle connection.
 *
 *   idle_conns HOST PORT N [HOLD_SECS]
 *
 * Raises its own descriptor limit (RLIMIT_NOFILE) to the hard limit, opens
 * the connections in batches (nonblocking connects, so a slow server costs
 * a timeout instead of a hang), prints "connected N" once every connection
 * is established, then sends nothing and holds them for HOLD_SECS (default
 * 60) or until killed (SIGTERM/SIGINT end it at once; the kernel closes the
 * sockets).
 *
 * "Established" is the client's view: the server may still have some in its
 * accept queue, so echo.sh also waits until the server holds N more
 * descriptors. Exits 1 with a message if the limit is too low or a
 * connection fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256 /* connects in flight at once, below the usual backlog of 511 */
#define BATCH_TIMEOUT_MS 10000
#define SPARE_FDS 16 /* stdio, epoll and friends */

static void die(const char *what, const char *detail) {
  fprintf(stderr, "idle_conns: %s: %s\n", what, detail);
  exit(1);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Raise the soft descriptor limit to the hard one; die if still below need. */
static void raise_fd_limit(unsigned long need) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) die("getrlimit", strerror(errno));
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) die("setrlimit", strerror(errno));
  }
  if (rl.rlim_cur < need) {
    char msg[128];
    snprintf(msg, sizeof msg, "hard limit %llu, %lu needed (raise it: ulimit -Hn as root)",
             (unsigned long long)rl.rlim_cur, need);
    die("too few file descriptors", msg);
  }
}

/* Connect fds[0..n) (already nonblocking sockets) to ai and wait until all
 * are established. */
static void connect_batch(int ep, const int *fds, size_t n, const struct addrinfo *ai) {
  for (size_t i = 0; i < n; i++) {
    if (connect(fds[i], ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
      die("connect", strerror(errno));
    struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fds[i]};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) die("epoll_ctl", strerror(errno));
  }
  size_t pending = n;
  long long deadline = now_ms() + BATCH_TIMEOUT_MS;
  struct epoll_event evs[BATCH];
  while (pending > 0) {
    long long left = deadline - now_ms();
    if (left <= 0) die("connect", "timed out (is the server accepting?)");
    int got = epoll_wait(ep, evs, BATCH, (int)left);
    if (got < 0 && errno != EINTR) die("epoll_wait", strerror(errno));
    for (int i = 0; i < got; i++) {
      int fd = evs[i].data.fd, err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
      if (err) die("connect", strerror(err));
      /* Established: stop watching it; it stays open and idle. */
      epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
      pending--;
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: idle_conns HOST PORT N [HOLD_SECS]\n");
    return 2;
  }
  char *end;
  unsigned long n = strtoul(argv[3], &end, 10);
  if (*end || n == 0 || n > 1000000) die("bad N", argv[3]);
  unsigned long hold = 60;
  if (argc == 5) {
    hold = strtoul(argv[4], &end, 10);
    if (*end) die("bad HOLD_SECS", argv[4]);
  }
  raise_fd_limit(n + SPARE_FDS);

  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
  struct addrinfo *ai;
  int rc = getaddrinfo(argv[1], argv[2], &hints, &ai);
  if (rc != 0) die("getaddrinfo", gai_strerror(rc));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1", strerror(errno));

  int fds[BATCH];
  for (unsigned long done = 0; done < n;) {
    size_t batch = n - done < BATCH ? (size_t)(n - done) : BATCH;
    for (size_t i = 0; i < batch; i++) {
      fds[i] = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fds[i] < 0) die("socket", strerror(errno));
    }
    connect_batch(ep, fds, batch, ai);
    done += batch;
  }
  freeaddrinfo(ai);
  printf("connected %lu\n", n);
  fflush(stdout);

  /* Hold. Signals keep their default action: SIGTERM/SIGINT end the process. */
  struct timespec ts = {.tv_sec = (time_t)hold};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
  return 0;
}
