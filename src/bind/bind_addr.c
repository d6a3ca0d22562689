/* bind_addr.c: hosts, ports, options and failure values of the socket handles. */
#include <string.h>

#include "bind/bind_handle.h"
#include "platform/net.h"

uint32_t mp__bind_opt_uint(lua_State *L, int idx, const char *name, uint32_t dflt, lua_Integer min,
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

int mp__bind_parse_host(const char *host, uint16_t port, struct sockaddr_storage *out,
                        socklen_t *len) {
  memset(out, 0, sizeof *out);
  struct sockaddr_in *v4 = (struct sockaddr_in *)out;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof *v4;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *len = sizeof *v6;
  } else {
    return MP_EAI_NONAME;
  }
  return 0;
}

uint16_t mp__bind_check_port(lua_State *L, int idx) {
  lua_Integer port = luaL_checkinteger(L, idx);
  luaL_argcheck(L, port >= 0 && port <= 65535, idx, "port must be 0-65535");
  return (uint16_t)port;
}

int mp__bind_parse_local(lua_State *L, int hidx, struct sockaddr_storage *out, socklen_t *len) {
  const char *host = luaL_checkstring(L, hidx);
  uint16_t port = mp__bind_check_port(L, hidx + 1);
  /* Where to listen is one address, known now: localhost is the one name
   * whose address every system agrees on. */
  if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
  return mp__bind_parse_host(host, port, out, len);
}

int mp__bind_push_addr(lua_State *L, const struct sockaddr_storage *addr) {
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

void mp__bind_push_err(lua_State *L, int err, const char *what) {
  lua_pushfstring(L, "%s: %s: %s", mp_err_name(err), what, mp_strerror(err));
}

void mp__bind_call_failed(mp__bind *b, int err, const char *what) {
  mp__bind_push_err(b->L, err, what);
  lua_pushnil(b->L);
  lua_pushstring(b->L, mp_err_name(err));
  mp__bind_call(b, 3);
}

int mp__bind_push_fail(lua_State *L, int err, const char *what) {
  lua_pushnil(L);
  mp__bind_push_err(L, err, what);
  lua_pushstring(L, mp_err_name(err));
  return 3;
}
