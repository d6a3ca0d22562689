/* bind_tcp_conn.c: a TCP connection handle: reading, closing, options.
 * Writing is in bind_tcp_write.c, timeouts in bind_tcp_timeout.c. */
#include <stdlib.h>

#include "bind/bind_tcp.h"

/* Reads in one go from a socket that keeps filling the buffer, before the
 * other sockets get their turn. */
#define READ_ROUNDS 4

static void conn_free(mp__handle *h) {
  mp__tcp_conn *c = (mp__tcp_conn *)h;
  mp__tcp_write_free_all(c);
  mp__tcp_timeouts_free(c);
  free(c);
}

static void unref(lua_State *L, int *ref) {
  luaL_unref(L, LUA_REGISTRYINDEX, *ref);
  *ref = LUA_NOREF;
}

/* Close: the read callback and the write callbacks still hear about it,
 * once, when their cancelled ops complete. A read with no op in flight
 * (closed from its own callback, between two ops) has nothing to come back:
 * it ends here, and its callback is released. */
void mp__tcp_conn_close(lua_State *L, mp__handle *h) {
  mp__tcp_conn *c = (mp__tcp_conn *)h;
  if (h->closed) return;
  unref(L, &c->drain_cb);
  if (!c->reading && !c->connecting) {
    c->read_mode = MP__READ_OFF;
    unref(L, &c->read_cb);
  }
  mp__tcp_timeout_cancel(c);
  if (c->dialing) mp__tcp_dial_cancel(c);
  mp__handle_close(L, h);
}

static const mp__handle_kind conn_kind = {mp__tcp_conn_close, conn_free};

mp__tcp_conn *mp__tcp_conn_new(lua_State *L, const mp__tcp_conn_opts *opts) {
  mp__tcp_conn *c = calloc(1, sizeof *c);
  if (!c) luaL_error(L, "moonport: out of memory");
  mp__handle_push(L, &c->h, MP__TCP_META);
  c->h.kind = &conn_kind;
  c->high_water = opts->high_water;
  c->write_limit = opts->write_limit;
  if (mp__tcp_timeouts_set(c, opts->read_timeout, opts->write_timeout) < 0)
    luaL_error(L, "moonport: out of memory");
  c->read_cb = c->drain_cb = c->connect_cb = LUA_NOREF;
  return c;
}

/* The open connection at idx, or NULL after pushing nil, err, name. */
static mp__tcp_conn *open_conn(lua_State *L, const char *what) {
  mp__tcp_conn *c = (mp__tcp_conn *)mp__handle_check(L, 1, MP__TCP_META);
  if (!c->h.closed) return c;
  mp__bind_push_fail(L, MP_ECLOSED, what);
  return NULL;
}

int mp__tcp_conn_busy(const mp__tcp_conn *c) {
  return c->read_mode != MP__READ_OFF || c->wq_head || c->writing || c->connecting;
}

void mp__tcp_conn_settle(mp__tcp_conn *c) {
  if (!c->h.closed && !mp__tcp_conn_busy(c)) mp__handle_anchor(c->h.b->L, &c->h, 0, 0);
}

static void read_done(mp_loop *loop, mp_op *op);

static void start_read(mp__tcp_conn *c) {
  if (c->reading) return; /* the one in flight comes back and restarts */
  c->reading = 1;
  c->read_op.cb = read_done;
  mp__handle_op_started(&c->h);
  mp__sock_wait_readable(&c->h.sock, &c->read_op);
}

/* Call the read callback with (err, nil, name), or (nil, nil) at EOF
 * (err == 0); reading stops first. */
static void read_end(mp__tcp_conn *c, int err) {
  lua_State *L = c->h.b->L;
  c->read_mode = MP__READ_OFF;
  if (c->read_cb == LUA_NOREF) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->read_cb);
  unref(L, &c->read_cb);
  if (err == 0) {
    lua_pushnil(L);
    lua_pushnil(L);
    mp__bind_call(c->h.b, 2);
    return;
  }
  mp__bind_call_failed(c->h.b, err, "read");
}

void mp__tcp_read_fail(mp__tcp_conn *c, int err) {
  mp__sock_cancel_read(&c->h.sock);
  read_end(c, err);
  mp__tcp_conn_settle(c);
}

/* Take what the socket holds and hand it to the callback, chunk by chunk.
 * Every read lands in the loop's read buffer first, then becomes the Lua
 * string the callback gets: a connection waits for data without a buffer
 * of its own. */
