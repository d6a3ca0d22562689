/* bind_tcp_handle.c: the life of a socket handle (see bind_tcp.h). */
#include <stdlib.h>

#include "bind/bind_tcp.h"

void mp__tcp_handle_push(lua_State *L, mp__tcp_handle *h, const char *tname) {
  mp__bind *b = mp__bind_get(L);
  mp__tcp_handle **ud = lua_newuserdatauv(L, sizeof *ud, 0);
  *ud = h;
  luaL_setmetatable(L, tname);
  h->b = b;
  h->self_ref = LUA_NOREF;
  h->sock.fd = MP__SOCK_NONE;
  h->next = b->tcp_handles;
  if (h->next) h->next->prev = h;
  b->tcp_handles = h;
}

mp__tcp_handle *mp__tcp_handle_check(lua_State *L, int idx, const char *tname) {
  return *(mp__tcp_handle **)luaL_checkudata(L, idx, tname);
}

void mp__tcp_anchor(lua_State *L, mp__tcp_handle *h, int want, int idx) {
  if (want && h->self_ref == LUA_NOREF) {
    lua_pushvalue(L, idx);
    h->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else if (!want && h->self_ref != LUA_NOREF) {
    luaL_unref(L, LUA_REGISTRYINDEX, h->self_ref);
    h->self_ref = LUA_NOREF;
  }
}

void mp__tcp_push_self(lua_State *L, mp__tcp_handle *h) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->self_ref);
}

static void handle_free(mp__tcp_handle *h) {
  mp__bind *b = h->b;
  if (h->prev) {
    h->prev->next = h->next;
  } else {
    b->tcp_handles = h->next;
  }
  if (h->next) h->next->prev = h->prev;
  if (h->kind == MP__TCP_CONN) {
    mp__tcp_conn_free(h);
  } else {
    mp__tcp_server_free(h);
  }
}

void mp__tcp_close(lua_State *L, mp__tcp_handle *h) {
  if (h->kind == MP__TCP_CONN) {
    mp__tcp_conn_close(L, h);
  } else {
    mp__tcp_server_close(L, h);
  }
}

/* Free h if nothing needs it any more. */
static void release_if_done(mp__tcp_handle *h) {
  if (h->closed && h->collected && h->inflight == 0) handle_free(h);
}

void mp__tcp_op_started(mp__tcp_handle *h) {
  h->inflight++;
  mp_loop_ref(h->b->loop);
}

int mp__tcp_op_done(mp__tcp_handle *h) {
  h->inflight--;
  mp_loop_unref(h->b->loop);
  if (h->closed) {
    release_if_done(h);
    return 0;
  }
  return 1;
}

static void close_done(mp_loop *loop, mp_op *op) {
  (void)loop;
  mp__tcp_op_done(MP_CONTAINER_OF(op, mp__tcp_handle, close_op));
}

void mp__tcp_handle_close(lua_State *L, mp__tcp_handle *h) {
  if (h->closed) return;
  h->closed = 1;
  mp__tcp_anchor(L, h, 0, 0);
  h->close_op.cb = close_done;
  mp__tcp_op_started(h);
  if (!mp__sock_is_open(&h->sock)) {
    /* Its socket never opened (out of descriptors): nothing to close. */
    mp__loop_defer(h->b->loop, &h->close_op, 0);
  } else {
    mp__sock_close(&h->sock, &h->close_op);
  }
}

/* Registry key of the coroutine form's table: this variable's address. */
static const char coroutine_form_key = 0;

/* mp.tcp.coroutine_form(t) */
int mp__tcp_set_coroutine_form(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &coroutine_form_key);
  return 0;
}

static int coroutine_call_done(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  return lua_gettop(L);
}

int mp__tcp_coroutine_call(lua_State *L, const char *name) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &coroutine_form_key) != LUA_TTABLE) {
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

int mp__tcp_handle_tostring(lua_State *L, const char *tname) {
  mp__tcp_handle *h = mp__tcp_handle_check(L, 1, tname);
  lua_pushfstring(L, "%s (%s): %p", tname, h->closed ? "closed" : "open", (void *)h);
  return 1;
}

int mp__tcp_handle_gc(lua_State *L) {
  mp__tcp_handle *h = *(mp__tcp_handle **)lua_touserdata(L, 1);
  h->collected = 1;
  mp__tcp_close(L, h);
  release_if_done(h);
  return 0;
}

void mp__tcp_free_all(mp__bind *b) {
  while (b->tcp_handles)
    handle_free(b->tcp_handles);
  free(b->read_buf);
  b->read_buf = NULL;
}
