/* bind_tcp_server.c: mp.tcp.listen and its server handle, mp.tcp.connect.
 *
 * A server made with on_connection accepts continuously: its accept op is
 * restarted after every completion. Out of descriptors (EMFILE, ENFILE),
 * the connection stays in the kernel's backlog, and retrying at once would
 * spin: the server tells on_connection once, pauses, and tries again every
 * RETRY_MS, which resumes accepting once descriptors are free again.
 */
#include <stdlib.h>

#include "bind/bind_tcp.h"

#define RETRY_MS 100

typedef struct tcp_server {
  mp__handle h; /* first */
  mp_op accept_op;
  mp__timer retry;
  mp__tcp_conn_opts opts; /* for the connections it accepts */
  int on_connection;      /* registry ref, or LUA_NOREF: accept only when asked */
  int accept_cb;          /* the one-shot accept's callback, or LUA_NOREF */
  uint8_t accepting;      /* accept_op is in flight */
  uint8_t paused;         /* out of descriptors: the retry timer is armed */
  uint8_t starved;        /* out of descriptors since the last accept that worked */
} tcp_server;

static void server_free(mp__handle *h) {
  free(h);
}

static void server_close(lua_State *L, mp__handle *h) {
  tcp_server *s = (tcp_server *)h;
  if (h->closed) return;
  luaL_unref(L, LUA_REGISTRYINDEX, s->on_connection);
  s->on_connection = LUA_NOREF;
  if (s->paused) mp__timer_cancel(h->b->loop, &s->retry);
  mp__handle_close(L, h);
}

static const mp__handle_kind server_kind = {server_close, server_free};

static void accept_done(mp_loop *loop, mp_op *op);

static void start_accept(tcp_server *s) {
  s->accepting = 1;
  s->accept_op.cb = accept_done;
  mp__handle_op_started(&s->h);
  mp__sock_accept(&s->h.sock, &s->accept_op);
}

/* Whether anyone takes connections: on_connection, or a pending accept(cb). */
static int wants_connections(const tcp_server *s) {
  return s->on_connection != LUA_NOREF || s->accept_cb != LUA_NOREF;
}

static void retry_fired(mp_loop *loop, mp_op *op) {
  (void)loop;
  tcp_server *s = MP_CONTAINER_OF(op, tcp_server, retry.op);
  s->paused = 0;
  if (!mp__handle_op_done(&s->h)) return;
  if (wants_connections(s)) start_accept(s);
}

/* The callback to tell about this accept: on_connection, or the one-shot
 * accept's (taken: it is called once). Pushed; 0 if there is none. */
static int push_callback(lua_State *L, tcp_server *s) {
  if (s->on_connection != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->on_connection);
    return 1;
  }
  if (s->accept_cb == LUA_NOREF) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->accept_cb);
  luaL_unref(L, LUA_REGISTRYINDEX, s->accept_cb);
  s->accept_cb = LUA_NOREF;
  return 1;
}

static void call_with_error(tcp_server *s, int err) {
  if (push_callback(s->h.b->L, s)) mp__bind_call_failed(s->h.b, err, "accept");
}

