/* port_uring.c: the completion port on Linux io_uring.
 *
 * liburing is not safe for several submitters or reapers on one ring, so one
 * thread owns the ring (DESIGN.md rule 8): the thread that opens the port,
 * which is the Lua thread. It submits and reaps in io_poll, the reactor of
 * reactor.h: sockets wait for readiness with IORING_OP_POLL_ADD ops, and a
 * multishot poll stays armed on an eventfd so that io_wake (any thread) can
 * end the wait. The eventfd is drained with read(2), not with an io_uring
 * read: on some kernels an io_uring read of a non-blocking eventfd
 * completes at once with -EAGAIN, which would turn every wait into a spin.
 * A socket's read poll is multishot (5.13; edge-triggered, like the epoll
 * backend): armed once, it reports every new arrival, so a connection that
 * reads all day costs no SQE per read. Write polls are one-shot: a writer
 * waits only when the socket's buffer is full. Posted packets never enter the ring: they queue in
 * the packet queue that the workers wait on. Regular files are read,
 * written and synced with IORING_OP_READ, _WRITE and _FSYNC (file.h).
 *
 * Kernel gate: Linux 5.15 (multishot poll came in 5.13; the probe checks for
 * IORING_OP_MKDIRAT, which came in 5.15, the oldest opcode it can see that
 * proves the kernel is new enough). The setup
 * flags are tried in order SINGLE_ISSUER|DEFER_TASKRUN (6.1: completions run
 * only when the owner asks, and no other thread is interrupted), then
 * COOP_TASKRUN (5.19), then none.
 */
/* liburing.h first: it sets the feature macros (_GNU_SOURCE) that the
 * system headers after it read. */
#include <liburing.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "moonport.h"
#include "port/backends.h"
#include "port/packet_queue.h"
#include "port/reactor.h"
#include "port/wake_fd.h"

#define RING_ENTRIES 256
/* user_data of the eventfd's poll, and of ops whose completion says nothing
 * (cancels). Socket polls carry the socket's address, whose two low
 * bits (sockets are pointer-aligned) say which direction it watches. */
#define WAKE_TAG ((uint64_t)0)
#define IGNORE_TAG ((uint64_t)1)
#define EV_MASK ((uint64_t)(MP__EV_READ | MP__EV_WRITE))
/* File ops carry their op's address with both low bits set, which no
 * socket poll has (each watches one direction). */
#define FILE_TAG EV_MASK

typedef struct uring_port {
  mp__pq_port pq; /* first: the port and its packet queue */
  mp__reactor reactor;
  struct io_uring ring;
  int wake_fd;
} uring_port;

static int ring_setup(struct io_uring *ring) {
  static const unsigned flag_sets[] = {
#ifdef IORING_SETUP_DEFER_TASKRUN
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
#endif
#ifdef IORING_SETUP_COOP_TASKRUN
      IORING_SETUP_COOP_TASKRUN,
#endif
      0};
  int rc = -EINVAL;
  for (size_t i = 0; i < sizeof flag_sets / sizeof flag_sets[0]; i++) {
    /* A CQ eight times the SQ: every watched socket may have two polls
     * out, and the kernel must never have to drop a completion. */
    struct io_uring_params params = {.flags = flag_sets[i] | IORING_SETUP_CQSIZE,
                                     .cq_entries = RING_ENTRIES * 8};
    rc = io_uring_queue_init_params(RING_ENTRIES, ring, &params);
    if (rc != -EINVAL) return rc;
  }
  return rc;
}

/* An SQE, submitting what is queued first if the SQ is full. */
static struct io_uring_sqe *get_sqe(uring_port *p) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(&p->ring);
  if (!sqe) {
    io_uring_submit(&p->ring);
    sqe = io_uring_get_sqe(&p->ring);
  }
  return sqe;
}

static int arm_wake_poll(uring_port *p) {
  struct io_uring_sqe *sqe = get_sqe(p);
  if (!sqe) return MP_EBUSY;
  io_uring_prep_poll_multishot(sqe, p->wake_fd, POLLIN);
  io_uring_sqe_set_data64(sqe, WAKE_TAG);
  return 0;
}

/* Cancel the poll of s for ev. ASYNC_CANCEL, not POLL_REMOVE: a removal
 * fails with -EALREADY once the poll has fired, and a multishot poll then
 * stays armed, keeping the socket open in the kernel. */
