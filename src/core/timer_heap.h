/* timer_heap.h: a 4-ary min-heap of timers by (due, arm order). Each timer
 * knows its slot, so removal is O(log n). Not thread-safe: see timers.h. */
#ifndef MP_TIMER_HEAP_H
#define MP_TIMER_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct mp__timer mp__timer;

#define MP__TIMER_NOT_IN_HEAP UINT32_MAX

/* A slot keeps its timer's sort key inline, so sifting compares without
 * touching the timers themselves (a cache miss each in a big heap). The arm
 * order lives here rather than in the timer: slots exist only while armed,
 * and every byte of an armed timer is paid for by every timer. */
typedef struct mp__timer_slot {
  uint64_t due;
  uint32_t seq;
  mp__timer *t;
} mp__timer_slot;

typedef struct mp__timer_heap {
  mp__timer_slot *slots;
  size_t count, capacity;
  uint32_t next_seq; /* arm order, so equal deadlines fire first-armed first */
} mp__timer_heap;

void mp__timer_heap_init(mp__timer_heap *h);
void mp__timer_heap_free(mp__timer_heap *h);
/* Returns 0 or MP_ENOMEM. */
int mp__timer_heap_insert(mp__timer_heap *h, mp__timer *t);
void mp__timer_heap_remove(mp__timer_heap *h, mp__timer *t);
/* The earliest timer, or NULL. */
mp__timer *mp__timer_heap_top(const mp__timer_heap *h);

#endif
