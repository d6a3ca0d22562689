/* fuzz_http.c: libFuzzer target for examples/http_request.lua, the request
 * parser of http_hello.lua. The input is what a client sent; the requests in
 * it are parsed one after another, as the server does with pipelined
 * requests. Checks: parse never raises; it answers nil (incomplete, and only
 * while the header fits in MAX_HEADER) or a status that is 200 or one of
 * its documented refusals (400, 413, 431, 501); a 200's header ends after pos,
 * within MAX_HEADER, and its body length is >= 0 with the next request's
 * position still ahead of it; every shorter prefix of an accepted header is
 * incomplete. */
#include <stdint.h>
#include <string.h>

#include "fuzz_lua.h"

#ifndef HTTP_REQUEST_LUA
#error "HTTP_REQUEST_LUA: the path of examples/http_request.lua"
#endif

/* parse(data[0..len), pos): leaves its five results on the stack. */
static void parse(lua_State *L, const uint8_t *data, size_t len, lua_Integer pos) {
  fuzz_push_function(L, "parse");
  lua_pushlstring(L, (const char *)data, len);
  lua_pushinteger(L, pos);
  fuzz_call(L, 2, 5);
}

static lua_Integer integer_at(lua_State *L, int idx) {
  FUZZ_CHECK(lua_isinteger(L, idx));
  return lua_tointeger(L, idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = fuzz_lua_state(HTTP_REQUEST_LUA);
  lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.module");
  lua_getfield(L, -1, "MAX_HEADER");
  lua_Integer max_header = integer_at(L, -1);
  lua_settop(L, 0);

  lua_Integer pos = 1, len = (lua_Integer)size;
  while (pos <= len) {
    parse(L, data, size, pos);
    if (lua_isnil(L, 1)) {
      FUZZ_CHECK(len - pos + 1 <= max_header);
      break;
    }
    lua_Integer status = integer_at(L, 1);
    FUZZ_CHECK(status == 200 || status == 400 || status == 413 || status == 431 || status == 501);
    FUZZ_CHECK(lua_isboolean(L, 4));
    if (status != 200) {
      FUZZ_CHECK(lua_toboolean(L, 4));
      break;
    }
    lua_Integer after = integer_at(L, 2), body = integer_at(L, 3);
    lua_Integer minor = integer_at(L, 5);
    int close = lua_toboolean(L, 4);
    lua_settop(L, 0);
    FUZZ_CHECK(minor == 0 || minor == 1);
    FUZZ_CHECK(after > pos + 3 && after <= len + 1 && after - pos <= max_header);
    FUZZ_CHECK(body >= 0 && body <= LUA_MAXINTEGER - after);
    /* The same header one byte short is still incomplete. */
    parse(L, data, (size_t)(after - 2), pos);
    FUZZ_CHECK(lua_isnil(L, 1));
    lua_settop(L, 0);
    if (close) break;
    pos = after + body;
  }
  lua_settop(L, 0);
  return 0;
}
