/* port.h: the completion port, the seed's five Win32 calls made portable.
 *
 * This is all the core sees of a backend. A port is a queue of completion
 * packets (op, key, bytes) that several threads may wait on at once, in the
 * shape of GetQueuedCompletionStatusEx: a wait returns up to N packets.
 * Packets are posted by the program (PostQueuedCompletionStatus) or produced
 * by the kernel when an overlapped operation on an associated handle ends.
 *
 * Backends: iocp (Windows), uring and epoll (Linux). Each port_*.c fills in
 * one mp_port_backend and keeps its state private.
 */
#ifndef MP_PORT_H
#define MP_PORT_H

#include <stdatomic.h>

#include "moonport.h"

/* A completion packet as a wait returns it. */
typedef struct mp_packet {
  mp_op *op;     /* the op that was posted or completed */
  uintptr_t key; /* the completion key it was posted with */
  uint32_t bytes;
} mp_packet;

/* The common head of every backend's port; backends extend it. */
typedef struct mp_port {
  const struct mp_port_backend *backend;
  /* Linux: kernel I/O, driven by the thread that opened the port through
   * io_poll (see reactor.h). NULL on IOCP, where kernel completions come
   * through wait() like posted packets. */
  struct mp__reactor *reactor;
} mp_port;

/* Ownership: an op handed to post() belongs to the port until a wait()
 * returns its packet; the port never frees an op. Several threads may call
 * post, wait and shutdown at once; open and close belong to one owner. */
typedef struct mp_port_backend {
  const char *name;
  /* 1 if this backend works on this machine and kernel, else 0. */
  int (*available)(void);
  /* Create a port. Returns 0 or an MP_E… code. */
  int (*open)(mp_port **out);
  /* Queue one packet (op, key, bytes). Thread-safe, never blocks for long.
   * Returns 0, or MP_ECLOSED after shutdown (op stays the caller's). */
  int (*post)(mp_port *port, mp_op *op, uintptr_t key, uint32_t bytes);
  /* Take up to max packets, in the order they were posted, waiting up to
   * timeout_ms (< 0: forever) for the first. Thread-safe. Returns the count
   * (0 on timeout) or MP_ECLOSED once the port is shut down. */
  int (*wait)(mp_port *port, mp_packet *out, int max, int64_t timeout_ms);
  /* Wake every waiter with MP_ECLOSED, now and for all later waits and
   * posts. Thread-safe; idempotent. Packets still queued are dropped. */
  void (*shutdown)(mp_port *port);
  /* Free the port. Only after shutdown and after every waiter has returned. */
  void (*close)(mp_port *port);
  /* Ports with a reactor: wait up to timeout_ms (< 0: until an event or
   * io_wake; 0: only collect what is ready) for kernel readiness and finish
   * the ops it unblocks into the reactor's done list. Opening thread only. */
  void (*io_poll)(mp_port *port, int64_t timeout_ms);
  /* Make a running or the next io_poll return. Thread-safe. */
  void (*io_wake)(mp_port *port);
} mp_port_backend;

/* The backends this build has, in order of preference, NULL-terminated. */
extern const mp_port_backend *const mp__port_backends[];

/* Choose a backend: the one named by force (or by the MOONPORT_BACKEND
 * environment variable when force is NULL), else the first available.
 * Returns NULL if the named one is unknown or unavailable. */
const mp_port_backend *mp__port_choose(const char *force);

/* Append the chain first..last (linked by next_) to the list head/tail,
 * which may be empty. The queues of the port and the loop share it. */
static inline void mp__op_chain_append(mp_op **head, mp_op **tail, mp_op *first, mp_op *last) {
  last->next_ = NULL;
  if (*tail) {
    (*tail)->next_ = first;
  } else {
    *head = first;
  }
  *tail = last;
}

/* Reverse the NULL-terminated chain that starts at op, in place; returns
 * its new first op. It turns a lock-free stack (newest first) into
 * arrival order, and a chain into the order such a stack keeps. */
static inline mp_op *mp__op_chain_reverse(mp_op *op) {
  mp_op *reversed = NULL;
  while (op) {
    mp_op *next = op->next_;
    op->next_ = reversed;
    reversed = op;
    op = next;
  }
  return reversed;
}

/* Push the chain top..bottom (newest first, linked by next_) onto a
 * lock-free stack of ops, whose owner takes it whole with atomic_exchange.
 * Returns what the stack held before: NULL if it was empty. seq_cst, so
 * the push can pair with a check on the other side (see its users). */
static inline mp_op *mp__op_stack_push(_Atomic(mp_op *) *stack, mp_op *top, mp_op *bottom) {
  mp_op *old = atomic_load_explicit(stack, memory_order_relaxed);
  do {
    bottom->next_ = old;
  } while (!atomic_compare_exchange_weak(stack, &old, top));
  return old;
}

/* Most packets one wait hands back; a worker's batch. */
#define MP_PORT_BATCH 128

#endif
