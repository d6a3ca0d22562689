/* loop.h: the event loop, private to the core and the bindings.
 *
 * The loop owns the port, the worker threads that wait on it, the queue that
 * carries their batches into the Lua thread, the timer thread and the work
 * threads of offloaded work. Nothing here knows Lua: the bindings hang their
 * context on `data`.
 */
#ifndef MP_LOOP_H
#define MP_LOOP_H

#include <stdatomic.h>

#include "core/completion_queue.h"
#include "core/timers.h"
#include "core/work_pool.h"
#include "port/port.h"

/* Completion keys the core posts with. */
enum {
  MP__KEY_INTERNAL = 0, /* the core's own packets */
  MP__KEY_POST = 1,     /* mp_post: counted in posts_in_flight */
  MP__KEY_REF = 2       /* counted in refs: a timer's final callback, offloaded work */
};

struct mp_loop {
  /* First, where C modules find it from a loop pointer (moonport.h's
   * "C modules"): the bindings' function table, set when they open. */
  const struct mp_api *api;
  const mp_port_backend *backend; /* read-only after creation */
  mp_port *port;
  mp__thread *workers;
  int nworkers;
  mp__cq queue; /* workers -> Lua thread */
  mp__timers timers;
  mp__work_pool work;           /* offloaded work (mp_work) */
  struct mp__resolve *resolves; /* name resolutions in flight (core/resolve.h) */
  struct mp__io_state *ios;     /* C modules' handles not yet closed (core/io.c) */
  atomic_long posts_in_flight;  /* mp_post calls whose callback has not run */

  /* Lua thread only. */
  mp_op *pending;                  /* taken from queue, not yet dispatched (mp.stop() mid-batch) */
  mp_op *deferred, *deferred_tail; /* mp__loop_defer: to dispatch on the next round */
  long refs; /* armed timers, mp_loop_ref()s and other things that keep run() going */
  int stop_requested;
  int running;
  void *data; /* the bindings' context */
};

/* Create a loop on the backend named by backend (NULL: MOONPORT_BACKEND, else
 * the best available) with nworkers workers (<= 0: MOONPORT_WORKERS, else the
 * number of processors). Returns 0 or an MP_E… code. */
int mp__loop_new(mp_loop **out, const char *backend, int nworkers);
/* Stop every thread and free the loop. Ops still in flight get no callback
 * (their memory is their issuers'). Lua thread, not from inside run. */
void mp__loop_free(mp_loop *loop);
/* Dispatch completions until nothing keeps the loop alive or until
 * mp__loop_stop. Returns 1 if stopped, 0 if it ran out of work. Lua thread;
 * not re-entrant (callers check loop->running). */
int mp__loop_run(mp_loop *loop);
/* Make run return after the callback now running. Lua thread. */
void mp__loop_stop(mp_loop *loop);
/* Does anything still keep run going? */
int mp__loop_alive(mp_loop *loop);
/* Free what is left of the C modules' handles (mp_io) and close their
 * handles, without completions: the loop is being freed. */
void mp__io_free_all(mp_loop *loop);
/* Complete op with result on a later round of run, never from inside the
 * call: for results known at once, which must still arrive as completions
 * (DESIGN.md rule 6). Lua thread. */
void mp__loop_defer(mp_loop *loop, mp_op *op, int result);

#endif
