/* bind_fs.c: mp.fs: open, stat, unlink, rename, mkdir, scandir and
 * file:stat, each a blocking call run as offloaded work (mp_work) whose
 * callback comes on the Lua thread; the errors of every part of mp.fs. */
#include <stdlib.h>
#include <string.h>

#include "bind/bind_fs.h"

enum {
  CALL_OPEN,
  CALL_STAT,
  CALL_FSTAT,
  CALL_UNLINK,
  CALL_RENAME,
  CALL_MKDIR,
  CALL_RMDIR,
  CALL_SCANDIR
};

static const char *const call_names[] = {"open",   "stat",  "stat",  "unlink",
                                         "rename", "mkdir", "rmdir", "scandir"};

/* One call in flight. Its work thread reads the arguments and writes the
 * result fields; the Lua thread touches it again only in done(). */
typedef struct mp__fs_call {
  mp_work work; /* first */
  struct mp__fs_call *prev, *next;
  mp__bind *b;
  mp__fs_file *file; /* open: the state for the new file; fstat: the file */
  int kind;
  int cb_ref;
  int flags, mode;
  mp__fd fd;
  mp__fs_stat st;
  mp__fs_dir dir;
  const char *path2; /* rename: the new name, stored after path */
  char path[];
} mp__fs_call;

int mp__fs_coroutine_call(lua_State *L, const char *name) {
  return mp__bind_coroutine_call(L, "fs", name);
}

/* mp.fs.coroutine_form(t) */
static int set_coroutine_form(lua_State *L) {
  return mp__bind_set_coroutine_form(L, "fs");
}

/* A function called without its callback: hand it to the coroutine form. */
#define MP__FS_COROUTINE_FORM(L, name)                                                             \
  do {                                                                                             \
    if (!lua_isfunction(L, lua_gettop(L))) {                                                       \
      int n_ = mp__fs_coroutine_call(L, name);                                                     \
      if (n_ >= 0) return n_;                                                                      \
    }                                                                                              \
  } while (0)

void mp__fs_push_err(lua_State *L, int err, const char *what, const char *path) {
  lua_pushfstring(L, "%s: %s '%s': %s", mp_err_name(err), what, path, mp_strerror(err));
}

int mp__fs_push_fail(lua_State *L, int err, const char *what, const char *path) {
  lua_pushnil(L);
  mp__fs_push_err(L, err, what, path);
  lua_pushstring(L, mp_err_name(err));
  return 3;
}

void mp__fs_call_failed(mp__bind *b, int err, const char *what, const char *path) {
  mp__fs_push_err(b->L, err, what, path);
  lua_pushnil(b->L);
  lua_pushstring(b->L, mp_err_name(err));
  mp__bind_call(b, 3);
}

const char *mp__fs_check_path(lua_State *L, int idx) {
  size_t len;
  const char *path = luaL_checklstring(L, idx, &len);
  luaL_argcheck(L, strlen(path) == len, idx, "path contains a NUL byte");
  luaL_argcheck(L, len > 0, idx, "empty path");
  return path;
}

static const char *const type_names[] = {"unknown", "file",   "directory", "link",
                                         "fifo",    "socket", "char",      "block"};

void mp__fs_push_stat(lua_State *L, const mp__fs_stat *st) {
  lua_createtable(L, 0, 12);
  lua_pushstring(L, type_names[st->type]);
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, (lua_Integer)st->size);
  lua_setfield(L, -2, "size");
  lua_pushinteger(L, (lua_Integer)st->mode);
  lua_setfield(L, -2, "mode");
  lua_pushnumber(L, st->atime);
  lua_setfield(L, -2, "atime");
  lua_pushnumber(L, st->mtime);
  lua_setfield(L, -2, "mtime");
  lua_pushnumber(L, st->ctime);
  lua_setfield(L, -2, "ctime");
  lua_pushinteger(L, (lua_Integer)st->ino);
  lua_setfield(L, -2, "ino");
  lua_pushinteger(L, (lua_Integer)st->dev);
  lua_setfield(L, -2, "dev");
  lua_pushinteger(L, (lua_Integer)st->nlink);
  lua_setfield(L, -2, "nlink");
  lua_pushinteger(L, (lua_Integer)st->uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, (lua_Integer)st->gid);
  lua_setfield(L, -2, "gid");
}

