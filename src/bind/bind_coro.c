/* bind_coro.c: the coroutine form's hand-off from C methods to Lua. */
#include "bind/bind.h"

/* Registry key of the coroutine forms' table (form name -> table of
 * waiting functions): this variable's address. */
static const char coroutine_forms_key = 0;

int mp__bind_set_coroutine_form(lua_State *L, const char *form) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &coroutine_forms_key) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &coroutine_forms_key);
  }
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, form);
  return 0;
}

static int coroutine_call_done(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  return lua_gettop(L);
}

int mp__bind_coroutine_call(lua_State *L, const char *form, const char *name) {
  int top = lua_gettop(L);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &coroutine_forms_key) != LUA_TTABLE ||
      lua_getfield(L, -1, form) != LUA_TTABLE || lua_getfield(L, -1, name) != LUA_TFUNCTION) {
    lua_settop(L, top);
    return -1;
  }
  lua_replace(L, top + 1); /* the function where the forms' table was */
  lua_settop(L, top + 1);
  lua_insert(L, 1);
  /* With a continuation, the Lua function may yield through this call. */
  lua_callk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, coroutine_call_done);
  return coroutine_call_done(L, LUA_OK, 0);
}
