/* bind_timer.c: mp.timer, mp.every and the moonport.timer handle. */
#include <math.h>

#include "bind/bind.h"

#define TIMER_META "moonport.timer"
#define MAX_DELAY_MS 1e12 /* about 31 years: beyond this the clock could overflow */

/* A timer handle is a userdata holding the core timer itself, nothing else:
 * every byte here is paid a million times by a script with a million
 * timers. User value 1 is the callback; a repeating timer has a user value
 * 2, its interval in milliseconds.
 *
 * core.user is the handle's state: 0 when not armed (never started, fired
 * once, or stopped and its cancel completed); a registry ref > 0 while
 * armed, which anchors the userdata so that the GC cannot free memory the
 * timer thread may touch; minus that ref while armed but stopped, waiting
 * for the cancel to come back. */
typedef mp__timer lua_timer;

static int is_active(const lua_timer *t) {
  return t->user > 0;
}

static void release(lua_State *L, lua_timer *t) {
  luaL_unref(L, LUA_REGISTRYINDEX, t->user < 0 ? -t->user : t->user);
  t->user = 0;
}

static void timer_done(mp_loop *loop, mp_op *op) {
  lua_timer *t = MP_CONTAINER_OF(op, lua_timer, op);
  mp__bind *b = loop->data;
  lua_State *L = b->L;
  if (!is_active(t) || op->result != 0) {
    int status = op->result;
    int stopped = !is_active(t);
    release(L, t);
    /* Only a failure the script did not ask for is worth reporting. */
    if (!stopped && status != MP_ECANCELED) {
      lua_pushfstring(L, "moonport: timer: %s: %s", mp_err_name(status), mp_strerror(status));
      mp__bind_report_error(b);
    }
    return;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->user);
  lua_getiuservalue(L, -1, 1);
  lua_insert(L, -2);
  if (lua_getiuservalue(L, -1, 2) == LUA_TNUMBER) {
    /* Re-arm before the callback, so stop() inside it cancels the next lap.
     * Keep the cadence, but never queue a burst after a stall. */
    uint64_t interval = (uint64_t)(lua_tonumber(L, -1) * 1e6);
    uint64_t now = mp__now_ns();
    uint64_t due = t->due + interval;
    if (due <= now) due = now + interval;
    mp__timer_start(loop, t, due, timer_done);
  } else {
    release(L, t);
  }
  lua_pop(L, 1);
  mp__bind_call(b, 1);
}

/* The delay argument in milliseconds: a finite number >= 0. */
static lua_Number check_delay(lua_State *L, int arg) {
  /* A string that looks like a number is refused too: a delay is data. */
  if (lua_type(L, arg) != LUA_TNUMBER) luaL_typeerror(L, arg, "number");
  lua_Number ms = lua_tonumber(L, arg);
  if (!(ms >= 0)) luaL_argerror(L, arg, "delay must be a number >= 0 (milliseconds)");
  if (ms > MAX_DELAY_MS) luaL_argerror(L, arg, "delay is too large");
  return ms;
}

/* Arm a new timer handle (created not armed, so an error halfway leaves
 * nothing running) for delay ms, repeating every interval ms if > 0. */
static int start_timer(lua_State *L, lua_Number delay, lua_Number interval) {
  mp__bind *b = mp__bind_get(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_timer *t = mp__bind_new_handle(L, sizeof *t, interval > 0 ? 2 : 1, TIMER_META);
  t->heap_index = MP__TIMER_NOT_IN_HEAP;
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, -2, 1);
  if (interval > 0) {
    lua_pushnumber(L, interval);
    lua_setiuservalue(L, -2, 2);
  }
  lua_pushvalue(L, -1);
  t->user = luaL_ref(L, LUA_REGISTRYINDEX);
  mp__timer_start(b->loop, t, mp__now_ns() + (uint64_t)(delay * 1e6), timer_done);
  return 1;
}

/* mp.timer(ms, fn) -> timer: call fn(timer) once, ms milliseconds from now. */
static int timer_new(lua_State *L) {
  return start_timer(L, check_delay(L, 1), 0);
}

/* mp.every(ms, fn) -> timer: call fn(timer) every ms milliseconds. */
static int every_new(lua_State *L) {
  lua_Number interval = check_delay(L, 1);
  if (interval == 0) luaL_argerror(L, 1, "interval must be > 0");
  return start_timer(L, interval, interval);
}

/* timer:stop() -> true if it was still pending. Its callback will not run
 * again; stopping twice, or from its own callback, is fine. Also __close.
 * No __gc: a collectable timer is never armed, and lua_close stops the
 * timer thread before it frees any timer. */
static int timer_stop(lua_State *L) {
  lua_timer *t = luaL_checkudata(L, 1, TIMER_META);
  int was_active = is_active(t);
  if (was_active) {
    t->user = -t->user;
    mp__timer_cancel(mp__bind_get(L)->loop, t);
  }
  lua_pushboolean(L, was_active);
  return 1;
}

/* timer:active() -> whether its callback is still to come. */
static int timer_active(lua_State *L) {
  lua_timer *t = luaL_checkudata(L, 1, TIMER_META);
  lua_pushboolean(L, is_active(t));
  return 1;
}

static int timer_tostring(lua_State *L) {
  lua_timer *t = luaL_checkudata(L, 1, TIMER_META);
  lua_pushfstring(L, "moonport.timer (%s): %p", is_active(t) ? "active" : "stopped", (void *)t);
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
