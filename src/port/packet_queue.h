/* packet_queue.h: the user-space completion queue behind the Linux ports.
 *
 * IOCP keeps its packet queue in the kernel; on Linux the port keeps it here:
 * an intrusive FIFO of mp_op (linked through op->next_, with key_ and bytes_
 * holding the packet), that any number of threads post to and wait on.
 * A post takes no lock: it pushes onto an atomic stack, which a waiter
 * swaps out whole and turns into FIFO order under the lock. A post wakes a
 * waiter only when it finds the stack empty while a waiter is idle, and
 * only if no wake is already on its way, so a busy port costs neither a
 * lock nor a system call per packet.
 */
#ifndef MP_PACKET_QUEUE_H
#define MP_PACKET_QUEUE_H

#include <stdatomic.h>

#include "platform/platform.h"
#include "port/port.h"

/* Invariants (under lock): head == NULL iff tail == NULL; wakes_pending <=
 * waiters. A thread never sleeps while incoming is non-empty: it counts itself in idle
 * first and then looks at incoming, while a post pushes first and then
 * looks at idle (all seq_cst), so one of the two always sees the other. */
typedef struct mp__pq {
  _Atomic(mp_op *) incoming; /* posts not yet taken, newest first */
  atomic_int idle;           /* threads about to sleep */
  atomic_int closed;
  mp__mutex lock;
  mp__cond cond;
  mp_op *head, *tail; /* taken from incoming, oldest first */
  int waiters;        /* threads asleep in cond */
  int wakes_pending;  /* signals sent that no waiter has taken yet */
} mp__pq;

void mp__pq_init(mp__pq *q);
void mp__pq_destroy(mp__pq *q);
/* Append a chain of ops (first..last, linked by next_, with key_ and bytes_
 * set) as one batch. Returns 0 or MP_ECLOSED. Thread-safe. */
int mp__pq_post_chain(mp__pq *q, mp_op *first, mp_op *last);
/* As mp_port_backend.shutdown. */
void mp__pq_shutdown(mp__pq *q);

/* The head of a port whose packets queue here (uring, epoll): with it, the
 * backend's post and wait are these two, and need no code of its own. */
typedef struct mp__pq_port {
  mp_port base;
  mp__pq queue;
} mp__pq_port;

int mp__pq_port_post(mp_port *port, mp_op *op, uintptr_t key, uint32_t bytes);
int mp__pq_port_wait(mp_port *port, mp_packet *out, int max, int64_t timeout_ms);

#endif
