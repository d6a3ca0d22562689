/* bind_error.c: protected calls into Lua and the error handler. */
#include <stdio.h>

#include "bind/bind.h"

int mp__bind_traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

void mp__bind_report_error(mp__bind *b) {
  lua_State *L = b->L;
  if (b->on_error_ref == LUA_NOREF) {
    fprintf(stderr, "moonport: error in callback: %s\n", lua_tostring(L, -1));
    fflush(stderr);
    lua_pop(L, 1);
    return;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, b->on_error_ref);
  lua_insert(L, -2);
  if (lua_pcall(L, 1, 0, b->msgh) != LUA_OK) {
    fprintf(stderr, "moonport: error in error handler: %s\n", lua_tostring(L, -1));
    fflush(stderr);
    lua_pop(L, 1);
  }
}

void mp__bind_call(mp__bind *b, int nargs) {
  if (lua_pcall(b->L, nargs, 0, b->msgh) != LUA_OK) mp__bind_report_error(b);
}

/* mp.on_error(fn): fn(message_with_traceback) gets every error raised in a
 * callback; mp.on_error(nil) restores the default, printing to stderr. */
static int on_error(lua_State *L) {
  mp__bind *b = mp__bind_get(L);
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
  luaL_unref(L, LUA_REGISTRYINDEX, b->on_error_ref);
  b->on_error_ref = LUA_NOREF;
  if (!lua_isnoneornil(L, 1)) {
    lua_settop(L, 1);
    b->on_error_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  return 0;
}

/* mp.report_error(message): send an error to the handler as if a callback
 * had raised it (the coroutine layer uses it for errors in coroutines). */
static int report_error(lua_State *L) {
  mp__bind *b = mp__bind_get(L);
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  lua_State *saved = b->L;
  int saved_msgh = b->msgh;
  /* Outside mp.run() there is no handler slot yet: make one here. */
  b->L = L;
  lua_pushcfunction(L, mp__bind_traceback);
  b->msgh = lua_gettop(L);
  lua_pushvalue(L, 1);
  mp__bind_report_error(b);
  b->L = saved;
  b->msgh = saved_msgh;
  return 0;
}

int mp__bind_push_msgh(lua_State *L) {
  lua_pushcfunction(L, mp__bind_traceback);
  return lua_gettop(L);
}

void mp__bind_open_errors(lua_State *L) {
  static const luaL_Reg funcs[] = {
      {"on_error", on_error}, {"report_error", report_error}, {NULL, NULL}};
  mp__bind_setfuncs(L, funcs);
}
