/* bind_signal.c: mp.signal and the moonport.signal handle, and the
 * runner's default action on SIGINT and SIGTERM.
 *
 * The loop's one signal listener (core/signals.h) watches every signal
 * that has an active handle; its completion runs each active handle's
 * callback for each signal that came. Active handles sit in a registry
 * table per signal (so they live while active) and, unless unref'd, keep
 * the loop running, as luv's signal handles do: a script that waits for
 * SIGHUP waits. A handle is a userdata of this struct; user value 1 is
 * its callback.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bind/bind.h"
#include "core/signals.h"

#define SIGNAL_META "moonport.signal"

static const char *const names[MP__SIG_COUNT] = {"SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1",
                                                 "SIGUSR2"};

typedef struct lua_signal {
  int id;
  uint8_t active;
  uint8_t refd; /* holds a loop ref (only while active) */
} lua_signal;

/* The loop's signal state, made on first use. */
struct mp__bind_signals {
  mp__signal_listener listener;
  int handles[MP__SIG_COUNT]; /* active handles per signal */
  unsigned fallback;          /* the runner's default action watches these */
  int exit_status;            /* the runner's, once a signal made it stop the loop; or 0 */
};

/* Registry keys: the table of active handles per signal, and the runner's
 * wish for its default action. */
static const char handles_key = 0;
static const char runner_key = 0;

static void signals_arrived(mp_loop *loop, mp_op *op);

static struct mp__bind_signals *get_signals(lua_State *L, mp__bind *b) {
  if (!b->signals) {
    struct mp__bind_signals *s = calloc(1, sizeof *s);
    if (!s) luaL_error(L, "moonport: out of memory");
    s->listener.op.cb = signals_arrived;
    mp__signals_listen(&s->listener, b->loop);
    b->signals = s;
  }
  return b->signals;
}

static unsigned handled_mask(const struct mp__bind_signals *s) {
  unsigned mask = 0;
  for (int id = 0; id < MP__SIG_COUNT; id++)
    if (s->handles[id] > 0) mask |= 1u << id;
  return mask;
}

/* Push the table of signal id's active handles (handle -> true). */
static void push_handle_set(lua_State *L, int id) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &handles_key) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, MP__SIG_COUNT, 0);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &handles_key);
  }
  if (lua_rawgeti(L, -1, id + 1) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, id + 1);
  }
  lua_remove(L, -2);
}

/* Call every active handle of id: cb(handle, "SIGNAME"). The set is copied
 * first, since callbacks may stop and start handles. */
static void call_handles(mp__bind *b, int id) {
  lua_State *L = b->L;
  push_handle_set(L, id);
  lua_newtable(L);
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, -3)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, ++n);
  }
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    lua_signal *sig = lua_touserdata(L, -1);
    if (!sig->active) {
      lua_pop(L, 1);
      continue;
    }
    lua_getiuservalue(L, -1, 1);
    lua_insert(L, -2);
    lua_pushstring(L, names[id]);
    mp__bind_call(b, 2);
  }
  lua_pop(L, 2);
}

/* The runner's default action: stop the loop so that it can close the
 * state and exit, and give the signal its default disposition back, so
 * that a second one ends the process at once. */
static void runner_exit(mp__bind *b, int id) {
  struct mp__bind_signals *s = b->signals;
  s->exit_status = mp__signal_exit_status(id);
  s->fallback = 0;
  (void)mp__signals_watch(&s->listener, handled_mask(s), 0);
  mp__loop_stop(b->loop);
}

static void signals_arrived(mp_loop *loop, mp_op *op) {
  (void)op;
  mp__bind *b = loop->data;
  struct mp__bind_signals *s = b->signals;
  unsigned mask = mp__signals_take(&s->listener);
  for (int id = 0; id < MP__SIG_COUNT; id++) {
    if (!(mask & (1u << id))) continue;
    if (s->handles[id] > 0) {
      call_handles(b, id);
    } else if (s->fallback & (1u << id)) {
      runner_exit(b, id);
    }
  }
}

/* The id of a name: "SIGINT", "INT" or "int" (any case, SIG optional). */
static int check_name(lua_State *L, int arg) {
  size_t len;
  const char *name = luaL_checklstring(L, arg, &len);
  char upper[16];
  if (len < sizeof upper && !memchr(name, '\0', len)) {
    for (size_t i = 0; i <= len; i++)
      upper[i] = (char)toupper((unsigned char)name[i]);
    for (int id = 0; id < MP__SIG_COUNT; id++) {
      if (strcmp(upper, names[id]) != 0 && strcmp(upper, names[id] + 3) != 0) continue;
      if (mp__signal_number(id) == 0)
        luaL_argerror(L, arg,
                      lua_pushfstring(L, "%s is not available on this platform", names[id]));
      return id;
    }
  }
  return luaL_argerror(
      L, arg,
      lua_pushfstring(L, "unknown signal '%s' (SIGINT, SIGTERM, SIGHUP, SIGUSR1 or SIGUSR2)",
                      name));
}

/* mp.signal(name, cb) -> handle: cb(handle, "SIGNAME") on the Lua thread
 * whenever the signal comes, until handle:stop(). Or nil, err, code if it
 * cannot be caught. */
