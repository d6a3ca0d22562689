/* bind_udp.c: mp.udp.bind and its socket handle: receiving, options,
 * closing. Sending is in bind_udp_send.c.
 *
 * A datagram longer than recv_size arrives cut to recv_size bytes, and its
 * callback's flags say so ({truncated = true}): the kernel has dropped the
 * rest either way, and the first part is often enough to answer or log.
 */
#include <stdlib.h>
#include <string.h>

#include "bind/bind_resolve.h"
#include "bind/bind_udp.h"
#include "platform/net.h"

#define DEFAULT_SEND_QUEUE_LIMIT (1024u * 1024)
/* Datagrams taken in one go from a socket that keeps receiving, before the
 * other sockets get their turn. */
#define RECV_ROUNDS 16

static void unref(lua_State *L, int *ref) {
  luaL_unref(L, LUA_REGISTRYINDEX, *ref);
  *ref = LUA_NOREF;
}

static void udp_free(mp__handle *h) {
  mp__udp_send_free_all((mp__udp *)h);
  free(h);
}

/* Close: a receive in flight and the queued sends hear ECANCELED once,
 * when their cancelled ops complete. */
static void udp_close(lua_State *L, mp__handle *h) {
  mp__udp *u = (mp__udp *)h;
  if (h->closed) return;
  if (!u->receiving) {
    /* Closed from its own receive callback: nothing is left to tell. */
    u->recv_mode = MP__RECV_OFF;
    unref(L, &u->recv_cb);
  }
  /* Their completions still come, and say ECANCELED. */
  if (u->resolving) mp__resolve_cancel(u->resolving);
  if (u->connecting) mp__resolve_cancel(u->connecting);
  mp__handle_close(L, h);
}

static const mp__handle_kind udp_kind = {udp_close, udp_free};

int mp__udp_busy(const mp__udp *u) {
  return u->recv_mode != MP__RECV_OFF || u->sq_head || u->sending || u->connecting;
}

void mp__udp_settle(mp__udp *u) {
  if (!u->h.closed && !mp__udp_busy(u)) mp__handle_anchor(u->h.b->L, &u->h, 0, 0);
}

/* The open socket at 1, or NULL after pushing nil, err, name. */
static mp__udp *open_udp(lua_State *L, const char *what) {
  mp__udp *u = (mp__udp *)mp__handle_check(L, 1, MP__UDP_META);
  if (!u->h.closed) return u;
  mp__bind_push_fail(L, MP_ECLOSED, what);
  return NULL;
}

static void recv_done(mp_loop *loop, mp_op *op);

static void start_recv(mp__udp *u) {
  if (u->receiving) return; /* the one in flight comes back and restarts */
  u->receiving = 1;
  u->recv_op.cb = recv_done;
  mp__handle_op_started(&u->h);
  mp__sock_wait_readable(&u->h.sock, &u->recv_op);
}

/* Push the receive callback; a one-shot receive ends with it. */
static void push_recv_cb(mp__udp *u) {
  lua_State *L = u->h.b->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, u->recv_cb);
  if (u->recv_mode == MP__RECV_ONCE) {
    u->recv_mode = MP__RECV_OFF;
    unref(L, &u->recv_cb);
  }
}

/* Stop receiving and call the receive callback with (err, nil, name). */
static void recv_end(mp__udp *u, int err) {
  lua_State *L = u->h.b->L;
  u->recv_mode = MP__RECV_OFF;
  lua_rawgeti(L, LUA_REGISTRYINDEX, u->recv_cb);
  unref(L, &u->recv_cb);
  mp__bind_call_failed(u->h.b, err, "recv");
}

/* Hand the datagrams waiting on the socket to the callback, one by one. A
 * failed recvfrom (ECONNREFUSED on a connected socket) is reported and,
 * for recv_start, receiving goes on: the error was the socket's, once. */
