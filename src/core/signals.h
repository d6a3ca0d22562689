/* signals.h: the process's signals as completions on a loop.
 *
 * Signals belong to the process, loops to a lua_State each: a loop that
 * wants signals has one listener, registered here. When a watched signal
 * arrives, its bit is added to the listener's pending mask and the
 * listener's op is posted to its loop (mp_post), unless it is already on
 * its way; the op's callback, on the Lua thread, takes the mask. So several
 * deliveries of one signal before the callback runs come as one, as
 * signals do. The handler itself runs nothing of this (platform/signal.h).
 *
 * A listener watches ids for handles (the script's) and, apart, ids of a
 * fallback (the runner's default action on SIGINT/SIGTERM). A fallback id
 * delivered again while the last one is still pending means the Lua thread
 * has not acted on it (busy, or stuck): then the process dies of the signal
 * at once, as it would had nobody caught it.
 */
#ifndef MP_SIGNALS_H
#define MP_SIGNALS_H

#include <stdatomic.h>

#include "moonport.h"
#include "platform/signal.h"

typedef struct mp__signal_listener {
  mp_op op; /* public: op.cb is set by the owner; posted when signals arrive */
  mp_loop *loop;
  struct mp__signal_listener *next; /* private: the registry, under its lock */
  unsigned handled;                 /* private: ids watched for handles */
  unsigned fallback;                /* private: ids watched for the fallback */
  atomic_uint pending;              /* private: delivered, not yet taken */
  atomic_int posted;                /* private: op is on its way */
} mp__signal_listener;

/* Register l (zeroed, op.cb set) for loop; it watches nothing yet. */
void mp__signals_listen(mp__signal_listener *l, mp_loop *loop);
/* Watch exactly the ids of handled and fallback from now on, catching the
 * newly watched ones in the process and releasing those no listener
 * watches any more. Returns 0, or the MP_E… code of a signal that could
 * not be caught (then nothing changed). Lua thread. */
int mp__signals_watch(mp__signal_listener *l, unsigned handled, unsigned fallback);
/* The ids delivered since the last take (from op.cb). Lua thread. */
unsigned mp__signals_take(mp__signal_listener *l);
/* Unregister l, releasing what it watched: no post comes after this
 * returns, but one already made may still be in the port. Lua thread. */
void mp__signals_unlisten(mp__signal_listener *l);

#endif