static void pull(mp__tcp_conn *c) {
  mp__bind *b = c->h.b;
  lua_State *L = b->L;
  for (int round = 0; round < READ_ROUNDS; round++) {
    if (c->read_mode == MP__READ_OFF || c->h.closed) return;
    int n = mp__sock_recv(&c->h.sock, b->read_buf, MP__READ_BUF_SIZE);
    if (n == MP_EAGAIN) break;
    if (n <= 0) {
      read_end(c, n);
      return;
    }
    if (c->timeouts) mp__tcp_timeout_read_active(c);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->read_cb);
    if (c->read_mode == MP__READ_ONCE) {
      c->read_mode = MP__READ_OFF;
      unref(L, &c->read_cb);
    }
    lua_pushnil(L);
    lua_pushlstring(L, b->read_buf, (size_t)n);
    mp__bind_call(b, 2);
    if (n < MP__READ_BUF_SIZE) break; /* the socket is empty: wait for more */
  }
  if (c->read_mode != MP__READ_OFF && !c->h.closed) start_read(c);
}

static void read_done(mp_loop *loop, mp_op *op) {
  (void)loop;
  mp__tcp_conn *c = MP_CONTAINER_OF(op, mp__tcp_conn, read_op);
  c->reading = 0;
  if (c->h.closed) {
    if (c->read_mode != MP__READ_OFF) read_end(c, MP_ECANCELED);
  } else if (c->read_mode != MP__READ_OFF) {
    if (op->result == MP_ECANCELED) {
      start_read(c); /* stopped, then started again before this came back */
    } else if (op->result < 0) {
      read_end(c, op->result);
    } else {
      pull(c);
    }
  }
  if (mp__handle_op_done(&c->h)) mp__tcp_conn_settle(c);
}

static int start_reading(lua_State *L, int mode) {
  mp__tcp_conn *c = open_conn(L, "read");
  if (!c) return 3;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (c->read_mode != MP__READ_OFF) return luaL_error(L, "moonport: socket is already reading");
  mp__handle_read_buf(L, c->h.b);
  lua_settop(L, 2);
  c->read_cb = luaL_ref(L, LUA_REGISTRYINDEX);
  c->read_mode = (uint8_t)mode;
  mp__handle_anchor(L, &c->h, 1, 1);
  mp__tcp_timeout_read_active(c);
  if (!c->connecting) start_read(c);
  lua_pushboolean(L, 1);
  return 1;
}

/* conn:read_start(cb): cb(err, data) for every chunk; (nil, nil) at EOF. */
static int conn_read_start(lua_State *L) {
  return start_reading(L, MP__READ_ON);
}

/* conn:read(cb): the next chunk only. conn:read(n): the coroutine form. */
static int conn_read(lua_State *L) {
  if (!lua_isfunction(L, 2)) {
    int n = mp__bind_coroutine_call(L, "tcp", "read");
    if (n >= 0) return n;
  }
  return start_reading(L, MP__READ_ONCE);
}

/* conn:read_stop(): no more read callbacks until the next read. */
static int conn_read_stop(lua_State *L) {
  mp__tcp_conn *c = open_conn(L, "read_stop");
  if (!c) return 3;
  c->read_mode = MP__READ_OFF;
  unref(L, &c->read_cb);
  mp__sock_cancel_read(&c->h.sock);
  mp__handle_anchor(L, &c->h, mp__tcp_conn_busy(c), 1);
  lua_pushboolean(L, 1);
  return 1;
}

void mp__tcp_connect_begin(lua_State *L, mp__tcp_conn *c, int conn_idx, uint32_t timeout_ms) {
  lua_pushvalue(L, 3);
  c->connect_cb = luaL_ref(L, LUA_REGISTRYINDEX);
  c->connecting = MP__CONNECT_PENDING;
  mp__handle_anchor(L, &c->h, 1, conn_idx);
  mp__handle_op_started(&c->h);
  if (timeout_ms) mp__tcp_timeout_connect(c, timeout_ms);
}

void mp__tcp_connect_end(mp__tcp_conn *c, int result, const char *detail) {
  lua_State *L = c->h.b->L;
  if (c->connecting == MP__CONNECT_TIMED_OUT) {
    result = MP_ETIMEDOUT;
    detail = NULL;
  } else if (c->h.closed && result == 0) {
    result = MP_ECANCELED;
  }
  c->connecting = 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->connect_cb);
  unref(L, &c->connect_cb);
  if (result == 0) {
    lua_pushnil(L);
    mp__handle_push_self(L, &c->h);
    if (c->read_mode != MP__READ_OFF) start_read(c);
    mp__tcp_write_pump(c);
    mp__bind_call(c->h.b, 2);
  } else {
    if (!c->h.closed) mp__tcp_conn_close(L, &c->h);
    mp__tcp_write_fail_all(c, result);
    if (c->read_mode != MP__READ_OFF) read_end(c, result);
    if (detail) {
      lua_pushstring(L, detail);
      lua_pushnil(L);
      lua_pushstring(L, mp_err_name(result));
      mp__bind_call(c->h.b, 3);
    } else {
      mp__bind_call_failed(c->h.b, result, "connect");
    }
  }
  if (mp__handle_op_done(&c->h)) mp__tcp_conn_settle(c);
}

