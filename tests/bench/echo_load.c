/* echo_load.c: load generator for the echo benchmarks (tests/bench/echo.sh).
 *
 *   echo_load HOST PORT N D S T [--warmup SECS] [--server-pid PID]
 *
 * Opens N TCP connections to HOST:PORT and keeps D messages of S bytes in
 * flight on each: a message is done when S more echoed bytes have come back
 * (the echo may arrive in any chunking, so message boundaries are every S
 * bytes of the returned stream), and then the next one is sent. Each send
 * time sits in a ring of D entries per connection; a message's latency runs
 * from when it was queued for sending to when its last byte came back.
 *
 * The first SECS seconds (default 1) warm up and are not counted; then T
 * seconds are measured and the program exits by itself. With --server-pid it
 * also reads that process's CPU time (utime + stime, all threads) from /proc
 * at the edges of the measured window, so the server's CPU cost is that of
 * the counted messages only.
 *
 * One line on stdout at the end (key=value, read by echo.sh):
 *
 *   echo_load: conns=N depth=D size=S msgs=... secs=... msgs_per_s=... mb_per_s=...
 *              p50_us=... p99_us=... max_us=... client_cpu_s=... server_cpu_s=...
 *
 * mb_per_s counts echoed bytes (one direction) in 10^6 bytes. Latencies come
 * from a log-linear histogram (64 steps per power of two, ~1.6% wide), so
 * memory stays fixed however long it runs. server_cpu_s is -1 without
 * --server-pid.
 *
 * The byte stream is a fixed pattern (offset mod 251), checked on the way
 * back: an echo server that drops, duplicates or reorders bytes fails the
 * run instead of producing a number.
 *
 * One thread, epoll (level-triggered), nonblocking sockets, TCP_NODELAY. On
 * the 2-core benchmark machine this process takes about one core and the
 * server the other one, so a server that needs more than one core at full
 * load competes with the load generator; client_cpu_s near secs means the
 * load generator, not the server, may be the limit.
 * Exits 1 with a message on stderr if a connection fails, closes or
 * returns wrong bytes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IO_CHUNK 65536     /* bytes per recv / send call at most */
#define PATTERN_PERIOD 251 /* a prime, so the pattern never lines up with S */
#define CONNECT_TIMEOUT_MS 10000

/* Histogram of latencies in ns: values below 64 have a bucket each; above,
 * each power of two [2^e, 2^(e+1)) is split into 64 equal steps. Values past
 * 2^MAX_EXP ns (~18 minutes) go into the last bucket. */
#define SUB_BITS 6
#define SUB_COUNT (1 << SUB_BITS)
#define MAX_EXP 40
#define BUCKETS (SUB_COUNT + (MAX_EXP - SUB_BITS + 1) * SUB_COUNT)

/* One connection. Invariants: 0 <= inflight <= depth; the send times of the
 * messages in flight are sent_ns[(head + i) % depth] for i < inflight, oldest
 * first; unsent <= inflight * size (bytes of those messages not yet handed to
 * the kernel); rx_partial < size. */
typedef struct conn {
  int fd;
  int want_out;      /* EPOLLOUT is in the interest set */
  uint64_t *sent_ns; /* ring of depth send times */
  size_t head, inflight;
  size_t unsent;     /* bytes still to send */
  size_t rx_partial; /* bytes of the oldest message already back */
  uint64_t tx_off;   /* stream offsets, for the pattern */
  uint64_t rx_off;
} conn;

static struct {
  size_t nconns, depth, size;
  conn *conns;
  int ep;
  int measuring;
  uint64_t msgs; /* messages done while measuring */
  uint64_t hist[BUCKETS];
  uint64_t max_ns;
} g;

/* pattern[i] = i % PATTERN_PERIOD, long enough for any chunk at any phase. */
static unsigned char pattern[IO_CHUNK + PATTERN_PERIOD];
static unsigned char rxbuf[IO_CHUNK];

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("echo_load: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t bucket_of(uint64_t v) {
  if (v < SUB_COUNT) return (size_t)v;
  int e = 63 - __builtin_clzll(v); /* v in [2^e, 2^(e+1)), e >= SUB_BITS */
  if (e > MAX_EXP) return BUCKETS - 1;
  size_t step = (size_t)(v >> (e - SUB_BITS)) - SUB_COUNT;
  return SUB_COUNT + (size_t)(e - SUB_BITS) * SUB_COUNT + step;
}

/* The middle of bucket b, in ns. */
static double bucket_mid(size_t b) {
  if (b < SUB_COUNT) return (double)b;
  size_t e = (b - SUB_COUNT) / SUB_COUNT + SUB_BITS;
  size_t step = (b - SUB_COUNT) % SUB_COUNT;
  double width = (double)(1ull << (e - SUB_BITS));
  return ((double)(SUB_COUNT + step) + 0.5) * width;
}

