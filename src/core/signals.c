/* signals.c: the listeners of the process's signals (see signals.h). */
#include "core/signals.h"

#include "platform/platform.h"

/* Two locks, so that releasing the last signal (which joins the platform's
 * delivering thread) never waits for a delivery that waits for it:
 * watch_lock orders the catches and releases and guards the counts;
 * list_lock guards the listeners and their masks, and deliveries take it. */
static mp__mutex watch_lock = MP__MUTEX_INITIALIZER;
static mp__mutex list_lock = MP__MUTEX_INITIALIZER;
static mp__signal_listener *listeners;
static int watchers[MP__SIG_COUNT]; /* listeners watching each id */

/* On the platform's delivering thread. */
static void deliver(unsigned mask) {
  mp__mutex_lock(&list_lock);
  for (mp__signal_listener *l = listeners; l; l = l->next) {
    unsigned bits = mask & (l->handled | l->fallback);
    if (!bits) continue;
    unsigned before = atomic_fetch_or(&l->pending, bits);
    unsigned unheeded = before & bits & l->fallback & ~l->handled;
    for (int id = 0; id < MP__SIG_COUNT; id++)
      if (unheeded & (1u << id)) mp__signal_die(id);
    if (!atomic_exchange(&l->posted, 1)) (void)mp_post(l->loop, &l->op);
  }
  mp__mutex_unlock(&list_lock);
}

void mp__signals_listen(mp__signal_listener *l, mp_loop *loop) {
  l->loop = loop;
  l->handled = l->fallback = 0;
  atomic_init(&l->pending, 0);
  atomic_init(&l->posted, 0);
  mp__mutex_lock(&list_lock);
  l->next = listeners;
  listeners = l;
  mp__mutex_unlock(&list_lock);
}

int mp__signals_watch(mp__signal_listener *l, unsigned handled, unsigned fallback) {
  mp__mutex_lock(&watch_lock);
  unsigned before = l->handled | l->fallback, after = handled | fallback;
  int rc = 0, id;
  /* Catch what is new first: a failure leaves everything as it was. */
  for (id = 0; id < MP__SIG_COUNT && rc == 0; id++) {
    if ((after & ~before) & (1u << id) && watchers[id]++ == 0) {
      rc = mp__signal_catch(id, deliver);
      if (rc < 0) watchers[id]--;
    }
  }
  if (rc < 0) {
    for (int undo = 0; undo < id - 1; undo++)
      if ((after & ~before) & (1u << undo) && --watchers[undo] == 0) mp__signal_release(undo);
    mp__mutex_unlock(&watch_lock);
    return rc;
  }
  mp__mutex_lock(&list_lock);
  l->handled = handled;
  l->fallback = fallback;
  mp__mutex_unlock(&list_lock);
  for (id = 0; id < MP__SIG_COUNT; id++)
    if ((before & ~after) & (1u << id) && --watchers[id] == 0) mp__signal_release(id);
  mp__mutex_unlock(&watch_lock);
  return 0;
}

unsigned mp__signals_take(mp__signal_listener *l) {
  atomic_store(&l->posted, 0);
  return atomic_exchange(&l->pending, 0);
}

void mp__signals_unlisten(mp__signal_listener *l) {
  (void)mp__signals_watch(l, 0, 0);
  mp__mutex_lock(&list_lock);
  mp__signal_listener **p = &listeners;
  while (*p != l)
    p = &(*p)->next;
  *p = l->next;
  mp__mutex_unlock(&list_lock);
}
