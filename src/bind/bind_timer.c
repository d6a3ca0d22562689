/* bind_timer.c: mp.timer, mp.every and the moonport.timer handle. */
#include <math.h>

#include "bind/bind.h"

#define TIMER_META "moonport.timer"
#define MAX_DELAY_MS 1e12 /* about 31 years: beyond this the clock could overflow */

/* A timer handle. The core timer is embedded: while it is armed, self_ref
 * anchors the userdata in the registry, so the GC cannot free memory the
 * timer thread may touch; once its callback has come it is plain Lua memory
 * again. This saves a separate allocation per timer. User value 1 is the
 * callback. */
typedef struct lua_timer {
  mp__timer core;
  uint64_t interval_ns; /* 0 for one-shot timers */
  int self_ref;         /* LUA_NOREF unless armed */
  int stopped;          /* stop() was called, or a one-shot timer has fired */
} lua_timer;

static void release(lua_State *L, lua_timer *t) {
  luaL_unref(L, LUA_REGISTRYINDEX, t->self_ref);
  t->self_ref = LUA_NOREF;
}

static void timer_done(mp_loop *loop, mp_op *op) {
  lua_timer *t = MP_CONTAINER_OF(op, lua_timer, core.op);
  mp__timer *core = &t->core;
  mp__bind *b = loop->data;
  lua_State *L = b->L;
  if (t->stopped || op->result != 0) {
    int status = op->result;
    int stopped = t->stopped;
    release(L, t);
    /* Only a failure the script did not ask for is worth reporting. */
    if (!stopped && status != MP_ECANCELED) {
      lua_pushfstring(L, "moonport: timer: %s: %s", mp_err_name(status), mp_strerror(status));
      mp__bind_report_error(b);
    }
    return;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->self_ref);
  lua_getiuservalue(L, -1, 1);
  lua_insert(L, -2);
  if (t->interval_ns) {
    /* Re-arm before the callback, so stop() inside it cancels the next lap.
     * Keep the cadence, but never queue a burst after a stall. */
    uint64_t now = mp__now_ns();
    uint64_t due = core->due + t->interval_ns;
    if (due <= now) due = now + t->interval_ns;
    mp__timer_start(loop, core, due, timer_done);
  } else {
    t->stopped = 1;
    release(L, t);
  }
  mp__bind_call(b, 1);
}

static uint64_t check_delay(lua_State *L, int arg) {
  /* A string that looks like a number is refused too: a delay is data. */
  if (lua_type(L, arg) != LUA_TNUMBER) luaL_typeerror(L, arg, "number");
  lua_Number ms = lua_tonumber(L, arg);
  if (!(ms >= 0)) luaL_argerror(L, arg, "delay must be a number >= 0 (milliseconds)");
  if (ms > MAX_DELAY_MS) luaL_argerror(L, arg, "delay is too large");
  return (uint64_t)(ms * 1e6);
}

static int start_timer(lua_State *L, uint64_t delay_ns, uint64_t interval_ns) {
  mp__bind *b = mp__bind_get(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_timer *t = mp__bind_new_handle(L, sizeof *t, 1, TIMER_META);
  t->self_ref = LUA_NOREF;
  t->stopped = 1;
  t->core.heap_index = MP__TIMER_NOT_IN_HEAP;
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, -2, 1);
  lua_pushvalue(L, -1);
  t->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  t->stopped = 0;
  t->interval_ns = interval_ns;
  mp__timer_start(b->loop, &t->core, mp__now_ns() + delay_ns, timer_done);
  return 1;
}

/* mp.timer(ms, fn) -> timer: call fn(timer) once, ms milliseconds from now. */
static int timer_new(lua_State *L) {
  return start_timer(L, check_delay(L, 1), 0);
}

/* mp.every(ms, fn) -> timer: call fn(timer) every ms milliseconds. */
static int every_new(lua_State *L) {
  uint64_t interval = check_delay(L, 1);
  if (interval == 0) luaL_argerror(L, 1, "interval must be > 0");
  return start_timer(L, interval, interval);
}

/* timer:stop() -> true if it was still pending. Its callback will not run
 * again; stopping twice, or from its own callback, is fine. Also __close
 * and __gc (a collected timer is never armed, but lua_close collects all). */
static int timer_stop(lua_State *L) {
  lua_timer *t = luaL_checkudata(L, 1, TIMER_META);
  int was_pending = !t->stopped;
  if (!t->stopped) {
    t->stopped = 1;
    mp_loop *loop = mp__bind_get(L)->loop; /* NULL only once the loop is gone */
    if (t->self_ref != LUA_NOREF && loop) mp__timer_cancel(loop, &t->core);
  }
  lua_pushboolean(L, was_pending);
  return 1;
}

/* timer:active() -> whether its callback is still to come. */
static int timer_active(lua_State *L) {
  lua_timer *t = luaL_checkudata(L, 1, TIMER_META);
  lua_pushboolean(L, !t->stopped);
  return 1;
}

static int timer_tostring(lua_State *L) {
  lua_timer *t = luaL_checkudata(L, 1, TIMER_META);
  lua_pushfstring(L, "moonport.timer (%s): %p", t->stopped ? "stopped" : "active", (void *)t);
  return 1;
}

void mp__bind_open_timer(lua_State *L) {
  static const luaL_Reg methods[] = {{"stop", timer_stop}, {"active", timer_active}, {NULL, NULL}};
  static const luaL_Reg metamethods[] = {
      {"__close", timer_stop}, {"__tostring", timer_tostring}, {NULL, NULL}};
  mp__bind_metatable(L, TIMER_META, methods, metamethods);
  static const luaL_Reg funcs[] = {{"timer", timer_new}, {"every", every_new}, {NULL, NULL}};
  mp__bind_setfuncs(L, funcs);
}
