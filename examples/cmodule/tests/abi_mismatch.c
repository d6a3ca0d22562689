/* abi_mismatch.c: a module built as if against a moonport.h of another ABI
 * version; require must refuse it with MP_CHECK_ABI's message. */
#include "moonport.h"

#undef MOONPORT_ABI_VERSION
#define MOONPORT_ABI_VERSION 999

int luaopen_cmodule_abi_mismatch(lua_State *L) {
  MP_CHECK_ABI(L);
  lua_newtable(L);
  return 1;
}