/* The work thread's part. */
static void run_call(mp_work *work) {
  mp__fs_call *c = MP_CONTAINER_OF(work, mp__fs_call, work);
  int rc;
  switch (c->kind) {
  case CALL_OPEN:
    rc = mp__fs_open(c->path, c->flags, c->mode, &c->fd);
    break;
  case CALL_STAT:
    rc = mp__fs_stat_path(c->path, &c->st);
    break;
  case CALL_FSTAT:
    rc = mp__fs_stat_fd(c->fd, &c->st);
    break;
  case CALL_UNLINK:
    rc = mp__fs_unlink(c->path);
    break;
  case CALL_RENAME:
    rc = mp__fs_rename(c->path, c->path2);
    break;
  case CALL_MKDIR:
    rc = mp__fs_mkdir(c->path, c->mode);
    break;
  case CALL_RMDIR:
    rc = mp__fs_rmdir(c->path);
    break;
  default:
    rc = mp__fs_scandir(c->path, &c->dir);
    break;
  }
  work->op.result = rc;
}

static void call_unlink(mp__fs_call *c) {
  mp__bind *b = c->b;
  if (c->prev) {
    c->prev->next = c->next;
  } else {
    b->fs_calls = c->next;
  }
  if (c->next) c->next->prev = c->prev;
}

/* Push entries {name = ..., type = ...} of a scandir. */
static void push_dir(lua_State *L, const mp__fs_dir *dir) {
  lua_createtable(L, (int)dir->count, 0);
  const char *name = dir->names;
  for (size_t i = 0; i < dir->count; i++) {
    lua_createtable(L, 0, 2);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, type_names[dir->types[i]]);
    lua_setfield(L, -2, "type");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
    name += strlen(name) + 1;
  }
}

/* The Lua thread's part: push what the call gives and call back. */
static void call_done(mp_loop *loop, mp_op *op) {
  mp__fs_call *c = MP_CONTAINER_OF(op, mp__fs_call, work.op);
  mp__bind *b = c->b;
  lua_State *L = b->L;
  int result = op->result;
  call_unlink(c);
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->cb_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, c->cb_ref);
  mp__fs_file *file = c->file;
  /* As with reads: a file closed meanwhile hears ECANCELED. */
  if (c->kind == CALL_FSTAT && file->closed) result = MP_ECANCELED;
  if (c->kind == CALL_OPEN && result == 0 && (result = mp__file_attach(loop, c->fd)) < 0)
    (void)mp__fs_close(c->fd); /* no op could ever complete on it */
  if (c->kind == CALL_OPEN && result < 0) free(file);
  if (result < 0) {
    mp__fs_call_failed(b, result, call_names[c->kind], c->path);
  } else {
    lua_pushnil(L);
    switch (c->kind) {
    case CALL_OPEN:
      mp__fs_file_push(L, b, file, c->fd);
      break;
    case CALL_STAT:
    case CALL_FSTAT:
      mp__fs_push_stat(L, &c->st);
      break;
    case CALL_SCANDIR:
      push_dir(L, &c->dir);
      break;
    default:
      lua_pushboolean(L, 1);
      break;
    }
    mp__bind_call(b, 2);
  }
  if (c->kind == CALL_FSTAT) mp__fs_file_op_done(file);
  mp__fs_dir_free(&c->dir);
  free(c);
}

