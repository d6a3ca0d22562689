/* bind_fs.h: what the parts of mp.fs share: file handles, the calls on
 * paths that run as offloaded work, and their error messages.
 *
 * A file's userdata holds only a pointer to its C state, which outlives it
 * (as with sockets, bind_tcp.h): reads and writes belong to the port until
 * they complete. While ops are in flight the state anchors its userdata in
 * the registry, so a script that drops the handle mid-read still gets its
 * callbacks; the descriptor is closed only once close() was called and the
 * last op has completed, so no op ever lands on a reused descriptor.
 */
#ifndef MP_BIND_FS_H
#define MP_BIND_FS_H

#include "bind/bind.h"
#include "port/file.h"

#define MP__FS_FILE_META "moonport.file"

typedef struct mp__fs_io mp__fs_io;
typedef struct mp__fs_buf mp__fs_buf;

/* Invariants: fd is open (not MP__FD_NONE) until closed and idle; ios lists the ops in flight
 * (inflight of them, plus stats on work threads); self_ref is set exactly
 * while inflight > 0 and the userdata lives. */
typedef struct mp__fs_file {
  struct mp__fs_file *prev, *next; /* every file not yet freed (mp__bind.fs_files) */
  mp__bind *b;
  mp__fd fd;
  int inflight;
  int self_ref;      /* registry ref anchoring the userdata, or LUA_NOREF */
  uint8_t closed;    /* close() was called (by the script or the GC) */
  uint8_t collected; /* its userdata is gone */
  mp__fs_io *ios;    /* reads, writes and fsyncs in flight, for close to cancel */
  char path[];       /* for error messages */
} mp__fs_file;

/* A file's state, allocated before its open starts (raises on out of
 * memory), so that the open's completion cannot fail; free() it if the
 * open fails. Then push: its userdata, for fd, linked into b's list. */
mp__fs_file *mp__fs_file_new(lua_State *L, const char *path);
void mp__fs_file_push(lua_State *L, mp__bind *b, mp__fs_file *f, mp__fd fd);
/* The file of the userdata at idx, closed or not. */
mp__fs_file *mp__fs_file_check(lua_State *L, int idx);
/* Count a started op (anchors the userdata at idx) and its end (closes
 * the descriptor and frees the state when they are no longer needed).
 * op_done returns 1 if the file is still open. */
void mp__fs_file_op_started(lua_State *L, mp__fs_file *f, int idx);
int mp__fs_file_op_done(mp__fs_file *f);

/* Push "ENAME: what 'path': message". */
void mp__fs_push_err(lua_State *L, int err, const char *what, const char *path);
/* Push nil, "ENAME: what 'path': message", "ENAME"; returns 3. */
int mp__fs_push_fail(lua_State *L, int err, const char *what, const char *path);
/* Call the callback on top of b->L's stack with (err, nil, "ENAME"). */
void mp__fs_call_failed(mp__bind *b, int err, const char *what, const char *path);
/* Push a stat result as a table. */
void mp__fs_push_stat(lua_State *L, const mp__fs_stat *st);
/* The path argument at idx: a string without NUL bytes (raises otherwise). */
const char *mp__fs_check_path(lua_State *L, int idx);
/* The coroutine form of mp.fs (key of its table, see bind.h). */
int mp__fs_coroutine_call(lua_State *L, const char *name);

/* file:stat(cb), which runs as offloaded work like the calls on paths. */
int mp__fs_file_stat(lua_State *L);

void mp__bind_open_fs_file(lua_State *L);
/* Free every file and cached read buffer (mp__fs_free_all's part). */
void mp__fs_free_files(mp__bind *b);

#endif