static void accept_done(mp_loop *loop, mp_op *op) {
  tcp_server *s = MP_CONTAINER_OF(op, tcp_server, accept_op);
  lua_State *L = s->h.b->L;
  int result = op->result;
  s->accepting = 0;
  if (s->h.closed) {
    if (result >= 0) mp__sock_discard(mp__sock_accepted(&s->h.sock, result));
    call_with_error(s, MP_ECANCELED);
  } else if (result >= 0) {
    mp__sock_fd fd = mp__sock_accepted(&s->h.sock, result);
    s->starved = 0;
    if (push_callback(L, s)) {
      lua_pushnil(L);
      mp__tcp_conn *c = mp__tcp_conn_new(L, &s->opts);
      mp__sock_adopt(&c->h.sock, loop->port, fd);
      mp__bind_call(s->h.b, 2);
    } else {
      mp__sock_discard(fd); /* nobody asked (the one-shot callback was removed) */
    }
  } else if (result == MP_EMFILE || result == MP_ENFILE || result == MP_ENOBUFS ||
             result == MP_ENOMEM) {
    if (!s->starved) call_with_error(s, result);
    s->starved = 1;
    s->paused = 1;
    mp__handle_op_started(&s->h);
    mp__timer_start(loop, &s->retry, mp__now_ns() + RETRY_MS * 1000000ull, retry_fired);
  } else if (result != MP_ECANCELED && s->on_connection == LUA_NOREF) {
    call_with_error(s, result);
  }
  /* Other errors (a connection reset while queued) end only that one. */
  if (!mp__handle_op_done(&s->h)) return;
  int wanted = wants_connections(s);
  if (wanted && !s->paused && !s->accepting) start_accept(s);
  if (!wanted) mp__handle_anchor(L, &s->h, 0, 0);
}

/* mp.tcp.listen(host, port [, on_connection] [, opts]) -> server, or nil,
 * err, name. on_connection(err, conn) for each connection. */
static int tcp_listen(lua_State *L) {
  struct sockaddr_storage addr;
  socklen_t addr_len;
  int rc = mp__bind_parse_local(L, 1, &addr, &addr_len);
  int opts_idx = lua_istable(L, 3) ? 3 : 4;
  if (opts_idx == 4 && !lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TFUNCTION);
  mp__tcp_opts opts;
  mp__tcp_read_opts(L, opts_idx, &opts);
  if (rc < 0) return mp__bind_push_fail(L, rc, "listen");
  tcp_server *s = calloc(1, sizeof *s);
  if (!s) return luaL_error(L, "moonport: out of memory");
  mp__handle_push(L, &s->h, MP__TCP_SERVER_META);
  s->h.kind = &server_kind;
  s->opts = opts.conn;
  s->on_connection = s->accept_cb = LUA_NOREF;
  s->retry.heap_index = MP__TIMER_NOT_IN_HEAP;
  mp__bind *b = mp__bind_get(L);
  rc = mp__sock_open(&s->h.sock, b->loop->port, addr.ss_family);
  if (rc == 0)
    rc = mp__sock_listen(&s->h.sock, (struct sockaddr *)&addr, addr_len, opts.backlog,
                         opts.reuseport);
  if (rc < 0) {
    server_close(L, &s->h);
    return mp__bind_push_fail(L, rc, "listen");
  }
  if (opts_idx == 4 && lua_isfunction(L, 3)) {
    lua_pushvalue(L, 3);
    s->on_connection = luaL_ref(L, LUA_REGISTRYINDEX);
    mp__handle_anchor(L, &s->h, 1, -1);
    start_accept(s);
  }
  return 1;
}

/* server:accept(cb): one connection, for a server made without
 * on_connection: cb(err, conn). */
static int server_accept(lua_State *L) {
  tcp_server *s = (tcp_server *)mp__handle_check(L, 1, MP__TCP_SERVER_META);
  if (lua_isnoneornil(L, 2)) {
    int n = mp__bind_coroutine_call(L, "tcp", "accept");
    if (n >= 0) return n;
  }
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (s->h.closed) return mp__bind_push_fail(L, MP_ECLOSED, "accept");
  if (s->on_connection != LUA_NOREF)
    return luaL_error(L, "moonport: this server accepts by itself (it has on_connection)");
  if (s->accept_cb != LUA_NOREF) return luaL_error(L, "moonport: server is already accepting");
  lua_settop(L, 2);
  s->accept_cb = luaL_ref(L, LUA_REGISTRYINDEX);
  mp__handle_anchor(L, &s->h, 1, 1);
  if (!s->accepting && !s->paused) start_accept(s);
  lua_pushboolean(L, 1);
  return 1;
}

