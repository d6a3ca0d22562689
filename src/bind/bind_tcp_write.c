/* bind_tcp_write.c: a connection's write queue, drain and half-close.
 *
 * A write first goes straight to the socket when nothing is queued ahead
 * of it: most writes leave in that one system call and copy nothing. What
 * the socket does not take is copied into a queue entry, and the one send
 * op of the connection works through the queue in order (DESIGN.md rule
 * 7). write() returns false from high_water queued bytes on, and refuses
 * (nil, "ENOBUFS") data that would pass write_limit, so the queue cannot
 * grow without bound, and data it accepted is never dropped silently: each
 * entry's callback gets its result or an error.
 */
#include <stdlib.h>
#include <string.h>

#include "bind/bind_tcp.h"

struct mp__tcp_write {
  mp__tcp_write *next;
  uint32_t len;     /* bytes still to send, in data (<= write_limit) */
  int cb;           /* registry ref of the callback, or LUA_NOREF */
  uint8_t shutdown; /* not data: the half-close, after everything before it */
  char data[];
};

static void write_done(mp_loop *loop, mp_op *op);

void mp__tcp_write_pump(mp__tcp_conn *c) {
  mp__tcp_write *w = c->wq_head;
  if (!w || c->writing || c->connecting || c->h.closed) return;
  c->writing = 1;
  c->write_op.cb = write_done;
  mp__handle_op_started(&c->h);
  if (w->shutdown) {
    mp__loop_defer(c->h.b->loop, &c->write_op, mp__sock_shutdown(&c->h.sock));
  } else {
    mp__sock_send(&c->h.sock, &c->write_op, w->data, w->len);
  }
}

/* Pop the queue's head and call its callback with err (0: success). */
static void finish_head(mp__tcp_conn *c, int err) {
  mp__tcp_write *w = c->wq_head;
  lua_State *L = c->h.b->L;
  c->wq_head = w->next;
  if (!c->wq_head) c->wq_tail = NULL;
  c->wq_bytes -= w->len;
  int cb = w->cb;
  const char *what = w->shutdown ? "shutdown" : "write";
  free(w);
  if (cb == LUA_NOREF) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, cb);
  luaL_unref(L, LUA_REGISTRYINDEX, cb);
  if (err == 0) {
    lua_pushnil(L);
    mp__bind_call(c->h.b, 1);
    return;
  }
  mp__bind_push_err(L, err, what);
  lua_pushstring(L, mp_err_name(err));
  mp__bind_call(c->h.b, 2);
}

void mp__tcp_write_fail_all(mp__tcp_conn *c, int err) {
  while (c->wq_head)
    finish_head(c, err);
}

void mp__tcp_write_free_all(mp__tcp_conn *c) {
  while (c->wq_head) {
    mp__tcp_write *w = c->wq_head;
    c->wq_head = w->next;
    free(w);
  }
  c->wq_tail = NULL;
  c->wq_bytes = 0;
}

static void call_drain(mp__tcp_conn *c) {
  c->need_drain = 0;
  if (c->drain_cb == LUA_NOREF) return;
  lua_rawgeti(c->h.b->L, LUA_REGISTRYINDEX, c->drain_cb);
  mp__bind_call(c->h.b, 0);
}

static void write_done(mp_loop *loop, mp_op *op) {
  (void)loop;
  mp__tcp_conn *c = MP_CONTAINER_OF(op, mp__tcp_conn, write_op);
  c->writing = 0;
  int result = c->h.closed ? MP_ECANCELED : op->result;
  if (result < 0) {
    if (!c->write_error) c->write_error = (int16_t)result;
    mp__tcp_write_fail_all(c, result);
  } else {
    finish_head(c, 0);
    if (c->timeouts) mp__tcp_timeout_write_active(c);
    mp__tcp_write_pump(c);
    if (!c->wq_head && c->need_drain && !c->h.closed) call_drain(c);
  }
  if (mp__handle_op_done(&c->h)) mp__tcp_conn_settle(c);
}

/* Queue len bytes of data (0 for a callback or shutdown entry alone). */
static mp__tcp_write *enqueue(lua_State *L, mp__tcp_conn *c, const char *data, size_t len) {
  mp__tcp_write *w = malloc(sizeof *w + len);
  if (!w) luaL_error(L, "moonport: out of memory");
  w->next = NULL;
  w->len = (uint32_t)len;
  w->cb = LUA_NOREF;
  w->shutdown = 0;
  memcpy(w->data, data, len);
  if (c->wq_tail) {
    c->wq_tail->next = w;
  } else {
    c->wq_head = w;
  }
  c->wq_tail = w;
  c->wq_bytes += (uint32_t)len;
  return w;
}

