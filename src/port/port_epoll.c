/* port_epoll.c: the completion port on epoll, for Linux where io_uring is
 * blocked. Readiness is turned into completions by the waiting thread that
 * holds the poller seat (see packet_queue.h); an eventfd stops its wait. */
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "port/backends.h"
#include "port/errno_posix.h"
#include "port/packet_queue.h"

/* wake_fd is registered level-triggered and drained by the poller after
 * each wake, so one write is enough however many posts asked for it. */
typedef struct epoll_port {
  mp__pq_port pq; /* first: the port and its packet queue */
  int epoll_fd;
  int wake_fd;
} epoll_port;

static void epoll_poll(void *ctx, int64_t timeout_ms) {
  epoll_port *p = ctx;
  struct epoll_event events[64];
  int timeout = timeout_ms < 0 ? -1 : timeout_ms > 0x7fffffff ? 0x7fffffff : (int)timeout_ms;
  int n = epoll_wait(p->epoll_fd, events, 64, timeout);
  for (int i = 0; i < n; i++) {
    if (events[i].data.ptr == NULL) {
      uint64_t count;
      /* A failed read means another wake raced us to it: nothing to do. */
      if (read(p->wake_fd, &count, sizeof count) < 0) continue;
    }
  }
}

static void epoll_wake(void *ctx) {
  epoll_port *p = ctx;
  uint64_t one = 1;
  /* EAGAIN means the counter is already non-zero: the poller will wake. */
  if (write(p->wake_fd, &one, sizeof one) < 0) return;
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
  p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (p->epoll_fd < 0 || p->wake_fd < 0 ||
      epoll_ctl(p->epoll_fd, EPOLL_CTL_ADD, p->wake_fd, &ev) < 0) {
    int err = mp__from_errno(errno);
    if (p->epoll_fd >= 0) close(p->epoll_fd);
    if (p->wake_fd >= 0) close(p->wake_fd);
    free(p);
    return err;
  }
  mp__pq_poller poller = {epoll_poll, epoll_wake, p};
  mp__pq_init(&p->pq.queue, &poller);
  p->pq.base.backend = &mp__port_epoll;
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
};
