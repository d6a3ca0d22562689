/* fuzz_lua.h: what the libFuzzer targets share: one Lua state for the whole
 * run with the module under test loaded from its source file, and a failed
 * check that aborts, which libFuzzer reports as a crash with the input. */
#ifndef MP_FUZZ_LUA_H
#define MP_FUZZ_LUA_H

#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* The Lua state, made on first use, with the module that the file at path
 * returns in its registry under "fuzz.module". Later calls return the same
 * state. A module that does not load aborts the run. */
static lua_State *fuzz_lua_state(const char *path) {
  static lua_State *L;
  if (L) return L;
  L = luaL_newstate();
  FUZZ_CHECK(L != NULL);
  luaL_openlibs(L);
  if (luaL_dofile(L, path) != LUA_OK) {
    fprintf(stderr, "cannot load %s: %s\n", path, lua_tostring(L, -1));
    abort();
  }
  FUZZ_CHECK(lua_istable(L, -1));
  lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.module");
  return L;
}

/* Push the function called name of the module. */
static void fuzz_push_function(lua_State *L, const char *name) {
  lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.module");
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
  FUZZ_CHECK(lua_isfunction(L, -1));
}

/* Call the function under its arguments (nargs on the stack), which must not
 * raise; leaves nresults results. */
static void fuzz_call(lua_State *L, int nargs, int nresults) {
  if (lua_pcall(L, nargs, nresults, 0) != LUA_OK) {
    fprintf(stderr, "Lua error: %s\n", lua_tostring(L, -1));
    abort();
  }
}

#endif