static void cancel_poll(uring_port *p, mp__sock *s, unsigned ev) {
  struct io_uring_sqe *sqe = get_sqe(p);
  if (!sqe) return; /* the poll then ends when the descriptor closes */
  io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)s | ev, 0);
  io_uring_sqe_set_data64(sqe, IGNORE_TAG);
}

static int uring_watch(mp__reactor *r, mp__sock *s, unsigned ev) {
  uring_port *p = MP_CONTAINER_OF(r, uring_port, reactor);
  if (s->watching & ev) return 0;
  struct io_uring_sqe *sqe = get_sqe(p);
  if (!sqe) return MP_EBUSY;
  if (ev == MP__EV_READ) {
    io_uring_prep_poll_multishot(sqe, s->fd, POLLIN | POLLRDHUP);
  } else {
    io_uring_prep_poll_add(sqe, s->fd, POLLOUT);
  }
  io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)s | ev);
  mp__reactor_set_watching(r, s, s->watching | ev);
  return 0;
}

/* Cancel the socket's polls; their completions (-ECANCELED, or a result
 * that won the race) arrive later and end the close. Submit now, before the
 * caller closes the descriptor whose number a new socket may then reuse. */
static void uring_forget(mp__reactor *r, mp__sock *s) {
  if (!s->watching) return;
  uring_port *p = MP_CONTAINER_OF(r, uring_port, reactor);
  for (unsigned ev = MP__EV_READ; ev <= MP__EV_WRITE; ev <<= 1)
    if (s->watching & ev) cancel_poll(p, s, ev);
  io_uring_submit(&p->ring);
}

static uint64_t file_tag(mp__file_req *req) {
  return (uint64_t)(uintptr_t)&req->work.op | FILE_TAG;
}

static int uring_file_start(mp__reactor *r, mp__file_req *req) {
  uring_port *p = MP_CONTAINER_OF(r, uring_port, reactor);
  struct io_uring_sqe *sqe = get_sqe(p);
  if (!sqe) return MP_EBUSY;
  if (req->kind == MP__FILE_READ) {
    io_uring_prep_read(sqe, req->fd, req->buf, req->len, (uint64_t)req->offset);
  } else if (req->kind == MP__FILE_WRITE) {
    io_uring_prep_write(sqe, req->fd, req->buf, req->len, (uint64_t)req->offset);
  } else {
    io_uring_prep_fsync(sqe, req->fd, 0);
  }
  io_uring_sqe_set_data64(sqe, file_tag(req));
  r->watched++;
  return 0;
}

/* A regular file's read runs to its end once started; the cancel ends it
 * only while it still waits in the kernel (io-wq). */
static void uring_file_cancel(mp__reactor *r, mp__file_req *req) {
  uring_port *p = MP_CONTAINER_OF(r, uring_port, reactor);
  struct io_uring_sqe *sqe = get_sqe(p);
  if (!sqe) return; /* then it just runs to its end */
  io_uring_prep_cancel64(sqe, file_tag(req), 0);
  io_uring_sqe_set_data64(sqe, IGNORE_TAG);
}

static void file_done(uring_port *p, uint64_t tag, int res) {
  p->reactor.watched--;
  mp_op *op = (mp_op *)(uintptr_t)(tag & ~FILE_TAG);
  mp__reactor_complete(&p->reactor, op, res < 0 ? mp_from_errno(-res) : res);
}

/* A poll's completion: which direction it watches, what it found, and
 * whether it goes on watching (a multishot poll's CQE with F_MORE). */
static void poll_done(uring_port *p, uint64_t tag, int res, unsigned flags) {
  mp__sock *s = (mp__sock *)(uintptr_t)(tag & ~EV_MASK);
  unsigned ev = (unsigned)(tag & EV_MASK);
  unsigned ready = 0;
  if (res < 0) {
    /* Cancelled: nothing is ready. Any other error: let the calls see it. */
    ready = res == -ECANCELED ? 0 : MP__EV_READ | MP__EV_WRITE | MP__EV_HUP;
  } else {
    if (res & (POLLIN | POLLRDHUP | POLLERR | POLLHUP)) ready |= MP__EV_READ;
    if (res & (POLLRDHUP | POLLERR | POLLHUP)) ready |= MP__EV_HUP;
    if (res & (POLLOUT | POLLERR | POLLHUP)) ready |= MP__EV_WRITE;
  }
  if (flags & IORING_CQE_F_MORE) {
    /* A report that raced the cancel of a closing socket: cancel again. */
    if (s->closing) cancel_poll(p, s, ev);
    mp__sock_ready(s, ready);
  } else {
    mp__sock_unwatched(s, ev, ready);
  }
}

