/* module.c: luaopen_moonport_core: one loop per lua_State, and the module table. */
#include <stdlib.h>
#include <string.h>

#include "bind/bind.h"

/* Registry key of the loop context: the address of this variable. */
static const char loop_key = 0;

mp__bind *mp__bind_get(lua_State *L) {
  return lua_touserdata(L, lua_upvalueindex(1));
}

mp_loop *mp_loop_get(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, MP_REGISTRY_LOOP);
  mp_loop *loop = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return loop;
}

void *mp__bind_new_handle(lua_State *L, size_t size, int nuv, const char *tname) {
  void *p = lua_newuserdatauv(L, size, nuv);
  memset(p, 0, size);
  luaL_setmetatable(L, tname);
  return p;
}

void mp__bind_metatable(lua_State *L, const char *tname, const luaL_Reg *methods,
                        const luaL_Reg *metamethods) {
  luaL_newmetatable(L, tname);
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, metamethods, 1);
  lua_newtable(L);
  lua_pushvalue(L, -3);
  luaL_setfuncs(L, methods, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

void mp__bind_setfuncs(lua_State *L, const luaL_Reg *funcs) {
  lua_pushvalue(L, -1);
  lua_insert(L, -3); /* ctx, table, ctx: what luaL_setfuncs wants */
  luaL_setfuncs(L, funcs, 1);
  lua_insert(L, -2); /* table, ctx as before */
}

static int loop_gc(lua_State *L) {
  mp__bind *b = luaL_checkudata(L, 1, MP__LOOP_META);
  if (b->loop) {
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, MP_REGISTRY_LOOP);
    /* Every handle's __gc has run (they are newer): what is left waits
     * for completions that will never come now. */
    mp__handle_free_all(b);
    mp__bind_close_signals(b);
    mp__loop_free(b->loop);
    mp__bind_free_signals(b);
    b->loop = NULL;
    mp__fs_free_all(b);
  }
  return 0;
}

/* The context userdata for L, created with its loop on first use. */
static void push_context(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &loop_key) == LUA_TUSERDATA) return;
  lua_pop(L, 1);
  mp__bind *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->loop = NULL;
  b->L = NULL;
  b->msgh = 0;
  b->on_error_ref = LUA_NOREF;
  b->sock_handles = NULL;
  b->tcp_dials = NULL;
  b->signals = NULL;
  b->read_buf = NULL;
  b->fs_files = NULL;
  b->fs_calls = NULL;
  b->fs_bufs = NULL;
  if (luaL_newmetatable(L, MP__LOOP_META)) {
    lua_pushcfunction(L, loop_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  int rc = mp__loop_new(&b->loop, NULL, 0);
  if (rc < 0) {
    const char *backend = getenv("MOONPORT_BACKEND");
    luaL_error(L, "moonport: cannot start the loop (backend %s): %s: %s",
               backend && *backend ? backend : "auto", mp_err_name(rc), mp_strerror(rc));
  }
  b->loop->data = b;
  b->loop->api = &mp__module_api;
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &loop_key);
  lua_pushlightuserdata(L, b->loop);
  lua_setfield(L, LUA_REGISTRYINDEX, MP_REGISTRY_LOOP);
}

int luaopen_moonport_core(lua_State *L) {
  push_context(L);
  lua_newtable(L);
  lua_insert(L, -2);
  mp__bind_open_loop(L);
  mp__bind_open_errors(L);
  mp__bind_open_timer(L);
  mp__bind_start_sockets(L);
  mp__bind_open_dns(L);
  mp__bind_open_signal(L);
  mp__bind_open_tcp(L);
  mp__bind_open_fs(L);
  mp__bind_open_udp(L);
  lua_pop(L, 1);
  lua_pushliteral(L, MOONPORT_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
