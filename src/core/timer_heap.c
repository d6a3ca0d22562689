/* timer_heap.c: a 4-ary min-heap of timers by (due, arm order). */
#include "core/timer_heap.h"

#include <stdlib.h>

#include "core/timers.h"

void mp__timer_heap_init(mp__timer_heap *h) {
  h->slots = NULL;
  h->count = h->capacity = 0;
  h->next_seq = 0;
}

void mp__timer_heap_free(mp__timer_heap *h) {
  free(h->slots);
  mp__timer_heap_init(h);
}

/* Equal deadlines fire in arm order. seq wraps after 2^32 arms; comparing
 * the difference keeps the order right across the wrap. */
static inline int earlier(const mp__timer_slot *a, const mp__timer_slot *b) {
  if (a->due != b->due) return a->due < b->due;
  return (int32_t)(a->seq - b->seq) < 0;
}

static inline void place(mp__timer_heap *h, size_t i, mp__timer_slot s) {
  h->slots[i] = s;
  s.t->heap_index = (uint32_t)i;
}

/* Four children a node: half the depth of a binary heap, and the four
 * slots a sift compares share a cache line. */
#define ARITY 4

static void sift_up(mp__timer_heap *h, size_t i) {
  mp__timer_slot s = h->slots[i];
  while (i > 0) {
    size_t parent = (i - 1) / ARITY;
    if (!earlier(&s, &h->slots[parent])) break;
    place(h, i, h->slots[parent]);
    i = parent;
  }
  place(h, i, s);
}

static void sift_down(mp__timer_heap *h, size_t i) {
  mp__timer_slot s = h->slots[i];
  for (;;) {
    size_t first = ARITY * i + 1;
    if (first >= h->count) break;
    size_t best = first, end = first + ARITY < h->count ? first + ARITY : h->count;
    for (size_t c = first + 1; c < end; c++)
      if (earlier(&h->slots[c], &h->slots[best])) best = c;
    if (!earlier(&h->slots[best], &s)) break;
    place(h, i, h->slots[best]);
    i = best;
  }
  place(h, i, s);
}

int mp__timer_heap_insert(mp__timer_heap *h, mp__timer *t) {
  if (h->count == h->capacity) {
    size_t capacity = h->capacity ? h->capacity * 2 : 64;
    /* heap_index is 32 bits, and MP__TIMER_NOT_IN_HEAP is reserved. */
    if (capacity >= MP__TIMER_NOT_IN_HEAP) return MP_ENOMEM;
    mp__timer_slot *slots = realloc(h->slots, capacity * sizeof *slots);
    if (!slots) return MP_ENOMEM;
    h->slots = slots;
    h->capacity = capacity;
  }
  h->slots[h->count] = (mp__timer_slot){t->due, h->next_seq++, t};
  sift_up(h, h->count++);
  return 0;
}

void mp__timer_heap_remove(mp__timer_heap *h, mp__timer *t) {
  size_t i = t->heap_index;
  t->heap_index = MP__TIMER_NOT_IN_HEAP;
  mp__timer_slot last = h->slots[--h->count];
  if (i == h->count) return;
  place(h, i, last);
  if (i > 0 && earlier(&last, &h->slots[(i - 1) / ARITY])) {
    sift_up(h, i);
  } else {
    sift_down(h, i);
  }
}

mp__timer *mp__timer_heap_top(const mp__timer_heap *h) {
  return h->count ? h->slots[0].t : NULL;
}