/* The connect to a numeric address ended. */
void mp__tcp_connect_done(mp_loop *loop, mp_op *op) {
  (void)loop;
  mp__tcp_connect_end(MP_CONTAINER_OF(op, mp__tcp_conn, write_op), op->result, NULL);
}

/* conn:close(): idempotent; pending callbacks hear "ECANCELED" once. */
static int conn_close_method(lua_State *L) {
  mp__handle *h = mp__handle_check(L, 1, MP__TCP_META);
  mp__tcp_conn_close(L, h);
  return 0;
}

static int conn_closed(lua_State *L) {
  mp__handle *h = mp__handle_check(L, 1, MP__TCP_META);
  lua_pushboolean(L, h->closed);
  return 1;
}

static int push_address(lua_State *L, int peer) {
  mp__tcp_conn *c = open_conn(L, peer ? "peer" : "local_address");
  if (!c) return 3;
  struct sockaddr_storage addr;
  int rc = mp__sock_address(&c->h.sock, peer, &addr);
  if (rc < 0) return mp__bind_push_fail(L, rc, peer ? "peer" : "local_address");
  return mp__bind_push_addr(L, &addr);
}

/* conn:peer() -> host, port */
static int conn_peer(lua_State *L) {
  return push_address(L, 1);
}

/* conn:local_address() -> host, port */
static int conn_local_address(lua_State *L) {
  return push_address(L, 0);
}

static int set_option(lua_State *L, int option, const char *what) {
  mp__tcp_conn *c = open_conn(L, what);
  if (!c) return 3;
  luaL_checktype(L, 2, LUA_TBOOLEAN);
  lua_Integer secs = luaL_optinteger(L, 3, 0);
  luaL_argcheck(L, secs >= 0 && secs <= 86400 * 30, 3, "seconds out of range");
  int rc = mp__sock_setopt(&c->h.sock, option, lua_toboolean(L, 2), (int)secs);
  if (rc < 0) return mp__bind_push_fail(L, rc, what);
  lua_pushboolean(L, 1);
  return 1;
}

/* conn:nodelay(on): TCP_NODELAY. */
static int conn_nodelay(lua_State *L) {
  return set_option(L, MP__OPT_NODELAY, "nodelay");
}

/* conn:keepalive(on [, idle_secs]) */
static int conn_keepalive(lua_State *L) {
  return set_option(L, MP__OPT_KEEPALIVE, "keepalive");
}

/* conn:set_timeouts{read = ms, write = ms}: 0 or nil turns one off. */
static int conn_set_timeouts(lua_State *L) {
  mp__tcp_conn *c = open_conn(L, "set_timeouts");
  if (!c) return 3;
  mp__tcp_conn_opts parsed;
  mp__tcp_read_timeouts(L, 2, &parsed);
  if (mp__tcp_timeouts_set(c, parsed.read_timeout, parsed.write_timeout) < 0)
    return mp__bind_push_fail(L, MP_ENOMEM, "set_timeouts");
  if (c->read_mode != MP__READ_OFF) mp__tcp_timeout_read_active(c);
  mp__tcp_timeout_write_active(c);
  lua_pushboolean(L, 1);
  return 1;
}

static int conn_tostring(lua_State *L) {
  return mp__handle_tostring(L, MP__TCP_META);
}

void mp__bind_open_tcp_conn(lua_State *L) {
  static const luaL_Reg methods[] = {{"read_start", conn_read_start},
                                     {"read", conn_read},
                                     {"read_stop", conn_read_stop},
                                     {"close", conn_close_method},
                                     {"closed", conn_closed},
                                     {"peer", conn_peer},
                                     {"local_address", conn_local_address},
                                     {"nodelay", conn_nodelay},
                                     {"keepalive", conn_keepalive},
                                     {"set_timeouts", conn_set_timeouts},
                                     {NULL, NULL}};
  static const luaL_Reg metamethods[] = {{"__gc", mp__handle_gc},
                                         {"__close", conn_close_method},
                                         {"__tostring", conn_tostring},
                                         {NULL, NULL}};
  mp__bind_metatable(L, MP__TCP_META, methods, metamethods);
  /* The write methods join the same __index table. */
  luaL_getmetatable(L, MP__TCP_META);
  lua_getfield(L, -1, "__index");
  lua_pushvalue(L, -3);
  luaL_setfuncs(L, mp__tcp_write_methods, 1);
  lua_pop(L, 2);
}
