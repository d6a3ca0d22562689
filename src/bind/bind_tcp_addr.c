/* bind_tcp_addr.c: the options of mp.tcp. */
#include "bind/bind_tcp.h"

#define DEFAULT_HIGH_WATER (64u * 1024)
#define DEFAULT_WRITE_LIMIT (16u * 1024 * 1024)
#define DEFAULT_BACKLOG 511
#define MAX_TIMEOUT_MS (24 * 3600 * 1000) /* a day */

void mp__tcp_read_opts(lua_State *L, int idx, mp__tcp_opts *o) {
  *o =
      (mp__tcp_opts){.conn = {.high_water = DEFAULT_HIGH_WATER, .write_limit = DEFAULT_WRITE_LIMIT},
                     .backlog = DEFAULT_BACKLOG};
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  mp__tcp_conn_opts *c = &o->conn;
  c->high_water = mp__bind_opt_uint(L, idx, "high_water", c->high_water, 1, INT32_MAX);
  c->write_limit = mp__bind_opt_uint(L, idx, "write_limit", c->write_limit, 1, INT32_MAX);
  if (c->write_limit < c->high_water) c->write_limit = c->high_water;
  c->read_timeout = mp__bind_opt_uint(L, idx, "read_timeout", 0, 0, MAX_TIMEOUT_MS);
  c->write_timeout = mp__bind_opt_uint(L, idx, "write_timeout", 0, 0, MAX_TIMEOUT_MS);
  o->connect_timeout = mp__bind_opt_uint(L, idx, "timeout", 0, 0, MAX_TIMEOUT_MS);
  o->backlog = (int)mp__bind_opt_uint(L, idx, "backlog", DEFAULT_BACKLOG, 1, 65535);
  lua_getfield(L, idx, "reuseport");
  o->reuseport = lua_toboolean(L, -1);
  lua_pop(L, 1);
}

void mp__tcp_read_timeouts(lua_State *L, int idx, mp__tcp_conn_opts *c) {
  luaL_checktype(L, idx, LUA_TTABLE);
  c->read_timeout = mp__bind_opt_uint(L, idx, "read", 0, 0, MAX_TIMEOUT_MS);
  c->write_timeout = mp__bind_opt_uint(L, idx, "write", 0, 0, MAX_TIMEOUT_MS);
}
