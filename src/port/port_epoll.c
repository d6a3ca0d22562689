/* port_epoll.c: the completion port on epoll, for Linux where io_uring is
 * blocked. Posted packets queue in the packet queue that the workers wait
 * on; sockets are watched by the Lua thread's io_poll (see reactor.h).
 *
 * Each socket is registered once, edge-triggered, for both directions, on
 * the first op that has to wait. TCP wakes writers only after a send found
 * the buffer full, so keeping EPOLLOUT registered costs no wake-ups while
 * nothing waits to write, and saves an epoll_ctl on every write that
 * blocks: the intent of "ask for writability only while a write waits"
 * (DESIGN.md rule 9) at one system call per socket instead of two per
 * blocked write. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "moonport.h"
#include "port/backends.h"
#include "port/packet_queue.h"
#include "port/reactor.h"
#include "port/wake_fd.h"

#define POLL_BATCH 256

/* wake_fd is registered level-triggered and drained by io_poll after each
 * wake (wake_fd.h). */
typedef struct epoll_port {
  mp__pq_port pq; /* first: the port and its packet queue */
  mp__reactor reactor;
  int epoll_fd;
  int wake_fd;
} epoll_port;

static int epoll_watch(mp__reactor *r, mp__sock *s, unsigned ev) {
  (void)ev;
  if (s->watching) return 0;
  epoll_port *p = MP_CONTAINER_OF(r, epoll_port, reactor);
  struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = s};
  if (epoll_ctl(p->epoll_fd, EPOLL_CTL_ADD, s->fd, &e) < 0) return mp_from_errno(errno);
  mp__reactor_set_watching(r, s, MP__EV_READ | MP__EV_WRITE);
  return 0;
}

/* After EPOLL_CTL_DEL no event names s again, and the events already
 * fetched were handled inside the io_poll that fetched them. */
static void epoll_forget(mp__reactor *r, mp__sock *s) {
  if (!s->watching) return;
  epoll_port *p = MP_CONTAINER_OF(r, epoll_port, reactor);
  struct epoll_event unused = {0};
  epoll_ctl(p->epoll_fd, EPOLL_CTL_DEL, s->fd, &unused);
  mp__reactor_set_watching(r, s, 0);
}

static void epoll_io_poll(mp_port *port, int64_t timeout_ms) {
  epoll_port *p = (epoll_port *)port;
  struct epoll_event events[POLL_BATCH];
  int timeout = timeout_ms < 0 ? -1 : timeout_ms > 0x7fffffff ? 0x7fffffff : (int)timeout_ms;
  int n = epoll_wait(p->epoll_fd, events, POLL_BATCH, timeout);
  for (int i = 0; i < n; i++) {
    mp__sock *s = events[i].data.ptr;
    if (!s) {
      mp__wake_fd_drain(p->wake_fd);
      continue;
    }
    uint32_t e = events[i].events;
    unsigned ev = 0;
    /* Errors and hang-ups end reads and writes alike: let both calls see them. */
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) ev |= MP__EV_READ;
    if (e & (EPOLLRDHUP | EPOLLERR | EPOLLHUP)) ev |= MP__EV_HUP;
    if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) ev |= MP__EV_WRITE;
    mp__sock_ready(s, ev);
  }
}

static void epoll_io_wake(mp_port *port) {
  mp__wake_fd_signal(((epoll_port *)port)->wake_fd);
}

static int epoll_available(void) {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return 0;
  close(fd);
  return 1;
}

static int epoll_open(mp_port **out) {
  epoll_port *p = calloc(1, sizeof *p);
  if (!p) return MP_ENOMEM;
  p->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  p->wake_fd = mp__wake_fd_open();
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (p->epoll_fd < 0 || p->wake_fd < 0 ||
      epoll_ctl(p->epoll_fd, EPOLL_CTL_ADD, p->wake_fd, &ev) < 0) {
    int err = mp_from_errno(errno);
    if (p->epoll_fd >= 0) close(p->epoll_fd);
    if (p->wake_fd >= 0) close(p->wake_fd);
    free(p);
    return err;
  }
  mp__pq_init(&p->pq.queue);
  p->reactor.watch = epoll_watch;
  p->reactor.forget = epoll_forget;
  p->pq.base.backend = &mp__port_epoll;
  p->pq.base.reactor = &p->reactor;
  *out = &p->pq.base;
  return 0;
}

static void epoll_shutdown(mp_port *port) {
  mp__pq_shutdown(&((epoll_port *)port)->pq.queue);
}

static void epoll_close(mp_port *port) {
  epoll_port *p = (epoll_port *)port;
  mp__pq_destroy(&p->pq.queue);
  close(p->wake_fd);
  close(p->epoll_fd);
  free(p);
}

const mp_port_backend mp__port_epoll = {
    .name = "epoll",
    .available = epoll_available,
    .open = epoll_open,
    .post = mp__pq_port_post,
    .wait = mp__pq_port_wait,
    .shutdown = epoll_shutdown,
    .close = epoll_close,
    .io_poll = epoll_io_poll,
    .io_wake = epoll_io_wake,
};
