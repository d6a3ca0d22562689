/* bind_dns.c: mp.dns.resolve, getaddrinfo on the work threads. */
#include "bind/bind_resolve.h"

#include <string.h>

/* The family option's names, and what each asks getaddrinfo for. */
static const char *const family_names[] = {"inet", "inet6", NULL};
static const int family_values[] = {AF_INET, AF_INET6};

static void push_address(lua_State *L, const struct sockaddr_storage *a) {
  char text[INET6_ADDRSTRLEN];
  const void *bytes = a->ss_family == AF_INET6
                          ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
                          : (const void *)&((const struct sockaddr_in *)a)->sin_addr;
  inet_ntop(a->ss_family, bytes, text, sizeof text);
  lua_createtable(L, 0, 2);
  lua_pushstring(L, text);
  lua_setfield(L, -2, "address");
  lua_pushstring(L, a->ss_family == AF_INET6 ? "inet6" : "inet");
  lua_setfield(L, -2, "family");
}

/* The request's data is the registry ref of the callback. */
static void resolved(mp__resolve *r) {
  mp__bind *b = r->loop->data;
  lua_State *L = b->L;
  int ref = (int)(intptr_t)r->data;
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  luaL_unref(L, LUA_REGISTRYINDEX, ref);
  if (r->result < 0) {
    mp__push_resolve_err(L, r);
    lua_pushnil(L);
    lua_pushstring(L, mp_err_name(r->result));
    mp__bind_call(b, 3);
    return;
  }
  lua_pushnil(L);
  lua_createtable(L, r->naddrs, 0);
  for (int i = 0; i < r->naddrs; i++) {
    push_address(L, &r->addrs[i]);
    lua_rawseti(L, -2, i + 1);
  }
  mp__bind_call(b, 2);
}

/* mp.dns.resolve(host [, opts], cb): cb(nil, addresses) with addresses =
 * {{address = "127.0.0.1", family = "inet"}, ...}, or cb(err, nil, name).
 * opts.family: "inet", "inet6", or nil for both. Returns true, or nil,
 * err, name if the resolution could not even start. */
static int dns_resolve(lua_State *L) {
  int cb = lua_isfunction(L, 2) ? 2 : 3;
  size_t len;
  mp__check_host(L, 1, &len);
  mp__resolve_hints hints = {.family = AF_UNSPEC, .socktype = SOCK_STREAM};
  if (cb == 3 && !lua_isnil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "family");
    if (!lua_isnil(L, -1)) {
      int i = luaL_checkoption(L, -1, NULL, family_names);
      hints.family = family_values[i];
    }
    lua_pop(L, 1);
  }
  luaL_checktype(L, cb, LUA_TFUNCTION);
  lua_pushvalue(L, cb);
  int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  int err;
  if (!mp__bind_resolve(L, 1, &hints, resolved, (void *)(intptr_t)ref, &err)) {
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    lua_pushnil(L);
    lua_pushfstring(L, "%s: resolve '%s': %s", mp_err_name(err), lua_tostring(L, 1),
                    mp_strerror(err));
    lua_pushstring(L, mp_err_name(err));
    return 3;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* mp.dns = {resolve} */
void mp__bind_open_dns(lua_State *L) {
  lua_newtable(L);
  lua_pushvalue(L, -2);
  static const luaL_Reg funcs[] = {{"resolve", dns_resolve}, {NULL, NULL}};
  mp__bind_setfuncs(L, funcs);
  lua_pop(L, 1);
  lua_setfield(L, -3, "dns");
}
