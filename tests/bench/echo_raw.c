/* echo_raw.c: the reference echo server of tests/bench/echo.sh: what a
 * competent C programmer writes without a library. One thread, epoll
 * (level-triggered), nonblocking sockets, one 64 KiB read buffer shared by
 * every connection.
 *
 *   echo_raw PORT [HOST]     (HOST default 127.0.0.1; PORT 0 picks a free one)
 *
 * Prints "listening on HOST PORT" (the real port) once it accepts.
 *
 * Each readable event gets one read, written straight back. What the kernel
 * does not take is copied into the connection's own buffer, and the
 * connection stops reading (waits for EPOLLOUT only) until that is sent: at
 * most one read's worth is ever buffered per connection, and a client that
 * does not read slows down instead of growing the server. An idle connection
 * costs one small struct.
 *
 * Socket options stay the defaults (no TCP_NODELAY), as in
 * examples/echo_server.lua and echo_luv.lua, so every server runs under the
 * same TCP; on loopback with these loads Nagle made no measurable difference.
 * Out of descriptors (EMFILE), it stops accepting until a connection closes.
 * Runs until killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_BUF 65536
#define MAX_EVENTS 256

/* One accepted connection. pending is NULL or holds bytes read but not yet
 * written back, pending[off..len); while it is not NULL the connection waits
 * for EPOLLOUT instead of EPOLLIN. */
typedef struct conn {
  int fd;
  char *pending;
  size_t off, len;
} conn;

static int ep;
static int listen_fd;
static int accept_paused; /* after EMFILE/ENFILE, until a connection closes */
static char buf[READ_BUF];

static void fail(const char *what) {
  fprintf(stderr, "echo_raw: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void watch(int op, int fd, unsigned events, void *ptr) {
  struct epoll_event ev = {.events = events, .data.ptr = ptr};
  if (epoll_ctl(ep, op, fd, &ev) < 0) fail("epoll_ctl");
}

static void conn_close(conn *c) {
  close(c->fd); /* also removes it from the epoll set */
  free(c->pending);
  free(c);
  if (accept_paused) {
    accept_paused = 0;
    watch(EPOLL_CTL_MOD, listen_fd, EPOLLIN, NULL);
  }
}

/* Write data[0..len) to c; keep what the kernel does not take. Returns -1
 * if the connection failed (and is closed). */
static int send_or_keep(conn *c, const char *data, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = send(c->fd, data + done, len - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      conn_close(c);
      return -1;
    }
    done += (size_t)n;
  }
  if (done == len) return 0;
  c->pending = malloc(len - done);
  if (!c->pending) {
    conn_close(c);
    return -1;
  }
  memcpy(c->pending, data + done, len - done);
  c->off = 0;
  c->len = len - done;
  watch(EPOLL_CTL_MOD, c->fd, EPOLLOUT, c);
  return 0;
}

static void on_readable(conn *c) {
  ssize_t n = read(c->fd, buf, sizeof buf);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) conn_close(c);
    return;
  }
  if (n == 0) {
    conn_close(c);
    return;
  }
  send_or_keep(c, buf, (size_t)n);
}

static void on_writable(conn *c) {
  while (c->off < c->len) {
    ssize_t n = send(c->fd, c->pending + c->off, c->len - c->off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      conn_close(c);
      return;
    }
    c->off += (size_t)n;
  }
  free(c->pending);
  c->pending = NULL;
  watch(EPOLL_CTL_MOD, c->fd, EPOLLIN, c);
}

/* Accept everything waiting; bounded by the listen backlog. */
static void on_accept(void) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        fprintf(stderr, "echo_raw: accept: %s: paused until a connection closes\n",
                strerror(errno));
        accept_paused = 1;
        watch(EPOLL_CTL_MOD, listen_fd, 0, NULL);
        return;
      }
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return; /* EAGAIN: nothing left; anything else: try again on the next event */
    }
    conn *c = calloc(1, sizeof *c);
    if (!c) {
      close(fd);
      continue;
    }
    c->fd = fd;
    watch(EPOLL_CTL_ADD, fd, EPOLLIN, c);
  }
}

static void listen_on(const char *host, const char *port) {
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *ai;
  int rc = getaddrinfo(host, port, &hints, &ai);
  if (rc != 0) {
    fprintf(stderr, "echo_raw: %s port %s: %s\n", host, port, gai_strerror(rc));
    exit(1);
  }
  listen_fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd < 0) fail("socket");
  int one = 1;
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listen_fd, ai->ai_addr, ai->ai_addrlen) < 0) fail("bind");
  freeaddrinfo(ai);
  if (listen(listen_fd, 511) < 0) fail("listen");

  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(listen_fd, (struct sockaddr *)&ss, &len) < 0) fail("getsockname");
  char name[INET6_ADDRSTRLEN];
  int real_port;
  if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    inet_ntop(AF_INET6, &a->sin6_addr, name, sizeof name);
    real_port = ntohs(a->sin6_port);
  } else {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    inet_ntop(AF_INET, &a->sin_addr, name, sizeof name);
    real_port = ntohs(a->sin_port);
  }
  printf("listening on %s %d\n", name, real_port);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: echo_raw PORT [HOST]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) fail("epoll_create1");
  listen_on(argc > 2 ? argv[2] : "127.0.0.1", argv[1]);
  watch(EPOLL_CTL_ADD, listen_fd, EPOLLIN, NULL);

  struct epoll_event evs[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      conn *c = evs[i].data.ptr;
      if (!c)
        on_accept();
      else if (c->pending)
        on_writable(c); /* also reports errors/hang-ups through send */
      else
        on_readable(c);
    }
  }
}
