/* cmodule.h: what the example module's files share. */
#ifndef CMODULE_H
#define CMODULE_H

#include <lauxlib.h>
#include <lua.h>

#include "moonport.h"

/* cmodule.sha256_file(path [, cb]): the file's SHA-256 on a work thread. */
int cmodule_sha256_file(lua_State *L);
/* cmodule.pipe() -> reader, writer; and their metatables. */
int cmodule_pipe(lua_State *L);
void cmodule_open_pipe(lua_State *L);

/* Push nil, "ENAME: what: message", "ENAME" for a call that failed at
 * once; returns 3. */
int cmodule_fail(lua_State *L, int err, const char *what);

#endif
