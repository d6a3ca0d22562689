/* port_uring.c: the completion port on Linux io_uring.
 *
 * liburing is not safe for several submitters or reapers on one ring, so one
 * thread owns the ring (DESIGN.md rule 8): it submits, waits, and hands CQE
 * batches to the user-space packet queue that the port's waiters sleep on.
 * Other threads reach it through an eventfd that the owner keeps a read
 * armed on. Posted packets skip the ring and go straight to the queue: they
 * have no kernel work to do, and the queue is where completions meet.
 *
 * Kernel gate: Linux 5.6 (IORING_OP_READ, used on the eventfd). The setup
 * flags are tried in order SINGLE_ISSUER|DEFER_TASKRUN (6.1: completions are
 * run only when the owner asks, no interrupts of other threads), then
 * COOP_TASKRUN (5.19), then none.
 */
#include <liburing.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "port/backends.h"
#include "port/errno_posix.h"
#include "port/packet_queue.h"

#define RING_ENTRIES 256
#define WAKE_TAG ((uint64_t)0) /* user_data of the eventfd read */

/* The ring is touched only by the owner thread, from its creation inside
 * owner_main to io_uring_queue_exit there. */
typedef struct uring_port {
  mp__pq_port pq; /* first: the port and its packet queue */
  struct io_uring ring;
  mp__thread owner;
  int wake_fd;
  atomic_int stopping;
  uint64_t wake_buf; /* target of the armed eventfd read */
  /* Start-up handshake: the owner reports the ring's setup result. */
  mp__mutex start_lock;
  mp__cond started;
  int start_state; /* 0: pending, 1: done */
  int start_result;
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
    struct io_uring_params params = {.flags = flag_sets[i] | IORING_SETUP_CQSIZE,
                                     .cq_entries = RING_ENTRIES * 8};
    rc = io_uring_queue_init_params(RING_ENTRIES, ring, &params);
    if (rc != -EINVAL) return rc;
  }
  return rc;
}

static int arm_wake_read(uring_port *p) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(&p->ring);
  if (!sqe) {
    io_uring_submit(&p->ring);
    sqe = io_uring_get_sqe(&p->ring);
    if (!sqe) return -EBUSY;
  }
  io_uring_prep_read(sqe, p->wake_fd, &p->wake_buf, sizeof p->wake_buf, 0);
  io_uring_sqe_set_data64(sqe, WAKE_TAG);
  return 0;
}

static void report_start(uring_port *p, int result) {
  mp__mutex_lock(&p->start_lock);
  p->start_state = 1;
  p->start_result = result;
  mp__cond_signal(&p->started);
  mp__mutex_unlock(&p->start_lock);
}

static void owner_main(void *arg) {
  uring_port *p = arg;
  int rc = ring_setup(&p->ring);
  if (rc == 0) {
    rc = arm_wake_read(p);
    if (rc < 0) io_uring_queue_exit(&p->ring);
  }
  report_start(p, rc < 0 ? mp__from_errno(-rc) : 0);
  if (rc < 0) return;

  while (!atomic_load(&p->stopping)) {
    rc = io_uring_submit_and_wait(&p->ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) break;
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    int rearm = 0;
    io_uring_for_each_cqe(&p->ring, head, cqe) {
      seen++;
      if (io_uring_cqe_get_data64(cqe) == WAKE_TAG) rearm = 1;
    }
    io_uring_cq_advance(&p->ring, seen);
    if (rearm && !atomic_load(&p->stopping) && arm_wake_read(p) < 0) break;
  }
  io_uring_queue_exit(&p->ring);
}

static int uring_available(void) {
  struct io_uring ring;
  if (io_uring_queue_init(2, &ring, 0) < 0) return 0;
  int ok = 0;
  struct io_uring_probe *probe = io_uring_get_probe_ring(&ring);
  if (probe) {
    ok = io_uring_opcode_supported(probe, IORING_OP_READ);
    io_uring_free_probe(probe);
  }
  io_uring_queue_exit(&ring);
  return ok;
}

static void uring_wake_owner(uring_port *p) {
  uint64_t one = 1;
  /* EAGAIN means the counter is already non-zero: the owner will wake. */
  if (write(p->wake_fd, &one, sizeof one) < 0) return;
}

static void uring_free(uring_port *p) {
  mp__pq_destroy(&p->pq.queue);
  mp__cond_destroy(&p->started);
  mp__mutex_destroy(&p->start_lock);
  close(p->wake_fd);
  free(p);
}

static int uring_open(mp_port **out) {
  uring_port *p = calloc(1, sizeof *p);
  if (!p) return MP_ENOMEM;
  p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (p->wake_fd < 0) {
    int err = mp__from_errno(errno);
    free(p);
    return err;
  }
  mp__pq_init(&p->pq.queue, NULL);
  mp__mutex_init(&p->start_lock);
  mp__cond_init(&p->started);
  atomic_init(&p->stopping, 0);
  int rc = mp__thread_start(&p->owner, owner_main, p);
  if (rc < 0) {
    uring_free(p);
    return rc;
  }
  mp__mutex_lock(&p->start_lock);
  while (!p->start_state)
    mp__cond_wait(&p->started, &p->start_lock, -1);
  rc = p->start_result;
  mp__mutex_unlock(&p->start_lock);
  if (rc < 0) {
    mp__thread_join(p->owner);
    uring_free(p);
    return rc;
  }
  p->pq.base.backend = &mp__port_uring;
  *out = &p->pq.base;
  return 0;
}

static void uring_shutdown(mp_port *port) {
  uring_port *p = (uring_port *)port;
  mp__pq_shutdown(&p->pq.queue);
  atomic_store(&p->stopping, 1);
  uring_wake_owner(p);
}

static void uring_close(mp_port *port) {
  uring_port *p = (uring_port *)port;
  mp__thread_join(p->owner);
  uring_free(p);
}

const mp_port_backend mp__port_uring = {
    .name = "uring",
    .available = uring_available,
    .open = uring_open,
    .post = mp__pq_port_post,
    .wait = mp__pq_port_wait,
    .shutdown = uring_shutdown,
    .close = uring_close,
};