/* server:address() -> host, port */
static int server_address(lua_State *L) {
  mp__handle *h = mp__handle_check(L, 1, MP__TCP_SERVER_META);
  if (h->closed) return mp__bind_push_fail(L, MP_ECLOSED, "address");
  struct sockaddr_storage addr;
  int rc = mp__sock_address(&h->sock, 0, &addr);
  if (rc < 0) return mp__bind_push_fail(L, rc, "address");
  return mp__bind_push_addr(L, &addr);
}

static int server_close_method(lua_State *L) {
  mp__handle *h = mp__handle_check(L, 1, MP__TCP_SERVER_META);
  server_close(L, h);
  return 0;
}

static int server_tostring(lua_State *L) {
  return mp__handle_tostring(L, MP__TCP_SERVER_META);
}

/* mp.tcp.connect(host, port, cb [, opts]) -> conn, or nil, err, name if it
 * cannot even start. cb(err, conn) once connected or failed. */
static int tcp_connect(lua_State *L) {
  struct sockaddr_storage addr;
  socklen_t addr_len;
  const char *host = luaL_checkstring(L, 1);
  uint16_t port = mp__bind_check_port(L, 2);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  mp__tcp_opts opts;
  mp__tcp_read_opts(L, 4, &opts);
  /* Numeric addresses connect at once; names resolve first. */
  if (mp__bind_parse_host(host, port, &addr, &addr_len) < 0) return mp__tcp_dial(L, port, &opts);
  mp__bind *b = mp__bind_get(L);
  mp__tcp_conn *c = mp__tcp_conn_new(L, &opts.conn);
  int conn_idx = lua_gettop(L);
  int rc = mp__sock_open(&c->h.sock, b->loop->port, addr.ss_family);
  if (rc < 0) {
    mp__tcp_conn_close(L, &c->h);
    return mp__bind_push_fail(L, rc, "connect");
  }
  mp__tcp_connect_begin(L, c, conn_idx, opts.connect_timeout);
  c->write_op.cb = mp__tcp_connect_done;
  mp__sock_connect(&c->h.sock, &c->write_op, (struct sockaddr *)&addr, addr_len);
  lua_settop(L, conn_idx);
  return 1;
}

void mp__bind_open_tcp_server(lua_State *L) {
  static const luaL_Reg methods[] = {{"accept", server_accept},
                                     {"address", server_address},
                                     {"close", server_close_method},
                                     {NULL, NULL}};
  static const luaL_Reg metamethods[] = {{"__gc", mp__handle_gc},
                                         {"__close", server_close_method},
                                         {"__tostring", server_tostring},
                                         {NULL, NULL}};
  mp__bind_metatable(L, MP__TCP_SERVER_META, methods, metamethods);
}

/* mp.tcp.coroutine_form(t): lua/moonport/tcp.lua's waiting methods. */
static int tcp_coroutine_form(lua_State *L) {
  return mp__bind_set_coroutine_form(L, "tcp");
}

/* mp.tcp = {listen, connect, conn_methods, server_methods}: the method
 * tables are there for the coroutine layer (lua/moonport/tcp.lua). */
void mp__bind_open_tcp(lua_State *L) {
  mp__bind_open_tcp_conn(L);
  mp__bind_open_tcp_server(L);
  lua_newtable(L);
  lua_pushvalue(L, -2);
  static const luaL_Reg funcs[] = {{"listen", tcp_listen},
                                   {"connect", tcp_connect},
                                   {"coroutine_form", tcp_coroutine_form},
                                   {NULL, NULL}};
  mp__bind_setfuncs(L, funcs);
  lua_pop(L, 1);
  luaL_getmetatable(L, MP__TCP_META);
  lua_getfield(L, -1, "__index");
  lua_setfield(L, -3, "conn_methods");
  lua_pop(L, 1);
  luaL_getmetatable(L, MP__TCP_SERVER_META);
  lua_getfield(L, -1, "__index");
  lua_setfield(L, -3, "server_methods");
  lua_pop(L, 1);
  lua_setfield(L, -3, "tcp");
}
