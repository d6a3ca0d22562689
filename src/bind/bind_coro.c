/* bind_coro.c: the coroutine form's hand-off from C methods to Lua. */
#include "bind/bind.h"

int mp__bind_set_coroutine_form(lua_State *L, const void *key) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, key);
  return 0;
}

static int coroutine_call_done(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  return lua_gettop(L);
}

int mp__bind_coroutine_call(lua_State *L, const void *key, const char *name) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) != LUA_TTABLE) {
    lua_pop(L, 1);
    return -1;
  }
  if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
    lua_pop(L, 2);
    return -1;
  }
  lua_remove(L, -2);
  lua_insert(L, 1);
  /* With a continuation, the Lua function may yield through this call. */
  lua_callk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, coroutine_call_done);
  return coroutine_call_done(L, LUA_OK, 0);
}
