/* timers.h: one-shot timers whose expiry is posted to the port.
 *
 * Armed timers sit in a heap that the timer thread sleeps on. At expiry it
 * moves them to a ready chain and posts the loop's one timer packet to the
 * completion port (PostQueuedCompletionStatus) unless that packet is already
 * on its way; the Lua thread, dispatching the packet, takes the whole chain
 * and queues each timer's own op for dispatch, in expiry order. With one packet in flight
 * at a time, expiries keep their order however many workers relay packets,
 * and no expiry allocates. A cancelled timer comes back through the same
 * chain, so every start has exactly one callback.
 */
#ifndef MP_TIMERS_H
#define MP_TIMERS_H

#include "moonport.h"
#include "platform/platform.h"
#include "core/timer_heap.h"

/* Owned by its issuer. From mp__timer_start until its callback it belongs to
 * the timer thread: it must not move or be freed, and must not be started
 * again. The callback (op.cb) comes exactly once per start, with op.result
 * 0 (expired), MP_ECANCELED (mp__timer_cancel reached it first) or
 * MP_ENOMEM (the heap could not grow). */
struct mp__timer {
  mp_op op;            /* op.next_ links the ready chain */
  uint64_t due;        /* ns on mp__now_ns's clock */
  uint32_t heap_index; /* private: slot in the heap, or MP__TIMER_NOT_IN_HEAP */
  uint32_t seq;        /* private: arm order */
};

/* Everything here is under lock: the Lua thread arms and cancels in the
 * heap directly (so a cancel never races a timer that has already left),
 * the timer thread moves expired timers to the ready chain. */
typedef struct mp__timers {
  mp__mutex lock;
  mp__cond cond;
  mp__timer_heap heap;
  mp_op *ready_head, *ready_tail; /* ops of expired or cancelled timers, for the Lua thread */
  int packet_posted;              /* the timer packet is in the port or being dispatched */
  int sleeping;                   /* the timer thread waits in cond, unsignalled */
  int quit;
  uint64_t sleeping_until; /* while sleeping: the due it waits for */
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