/* The p-quantile (0 < p <= 1) of the histogram in microseconds, 0 if empty. */
static double quantile_us(double p) {
  uint64_t total = 0;
  for (size_t b = 0; b < BUCKETS; b++)
    total += g.hist[b];
  if (total == 0) return 0;
  uint64_t rank = (uint64_t)(p * (double)total + 0.999999);
  uint64_t seen = 0;
  for (size_t b = 0; b < BUCKETS; b++) {
    seen += g.hist[b];
    if (seen >= rank) return bucket_mid(b) / 1000.0;
  }
  return bucket_mid(BUCKETS - 1) / 1000.0;
}

/* utime + stime of process pid in seconds, or -1 if it cannot be read. */
static double proc_cpu_s(long pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[1024];
  size_t n = fread(line, 1, sizeof line - 1, f);
  fclose(f);
  line[n] = '\0';
  /* The command name may hold spaces and ')': fields start after the last ')'. */
  char *p = strrchr(line, ')');
  unsigned long long utime, stime;
  if (!p ||
      sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
    return -1;
  return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double own_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void set_out_interest(conn *c, int want) {
  if (c->want_out == want) return;
  struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
  if (epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
  c->want_out = want;
}

/* Send what is unsent until done or the kernel's buffer is full; then ask
 * for EPOLLOUT only if something is left. Bounded: each round sends > 0. */
static void flush_out(conn *c) {
  while (c->unsent > 0) {
    size_t len = c->unsent < IO_CHUNK ? c->unsent : IO_CHUNK;
    ssize_t n = send(c->fd, pattern + c->tx_off % PATTERN_PERIOD, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      die("send: %s", strerror(errno));
    }
    c->unsent -= (size_t)n;
    c->tx_off += (uint64_t)n;
  }
  set_out_interest(c, c->unsent > 0);
}

/* Queue one more message on c, sent at time t. */
static void queue_msg(conn *c, uint64_t t) {
  c->sent_ns[(c->head + c->inflight) % g.depth] = t;
  c->inflight++;
  c->unsent += g.size;
}

/* One recv on a readable connection; count finished messages and replace
 * each with a new one. */
static void on_readable(conn *c) {
  ssize_t n = recv(c->fd, rxbuf, sizeof rxbuf, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    die("recv: %s", strerror(errno));
  }
  if (n == 0) die("the server closed a connection");
  if (memcmp(rxbuf, pattern + c->rx_off % PATTERN_PERIOD, (size_t)n) != 0)
    die("the echoed bytes differ from those sent (at stream offset ~%llu)",
        (unsigned long long)c->rx_off);
  c->rx_off += (uint64_t)n;
  uint64_t t = now_ns();
  c->rx_partial += (size_t)n;
  while (c->rx_partial >= g.size) {
    if (c->inflight == 0) die("the server sent back more bytes than it was sent");
    c->rx_partial -= g.size;
    uint64_t lat = t - c->sent_ns[c->head];
    c->head = (c->head + 1) % g.depth;
    c->inflight--;
    if (g.measuring) {
      g.msgs++;
      g.hist[bucket_of(lat)]++;
      if (lat > g.max_ns) g.max_ns = lat;
    }
    queue_msg(c, t);
  }
  if (c->unsent > 0) flush_out(c);
}

/* Open g.nconns nonblocking connections to ai and wait until all are
 * established (or die). */
static void connect_all(const struct addrinfo *ai, const char *host, const char *port) {
  for (size_t i = 0; i < g.nconns; i++) {
    conn *c = &g.conns[i];
    c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) die("socket: %s (connection %zu of %zu)", strerror(errno), i + 1, g.nconns);
    if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
      die("connect to %s port %s failed: %s", host, port, strerror(errno));
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
    c->want_out = 1;
  }
  size_t pending = g.nconns;
  uint64_t deadline = now_ns() + (uint64_t)CONNECT_TIMEOUT_MS * 1000000u;
  struct epoll_event evs[256];
  while (pending > 0) {
    uint64_t t = now_ns();
    if (t >= deadline)
      die("connect to %s port %s: %zu of %zu connections not established after %d ms", host, port,
          pending, g.nconns, CONNECT_TIMEOUT_MS);
    int n = epoll_wait(g.ep, evs, 256, (int)((deadline - t) / 1000000u) + 1);
    if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
      conn *c = evs[i].data.ptr;
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
      if (err) die("connect to %s port %s failed: %s", host, port, strerror(err));
      /* Established: from now on wait for input (and output when needed). */
      set_out_interest(c, 0);
      pending--;
    }
  }
}

static size_t parse_size(const char *s, const char *what) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || v == 0 || v > (1ull << 30))
    die("bad %s: '%s' (a positive integer expected)", what, s);
  return (size_t)v;
}