static void pull(mp__udp *u) {
  mp__bind *b = u->h.b;
  lua_State *L = b->L;
  for (int round = 0; round < RECV_ROUNDS; round++) {
    if (u->recv_mode == MP__RECV_OFF || u->h.closed) return;
    struct sockaddr_storage from;
    int truncated;
    int n = mp__sock_recvfrom(&u->h.sock, b->read_buf, u->recv_size, &from, &truncated);
    if (n == MP_EAGAIN) break;
    push_recv_cb(u);
    if (n < 0) {
      mp__bind_call_failed(b, n, "recv");
      continue;
    }
    lua_pushnil(L);
    lua_pushlstring(L, b->read_buf, (size_t)n);
    mp__bind_push_addr(L, &from);
    if (truncated) {
      lua_createtable(L, 0, 1);
      lua_pushboolean(L, 1);
      lua_setfield(L, -2, "truncated");
    } else {
      lua_pushnil(L);
    }
    mp__bind_call(b, 5);
  }
  if (u->recv_mode != MP__RECV_OFF && !u->h.closed) start_recv(u);
}

static void recv_done(mp_loop *loop, mp_op *op) {
  (void)loop;
  mp__udp *u = MP_CONTAINER_OF(op, mp__udp, recv_op);
  u->receiving = 0;
  if (u->h.closed) {
    if (u->recv_mode != MP__RECV_OFF) recv_end(u, MP_ECANCELED);
  } else if (u->recv_mode != MP__RECV_OFF) {
    if (op->result == MP_ECANCELED) {
      start_recv(u); /* stopped, then started again before this came back */
    } else if (op->result < 0) {
      recv_end(u, op->result);
    } else {
      pull(u);
    }
  }
  if (mp__handle_op_done(&u->h)) mp__udp_settle(u);
}

static int start_receiving(lua_State *L, int mode) {
  mp__udp *u = open_udp(L, "recv");
  if (!u) return 3;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (u->recv_mode != MP__RECV_OFF) return luaL_error(L, "moonport: socket is already receiving");
  mp__handle_read_buf(L, u->h.b);
  lua_settop(L, 2);
  u->recv_cb = luaL_ref(L, LUA_REGISTRYINDEX);
  u->recv_mode = (uint8_t)mode;
  mp__handle_anchor(L, &u->h, 1, 1);
  start_recv(u);
  lua_pushboolean(L, 1);
  return 1;
}

/* sock:recv_start(cb): cb(err, data, host, port, flags) for every datagram. */
static int udp_recv_start(lua_State *L) {
  return start_receiving(L, MP__RECV_ON);
}

/* sock:recv(cb): the next datagram only. sock:recv(): the coroutine form. */
static int udp_recv(lua_State *L) {
  if (!lua_isfunction(L, 2)) {
    int n = mp__bind_coroutine_call(L, "udp", "recv");
    if (n >= 0) return n;
  }
  return start_receiving(L, MP__RECV_ONCE);
}

/* sock:recv_stop(): no more receive callbacks until the next recv. */
static int udp_recv_stop(lua_State *L) {
  mp__udp *u = open_udp(L, "recv_stop");
  if (!u) return 3;
  u->recv_mode = MP__RECV_OFF;
  unref(L, &u->recv_cb);
  mp__sock_cancel_read(&u->h.sock);
  mp__handle_anchor(L, &u->h, mp__udp_busy(u), 1);
  lua_pushboolean(L, 1);
  return 1;
}

/* Push true, or nil, err, name for rc; returns the count. */
static int push_result(lua_State *L, int rc, const char *what) {
  if (rc < 0) return mp__bind_push_fail(L, rc, what);
  lua_pushboolean(L, 1);
  return 1;
}

