/* cmodule.c: an example C module for moonport: SHA-256 of files on the
 * work threads, and a pipe read through the loop's port (mp_io). Built as
 * a loadable module: require "cmodule", from the moonport runner or from a
 * stock lua5.4 that has moonport. */
#include "cmodule.h"

#include "sha256.h"

int cmodule_fail(lua_State *L, int err, const char *what) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s: %s", mp_err_name(err), what, mp_strerror(err));
  lua_pushstring(L, mp_err_name(err));
  return 3;
}

/* cmodule.sha256(data) -> hex digest, at once, on the Lua thread. */
static int l_sha256(lua_State *L) {
  size_t len;
  const char *data = luaL_checklstring(L, 1, &len);
  sha256_ctx ctx;
  uint8_t digest[SHA256_DIGEST_SIZE];
  char hex[2 * SHA256_DIGEST_SIZE + 1];
  sha256_init(&ctx);
  sha256_update(&ctx, data, len);
  sha256_final(&ctx, digest);
  sha256_hex(digest, hex);
  lua_pushstring(L, hex);
  return 1;
}

int luaopen_cmodule(lua_State *L) {
  MP_CHECK_ABI(L);
  static const luaL_Reg funcs[] = {{"sha256", l_sha256},
                                   {"sha256_file", cmodule_sha256_file},
                                   {"pipe", cmodule_pipe},
                                   {NULL, NULL}};
  cmodule_open_pipe(L);
  luaL_newlib(L, funcs);
  return 1;
}
