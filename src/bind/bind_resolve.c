/* bind_resolve.c: hosts of the socket bindings (see bind_resolve.h). */
#include "bind/bind_resolve.h"

#include <string.h>

int mp__addr_numeric(const char *host, uint16_t port, struct sockaddr_storage *out,
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