static int signal_new(lua_State *L) {
  mp__bind *b = mp__bind_get(L);
  int id = check_name(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_signal *sig = mp__bind_new_handle(L, sizeof *sig, 1, SIGNAL_META);
  sig->id = id;
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, -2, 1);
  struct mp__bind_signals *s = get_signals(L, b);
  s->handles[id]++;
  int rc = mp__signals_watch(&s->listener, handled_mask(s), s->fallback);
  if (rc < 0) {
    s->handles[id]--;
    lua_pushnil(L);
    lua_pushfstring(L, "%s: signal %s: %s", mp_err_name(rc), names[id], mp_strerror(rc));
    lua_pushstring(L, mp_err_name(rc));
    return 3;
  }
  push_handle_set(L, id);
  lua_pushvalue(L, -2);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  sig->active = sig->refd = 1;
  mp_loop_ref(b->loop);
  return 1;
}

/* handle:stop() -> true if it was active. No callback comes after it; when
 * the last handle of a signal stops, the signal's disposition from before
 * comes back. Also handle:close(), __close and __gc. */
static int signal_stop(lua_State *L) {
  lua_signal *sig = luaL_checkudata(L, 1, SIGNAL_META);
  int was_active = sig->active;
  if (was_active) {
    mp__bind *b = mp__bind_get(L);
    struct mp__bind_signals *s = b->signals;
    sig->active = 0;
    if (sig->refd) mp_loop_unref(b->loop);
    sig->refd = 0;
    push_handle_set(L, sig->id);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    s->handles[sig->id]--;
    (void)mp__signals_watch(&s->listener, handled_mask(s), s->fallback);
  }
  lua_pushboolean(L, was_active);
  return 1;
}

/* handle:unref(): the handle no longer keeps mp.run() going (it still
 * gets its signals while the loop runs for something else). */
static int signal_unref(lua_State *L) {
  lua_signal *sig = luaL_checkudata(L, 1, SIGNAL_META);
  if (sig->refd) mp_loop_unref(mp__bind_get(L)->loop);
  sig->refd = 0;
  return 0;
}

/* handle:ref(): undo unref() (only while active). */
static int signal_ref(lua_State *L) {
  lua_signal *sig = luaL_checkudata(L, 1, SIGNAL_META);
  if (sig->active && !sig->refd) {
    mp_loop_ref(mp__bind_get(L)->loop);
    sig->refd = 1;
  }
  return 0;
}

static int signal_active(lua_State *L) {
  lua_signal *sig = luaL_checkudata(L, 1, SIGNAL_META);
  lua_pushboolean(L, sig->active);
  return 1;
}

static int signal_tostring(lua_State *L) {
  lua_signal *sig = luaL_checkudata(L, 1, SIGNAL_META);
  lua_pushfstring(L, "moonport.signal (%s, %s): %p", names[sig->id],
                  sig->active ? "active" : "stopped", (void *)sig);
  return 1;
}

void mp__signal_runner_default(lua_State *L) {
  lua_pushboolean(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &runner_key);
}

int mp__signal_runner_exit(lua_State *L) {
  mp_loop *loop = mp_loop_get(L);
  if (!loop) return 0;
  mp__bind *b = loop->data;
  return b->signals ? b->signals->exit_status : 0;
}

void mp__bind_close_signals(mp__bind *b) {
  if (b->signals) mp__signals_unlisten(&b->signals->listener);
}

void mp__bind_free_signals(mp__bind *b) {
  free(b->signals);
  b->signals = NULL;
}

void mp__bind_open_signal(lua_State *L) {
  static const luaL_Reg methods[] = {{"stop", signal_stop},     {"close", signal_stop},
                                     {"unref", signal_unref},   {"ref", signal_ref},
                                     {"active", signal_active}, {NULL, NULL}};
  static const luaL_Reg metamethods[] = {{"__gc", signal_stop},
                                         {"__close", signal_stop},
                                         {"__tostring", signal_tostring},
                                         {NULL, NULL}};
  mp__bind_metatable(L, SIGNAL_META, methods, metamethods);
  static const luaL_Reg funcs[] = {{"signal", signal_new}, {NULL, NULL}};
  mp__bind_setfuncs(L, funcs);
  /* The runner asked for its default action on SIGINT and SIGTERM, but
   * not on one the process was started with ignored (as a shell starts a
   * job in the background): that is its parent's wish to keep it alive. */
  int wanted = lua_rawgetp(L, LUA_REGISTRYINDEX, &runner_key) == LUA_TBOOLEAN;
  lua_pop(L, 1);
  if (wanted) {
    mp__bind *b = lua_touserdata(L, -1);
    struct mp__bind_signals *s = get_signals(L, b);
    s->fallback = 0;
    if (!mp__signal_ignored(MP__SIG_INT)) s->fallback |= 1u << MP__SIG_INT;
    if (!mp__signal_ignored(MP__SIG_TERM)) s->fallback |= 1u << MP__SIG_TERM;
    if (mp__signals_watch(&s->listener, 0, s->fallback) < 0) s->fallback = 0;
  }
}
