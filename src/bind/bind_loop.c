/* bind_loop.c: mp.run, mp.stop, mp.now, mp.alive, mp.backend, mp.workers. */
#include "bind/bind.h"

/* mp.run(): dispatch callbacks until nothing is left to wait for or until
 * mp.stop(). Returns true if stopped by mp.stop(). */
static int run(lua_State *L) {
  mp__bind *b = mp__bind_get(L);
  if (b->loop->running) return luaL_error(L, "moonport: the loop is already running");
  luaL_checkstack(L, LUA_MINSTACK, "moonport.run");
  lua_State *saved_L = b->L;
  int saved_msgh = b->msgh;
  b->L = L;
  b->msgh = mp__bind_push_msgh(L);
  int stopped = mp__loop_run(b->loop);
  b->L = saved_L;
  b->msgh = saved_msgh;
  lua_pushboolean(L, stopped);
  return 1;
}

static int stop(lua_State *L) {
  mp__loop_stop(mp__bind_get(L)->loop);
  return 0;
}

/* mp.now(): milliseconds on a monotonic clock, with a fraction. */
static int now(lua_State *L) {
  lua_pushnumber(L, (lua_Number)mp__now_ns() / 1e6);
  return 1;
}

/* mp.backend(): "iocp", "uring" or "epoll". */
static int backend(lua_State *L) {
  lua_pushstring(L, mp_loop_backend(mp__bind_get(L)->loop));
  return 1;
}

/* mp.alive(): whether anything (an armed timer, a C module's ref, a post in
 * flight) would keep mp.run() from returning. */
static int alive(lua_State *L) {
  lua_pushboolean(L, mp__loop_alive(mp__bind_get(L)->loop));
  return 1;
}

/* mp.workers(): how many worker threads wait on the port. */
static int workers(lua_State *L) {
  lua_pushinteger(L, mp__bind_get(L)->loop->nworkers);
  return 1;
}

void mp__bind_open_loop(lua_State *L) {
  static const luaL_Reg funcs[] = {{"run", run},         {"stop", stop},       {"now", now},
                                   {"backend", backend}, {"workers", workers}, {"alive", alive},
                                   {NULL, NULL}};
  mp__bind_setfuncs(L, funcs);
}