static double parse_secs(const char *s, const char *what) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || *end || !(v >= 0) || v > 86400) die("bad %s: '%s' (seconds expected)", what, s);
  return v;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: echo_load HOST PORT N D S T [--warmup SECS] [--server-pid PID]\n"
                    "  N connections, D messages in flight on each, S bytes per message,\n"
                    "  T seconds measured after SECS (default 1) of warm-up\n");
    return 2;
  }
  const char *host = argv[1], *port = argv[2];
  g.nconns = parse_size(argv[3], "N (connections)");
  g.depth = parse_size(argv[4], "D (messages in flight)");
  g.size = parse_size(argv[5], "S (message bytes)");
  double secs = parse_secs(argv[6], "T (seconds)");
  double warmup = 1;
  long server_pid = 0;
  for (int i = 7; i < argc; i++) {
    if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
      warmup = parse_secs(argv[++i], "--warmup");
    else if (strcmp(argv[i], "--server-pid") == 0 && i + 1 < argc)
      server_pid = (long)parse_size(argv[++i], "--server-pid");
    else
      die("unknown argument '%s'", argv[i]);
  }
  if (secs <= 0) die("T must be above 0");

  for (size_t i = 0; i < sizeof pattern; i++)
    pattern[i] = (unsigned char)(i % PATTERN_PERIOD);

  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
  struct addrinfo *ai;
  int rc = getaddrinfo(host, port, &hints, &ai);
  if (rc != 0) die("cannot resolve %s port %s: %s", host, port, gai_strerror(rc));

  g.ep = epoll_create1(EPOLL_CLOEXEC);
  if (g.ep < 0) die("epoll_create1: %s", strerror(errno));
  g.conns = calloc(g.nconns, sizeof *g.conns);
  if (!g.conns) die("out of memory");
  for (size_t i = 0; i < g.nconns; i++) {
    g.conns[i].sent_ns = calloc(g.depth, sizeof(uint64_t));
    if (!g.conns[i].sent_ns) die("out of memory");
  }
  connect_all(ai, host, port);
  freeaddrinfo(ai);

  uint64_t start = now_ns();
  for (size_t i = 0; i < g.nconns; i++) {
    conn *c = &g.conns[i];
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (size_t k = 0; k < g.depth; k++)
      queue_msg(c, start);
    flush_out(c);
  }

  uint64_t measure_from = start + (uint64_t)(warmup * 1e9);
  uint64_t measure_to = measure_from + (uint64_t)(secs * 1e9);
  uint64_t measured_at = 0;
  double server_cpu0 = 0, client_cpu0 = 0;
  struct epoll_event evs[256];
  /* Bounded: every round waits at most until the next edge of the window,
   * and the loop ends at measure_to. */
  for (;;) {
    uint64_t t = now_ns();
    if (!g.measuring && t >= measure_from) {
      g.measuring = 1;
      measured_at = t;
      server_cpu0 = server_pid ? proc_cpu_s(server_pid) : 0;
      client_cpu0 = own_cpu_s();
    }
    if (t >= measure_to) break;
    uint64_t edge = g.measuring ? measure_to : measure_from;
    int timeout_ms = (int)((edge - t) / 1000000u) + 1;
    int n = epoll_wait(g.ep, evs, 256, timeout_ms);
    if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
      conn *c = evs[i].data.ptr;
      if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
      if (evs[i].events & EPOLLOUT) flush_out(c);
    }
  }
  uint64_t end = now_ns();
  double client_cpu = own_cpu_s() - client_cpu0;
  double server_cpu = -1;
  if (server_pid) {
    double s1 = proc_cpu_s(server_pid);
    if (server_cpu0 < 0 || s1 < 0)
      die("cannot read the CPU time of process %ld from /proc", server_pid);
    server_cpu = s1 - server_cpu0;
  }

  double elapsed = (double)(end - measured_at) / 1e9;
  printf("echo_load: conns=%zu depth=%zu size=%zu msgs=%llu secs=%.3f msgs_per_s=%.0f "
         "mb_per_s=%.2f p50_us=%.1f p99_us=%.1f max_us=%.1f client_cpu_s=%.2f "
         "server_cpu_s=%.2f\n",
         g.nconns, g.depth, g.size, (unsigned long long)g.msgs, elapsed, (double)g.msgs / elapsed,
         (double)g.msgs * (double)g.size / 1e6 / elapsed, quantile_us(0.50), quantile_us(0.99),
         (double)g.max_ns / 1000.0, client_cpu, server_cpu);
  if (g.msgs == 0) die("no message came back in %.1f s", elapsed);
  return 0;
}
