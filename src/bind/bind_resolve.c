/* bind_resolve.c: hosts of the socket bindings (see bind_resolve.h). */
#include "bind/bind_resolve.h"

const char *mp__check_host(lua_State *L, int hidx, size_t *len) {
  const char *host = luaL_checklstring(L, hidx, len);
  const char *bad = mp__resolve_check_host(host, *len);
  if (bad) luaL_argerror(L, hidx, bad);
  return host;
}

mp__resolve *mp__bind_resolve(lua_State *L, int hidx, const mp__resolve_hints *hints,
                              mp__resolve_cb done, void *data, int *err) {
  size_t len;
  const char *host = mp__check_host(L, hidx, &len);
  return mp__resolve_start(mp__bind_get(L)->loop, host, len, hints, done, data, err);
}

void mp__push_resolve_err(lua_State *L, const mp__resolve *r) {
  lua_pushfstring(L, "%s: resolve '%s': %s", mp_err_name(r->result), r->host,
                  mp__resolve_message(r));
}