/* A call of kind on path (and path2), or NULL when out of memory. */
static mp__fs_call *call_new(lua_State *L, int kind, const char *path, const char *path2) {
  size_t len = strlen(path) + 1, len2 = path2 ? strlen(path2) + 1 : 0;
  mp__fs_call *c = calloc(1, sizeof *c + len + len2);
  if (!c) return NULL;
  memcpy(c->path, path, len);
  if (path2) {
    memcpy(c->path + len, path2, len2);
    c->path2 = c->path + len;
  }
  c->kind = kind;
  c->b = mp__bind_get(L);
  c->fd = MP__FD_NONE;
  return c;
}

/* Start c; its callback comes once, also if no work thread could start. */
static int call_start(lua_State *L, mp__fs_call *c, int cb_idx) {
  mp__bind *b = c->b;
  lua_pushvalue(L, cb_idx);
  c->cb_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  c->next = b->fs_calls;
  if (c->next) c->next->prev = c;
  b->fs_calls = c;
  c->work.fn = run_call;
  c->work.op.cb = call_done;
  int rc = mp_work_submit(b->loop, &c->work);
  if (rc < 0) mp__loop_defer(b->loop, &c->work.op, rc);
  lua_pushboolean(L, 1);
  return 1;
}

/* The MP__FS_… flags of a luv/Node flag string, or -1. */
static int parse_flags(const char *s) {
  int excl = 0, plus = 0, base = 0;
  for (; *s; s++) {
    if (*s == 'x' && !excl) {
      excl = 1;
    } else if (*s == '+' && !plus && base) {
      plus = 1;
    } else if ((*s == 'r' || *s == 'w' || *s == 'a') && !base && !plus) {
      base = *s;
    } else {
      return -1;
    }
  }
  int flags;
  switch (base) {
  case 'r':
    if (excl) return -1;
    flags = MP__FS_READ;
    break;
  case 'w':
    flags = MP__FS_WRITE | MP__FS_CREATE | MP__FS_TRUNC;
    break;
  case 'a':
    flags = MP__FS_WRITE | MP__FS_CREATE | MP__FS_APPEND;
    break;
  default:
    return -1;
  }
  if (plus) flags |= MP__FS_READ | MP__FS_WRITE;
  if (excl) flags |= MP__FS_EXCL;
  return flags;
}

static int check_mode(lua_State *L, int idx, int def) {
  lua_Integer mode = luaL_optinteger(L, idx, def);
  luaL_argcheck(L, mode >= 0 && mode <= 07777, idx, "mode out of range (0 to 0o7777)");
  return (int)mode;
}

/* mp.fs.open(path, flags [, mode], cb): cb(err, file). */
static int fs_open(lua_State *L) {
  MP__FS_COROUTINE_FORM(L, "open");
  const char *path = mp__fs_check_path(L, 1);
  const char *flag_string = luaL_checkstring(L, 2);
  int flags = parse_flags(flag_string);
  if (flags < 0) luaL_argerror(L, 2, lua_pushfstring(L, "invalid flags '%s'", flag_string));
  int cb_idx = lua_isfunction(L, 3) ? 3 : 4;
  int mode = cb_idx == 4 ? check_mode(L, 3, 0666) : 0666;
  luaL_checktype(L, cb_idx, LUA_TFUNCTION);
  /* The file's state now, so that the completion has nothing left to fail. */
  mp__fs_file *file = mp__fs_file_new(L, path);
  mp__fs_call *c = call_new(L, CALL_OPEN, path, NULL);
  if (!c) {
    free(file);
    return luaL_error(L, "moonport: out of memory");
  }
  c->file = file;
  c->flags = flags;
  c->mode = mode;
  return call_start(L, c, cb_idx);
}

/* Start a call on one or two paths whose callback is the last argument. */
static int path_call(lua_State *L, int kind, int npaths) {
  const char *path = mp__fs_check_path(L, 1);
  const char *path2 = npaths > 1 ? mp__fs_check_path(L, 2) : NULL;
  int cb_idx = lua_gettop(L);
  luaL_checktype(L, cb_idx, LUA_TFUNCTION);
  int mode = kind == CALL_MKDIR && cb_idx == 3 ? check_mode(L, 2, 0777) : 0777;
  mp__fs_call *c = call_new(L, kind, path, path2);
  if (!c) return luaL_error(L, "moonport: out of memory");
  c->mode = mode;
  return call_start(L, c, cb_idx);
}