/* The length of a resolved address. */
static socklen_t addr_len(const struct sockaddr_storage *a) {
  return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* connect(host, port, cb)'s host has resolved: connect to its first
 * address, and tell cb. */
static void connect_resolved(mp__resolve *r) {
  mp__udp *u = r->data;
  mp__bind *b = u->h.b;
  lua_State *L = b->L;
  u->connecting = NULL;
  lua_rawgeti(L, LUA_REGISTRYINDEX, u->connect_cb);
  unref(L, &u->connect_cb);
  int rc = u->h.closed ? MP_ECANCELED : r->result;
  if (rc == 0)
    rc = mp__sock_connect_dgram(&u->h.sock, (struct sockaddr *)r->addrs, addr_len(r->addrs));
  if (rc == 0) {
    u->connected = 1;
    lua_pushnil(L);
    mp__bind_call(b, 1);
  } else {
    if (rc == r->result) {
      mp__push_resolve_err(L, r);
    } else {
      mp__bind_push_err(L, rc, "connect");
    }
    lua_pushstring(L, mp_err_name(rc));
    mp__bind_call(b, 2);
  }
  if (mp__handle_op_done(&u->h)) mp__udp_settle(u);
}

/* sock:connect(host, port [, cb]): only this peer's datagrams arrive, send
 * may leave out host and port, and a closed port there shows as
 * ECONNREFUSED on a later recv or send. A numeric host without cb connects
 * at once: true, or nil, err, name. With cb, the host (a name, resolved in
 * the socket's family, or a number) resolves first and cb(err, name) tells
 * how it went; in a coroutine, a name without cb waits the same way. */
static int udp_connect(lua_State *L) {
  mp__udp *u = (mp__udp *)mp__handle_check(L, 1, MP__UDP_META);
  const char *host = luaL_checkstring(L, 2);
  uint16_t port = mp__bind_check_port(L, 3);
  int has_cb = !lua_isnoneornil(L, 4);
  if (has_cb) luaL_checktype(L, 4, LUA_TFUNCTION);
  struct sockaddr_storage addr;
  socklen_t len;
  int numeric = mp__bind_parse_host(host, port, &addr, &len) == 0;
  if (!numeric) {
    size_t host_len;
    mp__check_host(L, 2, &host_len);
    if (!has_cb) {
      int n = lua_isyieldable(L) ? mp__bind_coroutine_call(L, "udp", "connect") : -1;
      if (n >= 0) return n;
      return luaL_argerror(L, 2, "a host name needs a callback (or a coroutine to wait in)");
    }
  }
  if (!(u = open_udp(L, "connect"))) return 3;
  if (!has_cb) {
    int rc = mp__sock_connect_dgram(&u->h.sock, (struct sockaddr *)&addr, len);
    if (rc == 0) u->connected = 1;
    return push_result(L, rc, "connect");
  }
  if (u->connecting) return luaL_error(L, "moonport: socket is already connecting");
  mp__resolve_hints hints = {.family = u->family, .socktype = SOCK_DGRAM, .port = port};
  int err;
  u->connecting = mp__bind_resolve(L, 2, &hints, connect_resolved, u, &err);
  if (!u->connecting) return mp__bind_push_fail(L, err, "connect");
  lua_pushvalue(L, 4);
  u->connect_cb = luaL_ref(L, LUA_REGISTRYINDEX);
  mp__handle_op_started(&u->h);
  mp__handle_anchor(L, &u->h, 1, 1);
  lua_pushboolean(L, 1);
  return 1;
}

static int set_option(lua_State *L, int option, int value, const char *what) {
  mp__udp *u = open_udp(L, what);
  if (!u) return 3;
  return push_result(L, mp__sock_set_dgram_opt(&u->h.sock, option, value), what);
}

static int check_boolean(lua_State *L, int idx) {
  luaL_checktype(L, idx, LUA_TBOOLEAN);
  return lua_toboolean(L, idx);
}

/* sock:set_broadcast(on): SO_BROADCAST, needed to send to a broadcast address. */
static int udp_set_broadcast(lua_State *L) {
  return set_option(L, MP__DGRAM_BROADCAST, check_boolean(L, 2), "set_broadcast");
}

/* sock:set_multicast_ttl(n): hops of multicast datagrams sent (1-255). */
static int udp_set_multicast_ttl(lua_State *L) {
  lua_Integer ttl = luaL_checkinteger(L, 2);
  luaL_argcheck(L, ttl >= 1 && ttl <= 255, 2, "ttl must be 1-255");
  return set_option(L, MP__DGRAM_MULTICAST_TTL, (int)ttl, "set_multicast_ttl");
}

/* sock:set_multicast_loop(on): whether own multicast datagrams come back. */
static int udp_set_multicast_loop(lua_State *L) {
  return set_option(L, MP__DGRAM_MULTICAST_LOOP, check_boolean(L, 2), "set_multicast_loop");
}

/* The interface argument at idx for a group of family: an IPv4 address
 * of the interface, or an IPv6 interface's name or index. Returns NULL
 * for none, raises on one that cannot be. */
static const struct sockaddr *check_interface(lua_State *L, int idx, int family,
                                              struct sockaddr_storage *out) {
  if (lua_isnoneornil(L, idx)) return NULL;
  socklen_t len;
  if (family == AF_INET) {
    const char *text = luaL_checkstring(L, idx);
    if (mp__bind_parse_host(text, 0, out, &len) < 0 || out->ss_family != AF_INET)
      luaL_argerror(L, idx, "interface must be an IPv4 address for an IPv4 group");
    return (const struct sockaddr *)out;
  }
  memset(out, 0, sizeof *out);
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
  v6->sin6_family = AF_INET6;
  if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_Integer index = luaL_checkinteger(L, idx);
    luaL_argcheck(L, index >= 0 && index <= UINT32_MAX, idx, "interface index out of range");
    v6->sin6_scope_id = (uint32_t)index;
  } else {
    v6->sin6_scope_id = if_nametoindex(luaL_checkstring(L, idx));
    if (v6->sin6_scope_id == 0) luaL_argerror(L, idx, "no such interface");
  }
  return (const struct sockaddr *)out;
}

