/* reactor.h: the Linux ports' kernel side, run by the Lua thread.
 *
 * Kernel I/O on Linux is readiness-driven (see sock.h), and the thread
 * that waits for readiness is the Lua thread itself: when it has nothing
 * to run it sleeps in the backend's io_poll (epoll_wait, or io_uring's
 * submit-and-wait), and ready sockets finish their parked ops right there,
 * into the reactor's done list. No other thread touches a socket, and a
 * completion reaches its callback without crossing threads. The port's
 * workers still carry posted packets (timers, mp_post); when one hands a
 * batch to a Lua thread that sleeps in io_poll, io_wake stops the poll.
 */
#ifndef MP_REACTOR_H
#define MP_REACTOR_H

#include "port/file.h"
#include "port/sock.h"

typedef struct mp__reactor {
  mp_op *done_head, *done_tail; /* completed ops, not yet handed to the loop */
  /* Sockets the kernel watches (watching != 0), and file ops in the ring.
   * With none, nothing can become ready: the loop skips io_poll while it
   * has other work. */
  int watched;
  /* Make the kernel report ev (MP__EV_…) on s when it becomes ready, at
   * least once after this call. Returns 0 or an MP_E… code. */
  int (*watch)(struct mp__reactor *r, mp__sock *s, unsigned ev);
  /* s is closing: stop watching it. Sockets still watched afterwards (a
   * cancel on its way) are reported through mp__sock_unwatched. */
  void (*forget)(struct mp__reactor *r, mp__sock *s);
  /* Ports that can do file I/O in the kernel (io_uring); NULL on epoll.
   * Start req's read, write or fsync (file.h) so that req->work.op
   * completes through the done list; it counts in watched while in
   * flight, so that the loop polls for it. Returns 0, or MP_EBUSY when
   * the ring has no room even after a submit (nothing was started). */
  int (*file_start)(struct mp__reactor *r, struct mp__file_req *req);
  /* Ask the kernel to end req early (it still completes once). */
  void (*file_cancel)(struct mp__reactor *r, struct mp__file_req *req);
} mp__reactor;

/* Queue op's completion with result. */
static inline void mp__reactor_complete(mp__reactor *r, mp_op *op, int result) {
  op->result = result;
  op->key_ = 0;
  op->bytes_ = 0;
  mp__op_chain_append(&r->done_head, &r->done_tail, op, op);
}

/* Take every completed op as a chain, oldest first (NULL if none). Inline,
 * so that the loop links on ports without a reactor (IOCP) too. */
static inline mp_op *mp__reactor_take(mp__reactor *r, mp_op **tail) {
  mp_op *head = r->done_head;
  *tail = r->done_tail;
  r->done_head = r->done_tail = NULL;
  return head;
}

#ifndef _WIN32 /* the sockets' side: only Linux's mp__sock has readiness */
/* Set what the backend watches on s, keeping r->watched in step. */
static inline void mp__reactor_set_watching(mp__reactor *r, mp__sock *s, unsigned bits) {
  r->watched += (bits != 0) - (s->watching != 0);
  s->watching = (uint8_t)bits;
}

/* From a backend's io_poll: the kernel reports ev ready on s. */
void mp__sock_ready(mp__sock *s, unsigned ev);
/* From a backend: it no longer watches ev on s (a one-shot watch fired or
 * was cancelled); ready is what it found (0 if cancelled). */
void mp__sock_unwatched(mp__sock *s, unsigned ev, unsigned ready);
#endif

#endif
