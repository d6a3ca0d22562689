/* timers.h: one-shot timers whose expiry is posted to the port.
 *
 * The Lua thread arms a timer by pushing it on a lock-free incoming list;
 * the timer thread moves incoming timers into its heap and sleeps until the
 * earliest is due (it is woken only when a new timer is due before that).
 * At expiry it moves them to a ready chain and posts the loop's one timer
 * packet to the completion port (PostQueuedCompletionStatus) unless that
 * packet is already on its way; the Lua thread, dispatching the packet,
 * takes the whole chain and queues each timer's own op for dispatch, in
 * expiry order. With one packet in flight at a time, expiries keep their
 * order however many workers relay packets, and no expiry allocates. A
 * cancelled timer comes back through the same chain, so every start has
 * exactly one callback.
 */
#ifndef MP_TIMERS_H
#define MP_TIMERS_H

#include <stdatomic.h>

#include "core/timer_heap.h"
#include "moonport.h"
#include "platform/platform.h"

/* heap_index of a timer on the incoming list, and of one cancelled there. */
#define MP__TIMER_INCOMING (MP__TIMER_NOT_IN_HEAP - 1)
#define MP__TIMER_INCOMING_CANCELLED (MP__TIMER_NOT_IN_HEAP - 2)

/* Owned by its issuer. From mp__timer_start until its callback it belongs to
 * the timer thread: it must not move or be freed, and must not be started
 * again. The callback (op.cb) comes exactly once per start, with op.result
 * 0 (expired), MP_ECANCELED (mp__timer_cancel reached it first) or
 * MP_ENOMEM (the heap could not grow). */
struct mp__timer {
  mp_op op;            /* op.next_ links the ready chain */
  uint64_t due;        /* ns on mp__now_ns's clock */
  uint32_t heap_index; /* private: slot in the heap, or MP__TIMER_NOT_IN_HEAP */
  int32_t user;        /* the issuer's: the core never touches it */
};

/* Everything but incoming and wake_below is under lock, and so is every
 * timer's heap_index once it is on the incoming list: a cancel, under the
 * lock, finds a timer on the list, in the heap or gone, never in between. */
typedef struct mp__timers {
  mp__mutex lock;
  mp__cond cond;
  mp__timer_heap heap;
  mp_op *ready_head, *ready_tail; /* ops of expired or cancelled timers, for the Lua thread */
  int packet_posted;              /* the timer packet is in the port or being dispatched */
  int sleeping;                   /* the timer thread waits in cond, unsignalled */
  int quit;
  /* Arms from the Lua thread, newest first, linked by op.next_: pushed
   * without the lock, moved into the heap by the timer thread. */
  _Atomic(mp_op *) incoming;
  /* A newly armed timer due before this must wake the timer thread: the
   * due it sleeps until, or 0 while it is awake (it will look at incoming
   * before it sleeps). Arming and this check form a Dekker pair with the
   * timer thread's store and its look at incoming: both seq_cst, so one
   * of the two sides always sees the other. */
  _Atomic uint64_t wake_below;
  mp_op packet;
  mp__thread thread;
  mp_loop *loop;
} mp__timers;

int mp__timers_init(mp__timers *ts, mp_loop *loop);
/* Stop and join the timer thread. Timers still armed get no callback. */
void mp__timers_close(mp__timers *ts);

/* Arm t to expire at due (ns, mp__now_ns's clock); cb gets &t->op. Lua thread. */
void mp__timer_start(mp_loop *loop, mp__timer *t, uint64_t due, mp_op_cb cb);
/* Ask for t's early end. Its callback still comes, exactly once, with
 * MP_ECANCELED unless it had already expired. Lua thread. */
void mp__timer_cancel(mp_loop *loop, mp__timer *t);

#endif