static int membership(lua_State *L, int join, const char *what) {
  const char *group = luaL_checkstring(L, 2);
  struct sockaddr_storage addr, iface_addr;
  socklen_t len;
  int rc = mp__bind_parse_host(group, 0, &addr, &len);
  if (rc < 0) luaL_argerror(L, 2, "group must be a numeric IPv4 or IPv6 address");
  const struct sockaddr *iface = check_interface(L, 3, addr.ss_family, &iface_addr);
  mp__udp *u = open_udp(L, what);
  if (!u) return 3;
  rc = mp__sock_membership(&u->h.sock, (struct sockaddr *)&addr, iface, join);
  return push_result(L, rc, what);
}

/* sock:join_group(group [, interface]) */
static int udp_join_group(lua_State *L) {
  return membership(L, 1, "join_group");
}

/* sock:leave_group(group [, interface]) */
static int udp_leave_group(lua_State *L) {
  return membership(L, 0, "leave_group");
}

/* sock:set_multicast_interface(interface): where multicast datagrams
 * leave: an IPv4 address of the interface, or an IPv6 interface's name or
 * index, as the socket's family wants. */
static int udp_set_multicast_interface(lua_State *L) {
  mp__udp *u = (mp__udp *)mp__handle_check(L, 1, MP__UDP_META);
  struct sockaddr_storage addr;
  if (lua_isnoneornil(L, 2)) luaL_argerror(L, 2, "interface expected");
  const struct sockaddr *iface = check_interface(L, 2, u->family, &addr);
  if (!(u = open_udp(L, "set_multicast_interface"))) return 3;
  return push_result(L, mp__sock_set_multicast_if(&u->h.sock, iface), "set_multicast_interface");
}

/* sock:local_address() -> host, port */
static int udp_local_address(lua_State *L) {
  mp__udp *u = open_udp(L, "local_address");
  if (!u) return 3;
  struct sockaddr_storage addr;
  int rc = mp__sock_address(&u->h.sock, 0, &addr);
  if (rc < 0) return mp__bind_push_fail(L, rc, "local_address");
  return mp__bind_push_addr(L, &addr);
}

/* sock:close(): idempotent; pending callbacks hear "ECANCELED" once. */
static int udp_close_method(lua_State *L) {
  udp_close(L, mp__handle_check(L, 1, MP__UDP_META));
  return 0;
}

static int udp_closed(lua_State *L) {
  lua_pushboolean(L, mp__handle_check(L, 1, MP__UDP_META)->closed);
  return 1;
}

static int udp_tostring(lua_State *L) {
  return mp__handle_tostring(L, MP__UDP_META);
}

/* An optional boolean field of the options table at idx. */
static int opt_bool(lua_State *L, int idx, const char *name) {
  int type = lua_getfield(L, idx, name);
  if (type != LUA_TNIL && type != LUA_TBOOLEAN)
    luaL_error(L, "bad option '%s' (boolean expected, got %s)", name, luaL_typename(L, -1));
  int on = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return on;
}

