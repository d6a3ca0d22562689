/* bind_handle.c: the life of a socket handle (see bind_handle.h). */
#include <stdlib.h>

#include "bind/bind_tcp.h"

void mp__handle_push(lua_State *L, mp__handle *h, const char *tname) {
  mp__bind *b = mp__bind_get(L);
  mp__handle **ud = lua_newuserdatauv(L, sizeof *ud, 0);
  *ud = h;
  luaL_setmetatable(L, tname);
  h->b = b;
  h->self_ref = LUA_NOREF;
  h->sock.fd = MP__SOCK_NONE;
  h->next = b->sock_handles;
  if (h->next) h->next->prev = h;
  b->sock_handles = h;
}

mp__handle *mp__handle_check(lua_State *L, int idx, const char *tname) {
  return *(mp__handle **)luaL_checkudata(L, idx, tname);
}

void mp__handle_anchor(lua_State *L, mp__handle *h, int want, int idx) {
  if (want && h->self_ref == LUA_NOREF) {
    lua_pushvalue(L, idx);
    h->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else if (!want && h->self_ref != LUA_NOREF) {
    luaL_unref(L, LUA_REGISTRYINDEX, h->self_ref);
    h->self_ref = LUA_NOREF;
  }
}

void mp__handle_push_self(lua_State *L, mp__handle *h) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->self_ref);
}

static void handle_free(mp__handle *h) {
  mp__bind *b = h->b;
  if (h->prev) {
    h->prev->next = h->next;
  } else {
    b->sock_handles = h->next;
  }
  if (h->next) h->next->prev = h->prev;
  h->kind->free(h);
}

/* Free h if nothing needs it any more. */
static void release_if_done(mp__handle *h) {
  if (h->closed && h->collected && h->inflight == 0) handle_free(h);
}

void mp__handle_op_started(mp__handle *h) {
  h->inflight++;
  mp_loop_ref(h->b->loop);
}

int mp__handle_op_done(mp__handle *h) {
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
  mp__handle_op_done(MP_CONTAINER_OF(op, mp__handle, close_op));
}

void mp__handle_close(lua_State *L, mp__handle *h) {
  if (h->closed) return;
  h->closed = 1;
  mp__handle_anchor(L, h, 0, 0);
  h->close_op.cb = close_done;
  mp__handle_op_started(h);
  if (!mp__sock_is_open(&h->sock)) {
    /* Its socket never opened (out of descriptors): nothing to close. */
    mp__loop_defer(h->b->loop, &h->close_op, 0);
  } else {
    mp__sock_close(&h->sock, &h->close_op);
  }
}

int mp__handle_tostring(lua_State *L, const char *tname) {
  mp__handle *h = mp__handle_check(L, 1, tname);
  lua_pushfstring(L, "%s (%s): %p", tname, h->closed ? "closed" : "open", (void *)h);
  return 1;
}

int mp__handle_gc(lua_State *L) {
  mp__handle *h = *(mp__handle **)lua_touserdata(L, 1);
  h->collected = 1;
  h->kind->close(L, h);
  release_if_done(h);
  return 0;
}

char *mp__handle_read_buf(lua_State *L, mp__bind *b) {
  if (!b->read_buf && !(b->read_buf = malloc(MP__READ_BUF_SIZE)))
    luaL_error(L, "moonport: out of memory");
  return b->read_buf;
}

void mp__bind_start_sockets(lua_State *L) {
  int rc = mp__sock_startup();
  if (rc < 0) luaL_error(L, "moonport: cannot start sockets: %s", mp_strerror(rc));
}

void mp__handle_free_all(mp__bind *b) {
  mp__tcp_dial_free_all(b); /* first: a dial points at its connection */
  while (b->sock_handles)
    handle_free(b->sock_handles);
  free(b->read_buf);
  b->read_buf = NULL;
}