/* The data argument: a string, or an array of strings joined. */
static const char *check_data(lua_State *L, int idx, size_t *len) {
  if (lua_type(L, idx) == LUA_TSTRING) return lua_tolstring(L, idx, len);
  if (lua_type(L, idx) != LUA_TTABLE) luaL_typeerror(L, idx, "string or array of strings");
  luaL_Buffer buf;
  lua_Integer n = luaL_len(L, idx);
  luaL_buffinit(L, &buf);
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_rawgeti(L, idx, i) != LUA_TSTRING)
      luaL_error(L, "bad argument #%d to 'write' (item %d is not a string)", idx - 1, (int)i);
    luaL_addvalue(&buf);
  }
  luaL_pushresult(&buf);
  lua_replace(L, idx);
  return lua_tolstring(L, idx, len);
}

/* The open connection at 1 that may still write, or NULL after pushing
 * nil, err, name. */
static mp__tcp_conn *writable_conn(lua_State *L, const char *what) {
  mp__tcp_conn *c = (mp__tcp_conn *)mp__handle_check(L, 1, MP__TCP_META);
  if (c->h.closed) {
    mp__bind_push_fail(L, MP_ECLOSED, what);
    return NULL;
  }
  if (c->shut) {
    mp__bind_push_fail(L, MP_ECLOSED, "write after shutdown");
    return NULL;
  }
  if (c->write_error) {
    mp__bind_push_fail(L, c->write_error, what);
    return NULL;
  }
  return c;
}

/* conn:write(data [, cb]) -> true below high water, false at or above it;
 * nil, err, name if the data was not taken. cb(err) once it is sent. */
static int conn_write(lua_State *L) {
  size_t len;
  const char *data = check_data(L, 2, &len);
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TFUNCTION);
  if (lua_isnoneornil(L, 3) && lua_isyieldable(L)) {
    int n = mp__bind_coroutine_call(L, "tcp", "write");
    if (n >= 0) return n;
  }
  mp__tcp_conn *c = writable_conn(L, "write");
  if (!c) return 3;
  if (len > c->write_limit - c->wq_bytes)
    return mp__bind_push_fail(L, MP_ENOBUFS, "write queue full");
  size_t sent = 0;
  if (!c->wq_head && !c->writing && !c->connecting) {
    int n = mp__sock_try_send(&c->h.sock, data, len);
    if (n < 0) {
      c->write_error = (int16_t)n;
      return mp__bind_push_fail(L, n, "write");
    }
    sent = (size_t)n;
  }
  int has_cb = lua_isfunction(L, 3);
  if (sent < len || has_cb) {
    int was_empty = c->wq_head == NULL;
    mp__tcp_write *w = enqueue(L, c, data + sent, len - sent);
    if (has_cb) {
      lua_pushvalue(L, 3);
      w->cb = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    if (was_empty) mp__tcp_timeout_write_active(c);
    mp__tcp_write_pump(c);
    mp__handle_anchor(L, &c->h, 1, 1);
  }
  int below = c->wq_bytes < c->high_water;
  if (!below) c->need_drain = 1;
  lua_pushboolean(L, below);
  return 1;
}

/* conn:on_drain(cb): cb() when the queue has emptied after a write that
 * returned false. on_drain(nil) removes it. */
static int conn_on_drain(lua_State *L) {
  mp__tcp_conn *c = (mp__tcp_conn *)mp__handle_check(L, 1, MP__TCP_META);
  if (c->h.closed) return mp__bind_push_fail(L, MP_ECLOSED, "on_drain");
  if (!lua_isnil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
  luaL_unref(L, LUA_REGISTRYINDEX, c->drain_cb);
  c->drain_cb = LUA_NOREF;
  if (!lua_isnil(L, 2)) {
    lua_settop(L, 2);
    c->drain_cb = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* conn:shutdown([cb]): no more writes; the peer reads EOF once everything
 * queued has been sent. cb(err) then. */
static int conn_shutdown(lua_State *L) {
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
  if (lua_isnoneornil(L, 2) && lua_isyieldable(L)) {
    int n = mp__bind_coroutine_call(L, "tcp", "shutdown");
    if (n >= 0) return n;
  }
  mp__tcp_conn *c = writable_conn(L, "shutdown");
  if (!c) return 3;
  c->shut = 1;
  mp__tcp_write *w = enqueue(L, c, "", 0);
  w->shutdown = 1;
  if (lua_isfunction(L, 2)) {
    lua_pushvalue(L, 2);
    w->cb = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  mp__tcp_write_pump(c);
  mp__handle_anchor(L, &c->h, 1, 1);
  lua_pushboolean(L, 1);
  return 1;
}

/* conn:write_queue_size() -> bytes accepted and not yet sent. */
static int conn_write_queue_size(lua_State *L) {
  mp__tcp_conn *c = (mp__tcp_conn *)mp__handle_check(L, 1, MP__TCP_META);
  lua_pushinteger(L, c->h.closed ? 0 : (lua_Integer)c->wq_bytes);
  return 1;
}

const luaL_Reg mp__tcp_write_methods[] = {{"write", conn_write},
                                          {"on_drain", conn_on_drain},
                                          {"shutdown", conn_shutdown},
                                          {"write_queue_size", conn_write_queue_size},
                                          {NULL, NULL}};