/* mp.udp.bind(host, port [, opts]) -> sock, or nil, err, name. */
static int udp_bind(lua_State *L) {
  struct sockaddr_storage addr;
  socklen_t len;
  int rc = mp__bind_parse_local(L, 1, &addr, &len);
  uint32_t recv_size = MP__READ_BUF_SIZE, sq_limit = DEFAULT_SEND_QUEUE_LIMIT;
  unsigned flags = 0;
  int broadcast = 0;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    recv_size = mp__bind_opt_uint(L, 3, "recv_size", recv_size, 1, MP__READ_BUF_SIZE);
    sq_limit = mp__bind_opt_uint(L, 3, "send_queue_limit", sq_limit, 1, INT32_MAX);
    broadcast = opt_bool(L, 3, "broadcast");
    if (opt_bool(L, 3, "reuseaddr")) flags |= MP__BIND_REUSEADDR;
    if (opt_bool(L, 3, "ipv6only")) flags |= MP__BIND_IPV6ONLY;
  }
  if (rc < 0) return mp__bind_push_fail(L, rc, "bind");
  mp__udp *u = calloc(1, sizeof *u);
  if (!u) return luaL_error(L, "moonport: out of memory");
  mp__handle_push(L, &u->h, MP__UDP_META);
  u->h.kind = &udp_kind;
  u->recv_cb = LUA_NOREF;
  u->connect_cb = LUA_NOREF;
  u->recv_size = recv_size;
  u->sq_limit = sq_limit;
  u->family = (uint8_t)addr.ss_family;
  mp__sock *s = &u->h.sock;
  rc = mp__sock_open_dgram(s, mp__bind_get(L)->loop->port, addr.ss_family);
  if (rc == 0) rc = mp__sock_bind(s, (struct sockaddr *)&addr, len, flags);
  if (rc == 0 && broadcast) rc = mp__sock_set_dgram_opt(s, MP__DGRAM_BROADCAST, 1);
  if (rc < 0) {
    udp_close(L, &u->h);
    return mp__bind_push_fail(L, rc, "bind");
  }
  return 1;
}

/* mp.udp.coroutine_form(t): lua/moonport/udp.lua's waiting methods. */
static int udp_coroutine_form(lua_State *L) {
  return mp__bind_set_coroutine_form(L, "udp");
}

/* mp.udp = {bind, coroutine_form, methods}: the method table is there for
 * the coroutine layer (lua/moonport/udp.lua). */
void mp__bind_open_udp(lua_State *L) {
  static const luaL_Reg methods[] = {{"recv", udp_recv},
                                     {"recv_start", udp_recv_start},
                                     {"recv_stop", udp_recv_stop},
                                     {"send", mp__udp_send_method},
                                     {"connect", udp_connect},
                                     {"set_broadcast", udp_set_broadcast},
                                     {"set_multicast_ttl", udp_set_multicast_ttl},
                                     {"set_multicast_loop", udp_set_multicast_loop},
                                     {"set_multicast_interface", udp_set_multicast_interface},
                                     {"join_group", udp_join_group},
                                     {"leave_group", udp_leave_group},
                                     {"local_address", udp_local_address},
                                     {"close", udp_close_method},
                                     {"closed", udp_closed},
                                     {NULL, NULL}};
  static const luaL_Reg metamethods[] = {{"__gc", mp__handle_gc},
                                         {"__close", udp_close_method},
                                         {"__tostring", udp_tostring},
                                         {NULL, NULL}};
  mp__bind_metatable(L, MP__UDP_META, methods, metamethods);
  lua_newtable(L);
  lua_pushvalue(L, -2);
  static const luaL_Reg funcs[] = {
      {"bind", udp_bind}, {"coroutine_form", udp_coroutine_form}, {NULL, NULL}};
  mp__bind_setfuncs(L, funcs);
  lua_pop(L, 1);
  luaL_getmetatable(L, MP__UDP_META);
  lua_getfield(L, -1, "__index");
  lua_setfield(L, -3, "methods");
  lua_pop(L, 1);
  lua_setfield(L, -3, "udp");
}
