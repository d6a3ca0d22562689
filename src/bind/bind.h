/* bind.h: what the Lua bindings share: the loop's Lua context, protected
 * calls into Lua, handle userdata and their metatables. */
#ifndef MP_BIND_H
#define MP_BIND_H

#include <lauxlib.h>
#include <lua.h>

#include "core/loop.h"

#define MP__LOOP_META "moonport.loop"

/* The Lua side of one loop, in a full userdata that every module function
 * holds as upvalue 1. It lives as long as the lua_State; its __gc frees the
 * loop, after the finalizers of every handle have run (Lua finalizes newer
 * objects first) and before any of their memory is freed (Lua frees only
 * after all finalizers), so no thread of the loop ever sees freed memory. */
typedef struct mp__bind {
  mp_loop *loop;
  /* While mp.run() runs: the thread it was called on, which every callback
   * runs on, and the stack slot of the traceback message handler. */
  lua_State *L;
  int msgh;
  int on_error_ref;                 /* registry ref of the error handler, or LUA_NOREF */
  struct mp__handle *sock_handles;  /* every socket handle not yet freed */
  struct tcp_dial *tcp_dials;       /* connects by name under way (bind_tcp_dial.c) */
  char *read_buf;                   /* where every socket's reads land, allocated on first use */
  struct mp__fs_file *fs_files;     /* every file handle not yet freed */
  struct mp__fs_call *fs_calls;     /* every mp.fs call on a path in flight */
  struct mp__fs_buf *fs_bufs;       /* read buffers kept for the next reads */
  struct mp__bind_signals *signals; /* mp.signal's state, made on first use */
} mp__bind;

/* The function table of C modules (bind_api.c), which every loop carries. */
extern const mp_api mp__module_api;

/* The context of the module function being called (its upvalue 1). */
mp__bind *mp__bind_get(lua_State *L);

/* Call the function below nargs arguments on b->L, protected, with a
 * traceback; an error goes to the error handler and the loop goes on.
 * Pops the function and its arguments. Only while mp.run() runs. */
void mp__bind_call(mp__bind *b, int nargs);

/* Hand the error message on top of b->L's stack to the script's error
 * handler, or print it to stderr by default; pops it. A handler that fails
 * itself is reported on stderr. Only while mp.run() runs. */
void mp__bind_report_error(mp__bind *b);

/* The message handler of every protected call: adds a traceback to the
 * error, as lua.c does; non-strings become their __tostring or a note of
 * their type. The runner uses it too. */
int mp__bind_traceback(lua_State *L);

/* Push the traceback message handler that mp__bind_call uses; returns its
 * stack index (mp.run() keeps it in b->msgh). */
int mp__bind_push_msgh(lua_State *L);

/* Create a userdata of nuv user values whose metatable is tname, zeroed:
 * callers create handles closed first, then open them. */
void *mp__bind_new_handle(lua_State *L, size_t size, int nuv, const char *tname);

/* Make the metatable tname from its methods and metamethods (the methods
 * become __index), leaving it popped. Like module functions, they get the
 * context userdata on top of the stack as upvalue 1. */
void mp__bind_metatable(lua_State *L, const char *tname, const luaL_Reg *methods,
                        const luaL_Reg *metamethods);

/* The coroutine form: a Lua module (tcp.lua, udp.lua, fs.lua) registers
 * the waiting versions of a part's C functions with
 * mp.<form>.coroutine_form{...}, whose body is set_coroutine_form. A C
 * function called without its callback hands its arguments to
 * coroutine_call, which calls the Lua function of form called name and
 * returns its result count, after a yield if it waits; -1 when there is
 * none (then the C function goes on as it would). */
int mp__bind_set_coroutine_form(lua_State *L, const char *form);
int mp__bind_coroutine_call(lua_State *L, const char *form, const char *name);

/* Registration of each part of the module into the table on top of the
 * stack, with the loop context userdata just below it. */
void mp__bind_open_loop(lua_State *L);
/* Start the OS's sockets (mp__sock_startup: WSAStartup on Windows) before
 * the parts that use them (dns, tcp, udp); raises if they cannot start. */
void mp__bind_start_sockets(lua_State *L);
void mp__bind_open_errors(lua_State *L);
void mp__bind_open_timer(lua_State *L);
void mp__bind_open_tcp(lua_State *L);
void mp__bind_open_udp(lua_State *L);
void mp__bind_open_dns(lua_State *L);
void mp__bind_open_signal(lua_State *L);
/* Stop signals from reaching the loop (lua_close, before the loop goes),
 * then free their state (after it has gone). */
void mp__bind_close_signals(mp__bind *b);
void mp__bind_free_signals(mp__bind *b);
/* The runner: SIGINT and SIGTERM that the script has no handle for stop
 * the loop (mp.run returns), so that the runner can close the state and
 * exit with the status of a process the signal ended (128 + its number;
 * on Windows, where Ctrl+C is SIGINT and Ctrl+Break SIGTERM,
 * STATUS_CONTROL_C_EXIT); a second one while that is under way ends the
 * process at once. Call before the script loads moonport. */
void mp__signal_runner_default(lua_State *L);
/* The exit status for the signal that stopped the loop that way, or 0. */
int mp__signal_runner_exit(lua_State *L);
/* Free every socket handle and TCP dial still allocated (lua_close). */
void mp__handle_free_all(mp__bind *b);
void mp__bind_open_fs(lua_State *L);
/* Free every file and mp.fs request still allocated (lua_close, after the
 * loop is freed: no work thread may still use them). */
void mp__fs_free_all(mp__bind *b);

/* Register funcs into the table at -2 with the context userdata at -1 as
 * their upvalue; leaves the stack as it found it. */
void mp__bind_setfuncs(lua_State *L, const luaL_Reg *funcs);

#endif