/* mp.fs.stat(path, cb): cb(err, {type, size, mode, mtime, ...}). */
static int fs_stat(lua_State *L) {
  MP__FS_COROUTINE_FORM(L, "stat");
  return path_call(L, CALL_STAT, 1);
}

/* mp.fs.unlink(path, cb): cb(err, true). */
static int fs_unlink(lua_State *L) {
  MP__FS_COROUTINE_FORM(L, "unlink");
  return path_call(L, CALL_UNLINK, 1);
}

/* mp.fs.rename(from, to, cb): cb(err, true). */
static int fs_rename(lua_State *L) {
  MP__FS_COROUTINE_FORM(L, "rename");
  return path_call(L, CALL_RENAME, 2);
}

/* mp.fs.mkdir(path [, mode], cb): cb(err, true); mode defaults to 0777
 * (less the umask). */
static int fs_mkdir(lua_State *L) {
  MP__FS_COROUTINE_FORM(L, "mkdir");
  return path_call(L, CALL_MKDIR, 1);
}

/* mp.fs.rmdir(path, cb): cb(err, true); the directory must be empty. */
static int fs_rmdir(lua_State *L) {
  MP__FS_COROUTINE_FORM(L, "rmdir");
  return path_call(L, CALL_RMDIR, 1);
}

/* mp.fs.scandir(path, cb): cb(err, {{name = ..., type = ...}, ...}), in
 * the directory's order, without "." and "..". */
static int fs_scandir(lua_State *L) {
  MP__FS_COROUTINE_FORM(L, "scandir");
  return path_call(L, CALL_SCANDIR, 1);
}

/* file:stat(cb): cb(err, {type, size, ...}) of the open file. */
int mp__fs_file_stat(lua_State *L) {
  MP__FS_COROUTINE_FORM(L, "file_stat");
  mp__fs_file *f = mp__fs_file_check(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (f->closed) return mp__fs_push_fail(L, MP_ECLOSED, "stat", f->path);
  mp__fs_call *c = call_new(L, CALL_FSTAT, f->path, NULL);
  if (!c) return luaL_error(L, "moonport: out of memory");
  c->file = f;
  c->fd = f->fd;
  mp__fs_file_op_started(L, f, 1);
  return call_start(L, c, 2);
}

void mp__fs_free_all(mp__bind *b) {
  while (b->fs_calls) {
    mp__fs_call *c = b->fs_calls;
    call_unlink(c);
    if (c->kind == CALL_OPEN) {
      /* Opened after all, with nobody left to hear of it. */
      if (c->work.op.result == 0 && c->fd != MP__FD_NONE) (void)mp__fs_close(c->fd);
      free(c->file);
    }
    mp__fs_dir_free(&c->dir);
    free(c);
  }
  mp__fs_free_files(b);
}

void mp__bind_open_fs(lua_State *L) {
  static const luaL_Reg funcs[] = {{"open", fs_open},
                                   {"stat", fs_stat},
                                   {"unlink", fs_unlink},
                                   {"rename", fs_rename},
                                   {"mkdir", fs_mkdir},
                                   {"rmdir", fs_rmdir},
                                   {"scandir", fs_scandir},
                                   {"coroutine_form", set_coroutine_form},
                                   {NULL, NULL}};
  mp__bind_open_fs_file(L);
  lua_newtable(L);
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, funcs, 1);
  /* The file methods, for fs.lua to build on. */
  luaL_getmetatable(L, MP__FS_FILE_META);
  lua_getfield(L, -1, "__index");
  lua_setfield(L, -3, "file_methods");
  lua_pop(L, 1);
  lua_setfield(L, -3, "fs");
}
