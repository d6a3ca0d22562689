/* bind_api.c: what C modules call on the Lua side (finishing on the Lua
 * thread, continuations), and the function table they reach moonport by. */
#include "bind/bind.h"
#include "bind/bind_handle.h"

lua_State *mp_loop_lua(mp_loop *loop) {
  return ((mp__bind *)loop->data)->L;
}

void mp_call(mp_loop *loop, int nargs) {
  mp__bind_call(loop->data, nargs);
}

int mp_cont_new(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) {
    if (lua_pushthread(L)) luaL_argerror(L, idx, "callback expected (or call it inside mp.spawn)");
    /* Coroutines are resumed through moonport.coro (mp_cont_ok): make sure
     * it is loaded, also in a script that required only moonport.core. */
    lua_getglobal(L, "require");
    lua_pushliteral(L, "moonport.coro");
    lua_call(L, 1, 0);
  } else {
    luaL_checktype(L, idx, LUA_TFUNCTION);
    lua_pushvalue(L, idx);
  }
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Whether cont stands for a coroutine (else a callback). */
static int cont_is_coroutine(lua_State *L, int cont) {
  int type = lua_rawgeti(L, LUA_REGISTRYINDEX, cont);
  lua_pop(L, 1);
  return type == LUA_TTHREAD;
}

int mp_cont_wait(lua_State *L, int cont) {
  return cont_is_coroutine(L, cont) ? lua_yield(L, 0) : 0;
}

void mp_cont_drop(lua_State *L, int cont) {
  luaL_unref(L, LUA_REGISTRYINDEX, cont);
}

/* Hand the n values on top of b->L to cont and end it: the arguments of a
 * callback, or what resumes a coroutine, through coro.step as mp.sleep's
 * timers do (its errors reach mp.on_error with the coroutine's traceback). */
static void cont_finish(mp__bind *b, int cont, int n) {
  lua_State *L = b->L;
  int nargs = n;
  if (lua_rawgeti(L, LUA_REGISTRYINDEX, cont) == LUA_TTHREAD) {
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, "moonport.coro");
    lua_getfield(L, -1, "step");
    lua_replace(L, -3);
    lua_pop(L, 1);
    lua_insert(L, -(n + 2)); /* step below the values and the coroutine */
    nargs++;
  }
  lua_insert(L, -(n + 1)); /* the callback or the coroutine below the values */
  luaL_unref(L, LUA_REGISTRYINDEX, cont);
  mp__bind_call(b, nargs);
}

void mp_cont_ok(mp_loop *loop, int cont, int nvalues) {
  mp__bind *b = loop->data;
  if (!cont_is_coroutine(b->L, cont)) {
    lua_pushnil(b->L); /* the callback's err */
    lua_insert(b->L, -(nvalues + 1));
    nvalues++;
  }
  cont_finish(b, cont, nvalues);
}

void mp_cont_fail(mp_loop *loop, int cont, int err, const char *what) {
  mp__bind *b = loop->data;
  lua_State *L = b->L;
  int coroutine = cont_is_coroutine(L, cont);
  if (coroutine) lua_pushnil(L);
  mp__bind_push_err(L, err, what);
  if (!coroutine) lua_pushnil(L);
  lua_pushstring(L, mp_err_name(err));
  cont_finish(b, cont, 3);
}

/* The table every loop carries for C modules (moonport.h). */
const mp_api mp__module_api = {
    .abi_version = MOONPORT_ABI_VERSION,
    .version = MOONPORT_VERSION,
    .post = mp_post,
    .loop_ref = mp_loop_ref,
    .loop_unref = mp_loop_unref,
    .loop_backend = mp_loop_backend,
    .work_submit = mp_work_submit,
    .work_cancel = mp_work_cancel,
    .loop_lua = mp_loop_lua,
    .call = mp_call,
    .cont_new = mp_cont_new,
    .cont_wait = mp_cont_wait,
    .cont_ok = mp_cont_ok,
    .cont_fail = mp_cont_fail,
    .cont_drop = mp_cont_drop,
    .io_open = mp_io_open,
    .io_wait_readable = mp_io_wait_readable,
    .io_read = mp_io_read,
    .io_close = mp_io_close,
};
