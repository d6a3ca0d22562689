/* bind_tcp_addr.c: hosts, ports, options and error values of mp.tcp. */
#include <string.h>

#include "bind/bind_tcp.h"
#include "platform/net.h"

#define DEFAULT_HIGH_WATER (64u * 1024)
#define DEFAULT_WRITE_LIMIT (16u * 1024 * 1024)
#define DEFAULT_BACKLOG 511
#define MAX_TIMEOUT_MS (24 * 3600 * 1000) /* a day */

/* An optional integer field of the table at idx, within [min, max]. */
static uint32_t opt_uint(lua_State *L, int idx, const char *name, uint32_t dflt, lua_Integer min,
                         lua_Integer max) {
  int type = lua_getfield(L, idx, name);
  uint32_t value = dflt;
  if (type != LUA_TNIL) {
    int isint;
    lua_Integer n = lua_tointegerx(L, -1, &isint);
    if (type != LUA_TNUMBER || !isint || n < min || n > max)
      luaL_error(L, "bad option '%s' (integer from %d to %d expected)", name, (int)min, (int)max);
    value = (uint32_t)n;
  }
  lua_pop(L, 1);
  return value;
}

void mp__tcp_read_opts(lua_State *L, int idx, mp__tcp_opts *o) {
  *o =
      (mp__tcp_opts){.conn = {.high_water = DEFAULT_HIGH_WATER, .write_limit = DEFAULT_WRITE_LIMIT},
                     .backlog = DEFAULT_BACKLOG};
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  mp__tcp_conn_opts *c = &o->conn;
  c->high_water = opt_uint(L, idx, "high_water", c->high_water, 1, INT32_MAX);
  c->write_limit = opt_uint(L, idx, "write_limit", c->write_limit, 1, INT32_MAX);
  if (c->write_limit < c->high_water) c->write_limit = c->high_water;
  c->read_timeout = opt_uint(L, idx, "read_timeout", 0, 0, MAX_TIMEOUT_MS);
  c->write_timeout = opt_uint(L, idx, "write_timeout", 0, 0, MAX_TIMEOUT_MS);
  o->connect_timeout = opt_uint(L, idx, "timeout", 0, 0, MAX_TIMEOUT_MS);
  o->backlog = (int)opt_uint(L, idx, "backlog", DEFAULT_BACKLOG, 1, 65535);
  lua_getfield(L, idx, "reuseport");
  o->reuseport = lua_toboolean(L, -1);
  lua_pop(L, 1);
}

void mp__tcp_read_timeouts(lua_State *L, int idx, mp__tcp_conn_opts *c) {
  luaL_checktype(L, idx, LUA_TTABLE);
  c->read_timeout = opt_uint(L, idx, "read", 0, 0, MAX_TIMEOUT_MS);
  c->write_timeout = opt_uint(L, idx, "write", 0, 0, MAX_TIMEOUT_MS);
}

int mp__tcp_parse_addr(lua_State *L, int hidx, struct sockaddr_storage *out, socklen_t *len) {
  const char *host = luaL_checkstring(L, hidx);
  lua_Integer port = luaL_checkinteger(L, hidx + 1);
  luaL_argcheck(L, port >= 0 && port <= 65535, hidx + 1, "port must be 0-65535");
  memset(out, 0, sizeof *out);
  if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
  struct sockaddr_in *v4 = (struct sockaddr_in *)out;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof *v4;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    *len = sizeof *v6;
  } else {
    return MP_EAI_NONAME;
  }
  return 0;
}

int mp__tcp_push_addr(lua_State *L, const struct sockaddr_storage *addr) {
  char text[INET6_ADDRSTRLEN];
  if (addr->ss_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)addr;
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    lua_pushstring(L, text);
    lua_pushinteger(L, ntohs(v6->sin6_port));
  } else {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    lua_pushstring(L, text);
    lua_pushinteger(L, ntohs(v4->sin_port));
  }
  return 2;
}

void mp__tcp_push_err(lua_State *L, int err, const char *what) {
  lua_pushfstring(L, "%s: %s: %s", mp_err_name(err), what, mp_strerror(err));
}

void mp__tcp_call_failed(mp__bind *b, int err, const char *what) {
  mp__tcp_push_err(b->L, err, what);
  lua_pushnil(b->L);
  lua_pushstring(b->L, mp_err_name(err));
  mp__bind_call(b, 3);
}

int mp__tcp_push_fail(lua_State *L, int err, const char *what) {
  lua_pushnil(L);
  mp__tcp_push_err(L, err, what);
  lua_pushstring(L, mp_err_name(err));
  return 3;
}