static void uring_io_poll(mp_port *port, int64_t timeout_ms) {
  uring_port *p = (uring_port *)port;
  if (timeout_ms == 0) {
    io_uring_submit_and_get_events(&p->ring);
  } else if (timeout_ms < 0) {
    io_uring_submit_and_wait(&p->ring, 1);
  } else {
    struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
                                   .tv_nsec = (timeout_ms % 1000) * 1000000};
    struct io_uring_cqe *unused;
    io_uring_submit_and_wait_timeout(&p->ring, &unused, 1, &ts, NULL);
  }
  struct io_uring_cqe *cqe;
  unsigned head, seen = 0;
  int rearm = 0;
  io_uring_for_each_cqe(&p->ring, head, cqe) {
    seen++;
    uint64_t tag = io_uring_cqe_get_data64(cqe);
    if (tag == WAKE_TAG) {
      mp__wake_fd_drain(p->wake_fd);
      if (!(cqe->flags & IORING_CQE_F_MORE)) rearm = 1;
    } else if ((tag & FILE_TAG) == FILE_TAG) {
      file_done(p, tag, cqe->res);
    } else if (tag != IGNORE_TAG) {
      poll_done(p, tag, cqe->res, cqe->flags);
    }
  }
  io_uring_cq_advance(&p->ring, seen);
  if (rearm) arm_wake_poll(p);
}

static void uring_io_wake(mp_port *port) {
  mp__wake_fd_signal(((uring_port *)port)->wake_fd);
}

static int uring_available(void) {
  struct io_uring ring;
  if (io_uring_queue_init(2, &ring, 0) < 0) return 0;
  int ok = 0;
  struct io_uring_probe *probe = io_uring_get_probe_ring(&ring);
  if (probe) {
    /* Multishot poll is a flag, which the probe cannot see: an opcode at
     * least as new stands for it (see the kernel gate above). */
    ok = io_uring_opcode_supported(probe, IORING_OP_MKDIRAT);
    io_uring_free_probe(probe);
  }
  io_uring_queue_exit(&ring);
  return ok;
}

static int uring_open(mp_port **out) {
  uring_port *p = calloc(1, sizeof *p);
  if (!p) return MP_ENOMEM;
  p->wake_fd = mp__wake_fd_open();
  if (p->wake_fd < 0) {
    int err = mp_from_errno(errno);
    free(p);
    return err;
  }
  int rc = ring_setup(&p->ring);
  if (rc < 0) {
    close(p->wake_fd);
    free(p);
    return mp_from_errno(-rc);
  }
  rc = arm_wake_poll(p);
  if (rc == 0) rc = io_uring_submit(&p->ring) < 0 ? MP_EIO : 0;
  if (rc < 0) {
    io_uring_queue_exit(&p->ring);
    close(p->wake_fd);
    free(p);
    return rc;
  }
  mp__pq_init(&p->pq.queue);
  p->reactor.watch = uring_watch;
  p->reactor.forget = uring_forget;
  p->reactor.file_start = uring_file_start;
  p->reactor.file_cancel = uring_file_cancel;
  p->pq.base.backend = &mp__port_uring;
  p->pq.base.reactor = &p->reactor;
  *out = &p->pq.base;
  return 0;
}

static void uring_shutdown(mp_port *port) {
  mp__pq_shutdown(&((uring_port *)port)->pq.queue);
}

static void uring_close(mp_port *port) {
  uring_port *p = (uring_port *)port;
  io_uring_queue_exit(&p->ring);
  mp__pq_destroy(&p->pq.queue);
  close(p->wake_fd);
  free(p);
}

const mp_port_backend mp__port_uring = {
    .name = "uring",
    .available = uring_available,
    .open = uring_open,
    .post = mp__pq_port_post,
    .wait = mp__pq_port_wait,
    .shutdown = uring_shutdown,
    .close = uring_close,
    .io_poll = uring_io_poll,
    .io_wake = uring_io_wake,
};
