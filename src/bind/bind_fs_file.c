/* bind_fs_file.c: a file handle of mp.fs: reads and writes at an offset,
 * fsync, close (see bind_fs.h). */
#include <stdlib.h>
#include <string.h>

#include "bind/bind_fs.h"

/* One read, write or fsync in flight. A write longer than one op can take
 * goes on in further ops from the same request until all of it is written. */
struct mp__fs_io {
  mp__file_req req; /* first */
  mp__fs_io *prev, *next;
  mp__fs_file *file;
  int cb_ref;
  int data_ref;     /* write: registry ref of the string being written */
  const char *data; /* write: its bytes... */
  size_t len, done; /* ...how many, and how many are written */
  int64_t offset;   /* where the next op starts */
  mp__fs_buf *buf;  /* read: where the bytes land */
};

/* A read buffer. Freed ones of sizes worth keeping wait in the bind's
 * cache for the next read: a copy with a few large reads in flight would
 * otherwise have malloc map and unmap fresh pages for every chunk, and the
 * page faults and TLB shootdowns that costs were most of its time. */
struct mp__fs_buf {
  mp__fs_buf *next;
  size_t cap;
  char data[];
};

#define BUF_CACHE_MIN ((size_t)64 * 1024)       /* smaller ones malloc serves well */
#define BUF_CACHE_MAX ((size_t)4 * 1024 * 1024) /* larger ones are rare: not kept */
#define BUF_CACHE_COUNT 8                       /* at most 32 MiB kept */

static mp__fs_buf *buf_get(mp__bind *b, size_t size) {
  for (mp__fs_buf **p = &b->fs_bufs; *p; p = &(*p)->next) {
    if ((*p)->cap >= size) {
      mp__fs_buf *buf = *p;
      *p = buf->next;
      return buf;
    }
  }
  mp__fs_buf *buf = malloc(sizeof *buf + size);
  if (buf) buf->cap = size;
  return buf;
}

static void buf_put(mp__bind *b, mp__fs_buf *buf) {
  int count = 0;
  for (mp__fs_buf *c = b->fs_bufs; c; c = c->next)
    count++;
  if (buf->cap < BUF_CACHE_MIN || buf->cap > BUF_CACHE_MAX || count >= BUF_CACHE_COUNT) {
    free(buf);
    return;
  }
  buf->next = b->fs_bufs;
  b->fs_bufs = buf;
}

mp__fs_file *mp__fs_file_new(lua_State *L, const char *path) {
  size_t path_len = strlen(path);
  mp__fs_file *f = calloc(1, sizeof *f + path_len + 1);
  if (!f) luaL_error(L, "moonport: out of memory");
  memcpy(f->path, path, path_len + 1);
  f->fd = MP__FD_NONE;
  f->self_ref = LUA_NOREF;
  return f;
}

void mp__fs_file_push(lua_State *L, mp__bind *b, mp__fs_file *f, mp__fd fd) {
  mp__fs_file **ud = lua_newuserdatauv(L, sizeof *ud, 0);
  *ud = f;
  luaL_setmetatable(L, MP__FS_FILE_META);
  f->b = b;
  f->fd = fd;
  f->next = b->fs_files;
  if (f->next) f->next->prev = f;
  b->fs_files = f;
}

mp__fs_file *mp__fs_file_check(lua_State *L, int idx) {
  mp__fs_file *f = *(mp__fs_file **)luaL_checkudata(L, idx, MP__FS_FILE_META);
  if (!f) luaL_argerror(L, idx, "file was never opened");
  return f;
}

static void file_free(mp__fs_file *f) {
  mp__bind *b = f->b;
  if (f->prev) {
    f->prev->next = f->next;
  } else {
    b->fs_files = f->next;
  }
  if (f->next) f->next->prev = f->prev;
  free(f);
}

/* Close the descriptor once closed and nothing is in flight. */
static void close_if_idle(mp__fs_file *f) {
  if (f->closed && f->inflight == 0 && f->fd != MP__FD_NONE) {
    (void)mp__fs_close(f->fd); /* nothing is left to tell about a failure */
    f->fd = MP__FD_NONE;
  }
}

void mp__fs_file_op_started(lua_State *L, mp__fs_file *f, int idx) {
  f->inflight++;
  if (f->self_ref == LUA_NOREF) {
    lua_pushvalue(L, idx);
    f->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
}

int mp__fs_file_op_done(mp__fs_file *f) {
  if (--f->inflight > 0) return !f->closed;
  luaL_unref(f->b->L, LUA_REGISTRYINDEX, f->self_ref);
  f->self_ref = LUA_NOREF;
  close_if_idle(f);
  if (f->collected) {
    file_free(f);
    return 0;
  }
  return !f->closed;
}

static void file_close(mp__fs_file *f) {
  if (f->closed) return;
  f->closed = 1;
  for (mp__fs_io *io = f->ios; io; io = io->next)
    mp__file_cancel(f->b->loop, &io->req);
  close_if_idle(f);
}

/* The open file at idx 1, or NULL after pushing nil, err, name. */
static mp__fs_file *open_file(lua_State *L, const char *what) {
  mp__fs_file *f = mp__fs_file_check(L, 1);
  if (!f->closed) return f;
  mp__fs_push_fail(L, MP_ECLOSED, what, f->path);
  return NULL;
}

static const char *kind_name(int kind) {
  switch (kind) {
  case MP__FILE_READ:
    return "read";
  case MP__FILE_WRITE:
    return "write";
  default:
    return "fsync";
  }
}

static void io_done(mp_loop *loop, mp_op *op);

/* Start io's next op. */
static void io_start(mp__fs_io *io) {
  mp__fs_file *f = io->file;
  mp_loop *loop = f->b->loop;
  io->req.op.cb = io_done;
  if (io->req.kind == MP__FILE_READ) {
    mp__file_read(loop, &io->req, f->fd, io->buf->data, (uint32_t)io->len, io->offset);
  } else if (io->req.kind == MP__FILE_WRITE) {
    size_t left = io->len - io->done;
    uint32_t n = left < MP__FILE_IO_MAX ? (uint32_t)left : MP__FILE_IO_MAX;
    mp__file_write(loop, &io->req, f->fd, io->data + io->done, n, io->offset);
  } else {
    mp__file_fsync(loop, &io->req, f->fd);
  }
}

/* Count io's op as started and link it to the file at idx 1. */
static void io_begin(lua_State *L, mp__fs_file *f, mp__fs_io *io, int cb_idx) {
  io->file = f;
  lua_pushvalue(L, cb_idx);
  io->cb_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  io->next = f->ios;
  if (io->next) io->next->prev = io;
  f->ios = io;
  mp__fs_file_op_started(L, f, 1);
  io_start(io);
}

static void io_unlink(mp__fs_io *io) {
  mp__fs_file *f = io->file;
  if (io->prev) {
    io->prev->next = io->next;
  } else {
    f->ios = io->next;
  }
  if (io->next) io->next->prev = io->prev;
}

static void io_done(mp_loop *loop, mp_op *op) {
  (void)loop;
  mp__fs_io *io = MP_CONTAINER_OF(op, mp__fs_io, req.op);
  mp__fs_file *f = io->file;
  mp__bind *b = f->b;
  lua_State *L = b->L;
  /* Whatever the op did, a closed file's callbacks hear ECANCELED. */
  int result = f->closed ? MP_ECANCELED : op->result;
  if (io->req.kind == MP__FILE_WRITE && result >= 0) {
    io->done += (size_t)result;
    io->offset += result;
    if (io->done < io->len) {
      if (result > 0) {
        io_start(io); /* a short write: the rest from where it stopped */
        return;
      }
      result = MP_EIO; /* no progress at all: do not spin */
    }
  }
  io_unlink(io);
  lua_rawgeti(L, LUA_REGISTRYINDEX, io->cb_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, io->cb_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, io->data_ref);
  int kind = io->req.kind;
  if (result >= 0) {
    lua_pushnil(L);
    if (kind == MP__FILE_READ) {
      lua_pushlstring(L, io->buf->data, (size_t)result);
    } else if (kind == MP__FILE_WRITE) {
      lua_pushinteger(L, (lua_Integer)io->done);
    } else {
      lua_pushboolean(L, 1);
    }
  }
  if (io->buf) buf_put(b, io->buf);
  free(io);
  if (result < 0) {
    mp__fs_call_failed(b, result, kind_name(kind), f->path);
  } else {
    mp__bind_call(b, 2);
  }
  mp__fs_file_op_done(f);
}

static int64_t check_offset(lua_State *L, int idx, lua_Integer size) {
  lua_Integer offset = luaL_checkinteger(L, idx);
  luaL_argcheck(L, offset >= 0, idx, "negative offset");
  luaL_argcheck(L, offset <= INT64_MAX - size, idx, "offset too large");
  return (int64_t)offset;
}

/* file:read(n, offset, cb): cb(err, data) with up to n bytes from offset,
 * "" at the end of the file. file:read(n, offset): the coroutine form. */
static int file_read(lua_State *L) {
  if (!lua_isfunction(L, 4)) {
    int n = mp__fs_coroutine_call(L, "read");
    if (n >= 0) return n;
  }
  lua_Integer size = luaL_checkinteger(L, 2);
  luaL_argcheck(L, size >= 0, 2, "negative size");
  luaL_argcheck(L, size <= (lua_Integer)MP__FILE_IO_MAX, 2, "size above the maximum (64 MiB)");
  int64_t offset = check_offset(L, 3, size);
  luaL_checktype(L, 4, LUA_TFUNCTION);
  mp__fs_file *f = open_file(L, "read");
  if (!f) return 3;
  mp__fs_io *io = calloc(1, sizeof *io);
  if (io) io->buf = buf_get(f->b, (size_t)size);
  if (!io || !io->buf) {
    free(io);
    return luaL_error(L, "moonport: out of memory");
  }
  io->req.kind = MP__FILE_READ;
  io->data_ref = LUA_NOREF;
  io->len = (size_t)size;
  io->offset = offset;
  io_begin(L, f, io, 4);
  lua_pushboolean(L, 1);
  return 1;
}

/* file:write(data, offset, cb): cb(err, bytes) once all of data is
 * written at offset. file:write(data, offset): the coroutine form. */
static int file_write(lua_State *L) {
  if (!lua_isfunction(L, 4)) {
    int n = mp__fs_coroutine_call(L, "write");
    if (n >= 0) return n;
  }
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  int64_t offset = check_offset(L, 3, (lua_Integer)len);
  luaL_checktype(L, 4, LUA_TFUNCTION);
  mp__fs_file *f = open_file(L, "write");
  if (!f) return 3;
  mp__fs_io *io = calloc(1, sizeof *io);
  if (!io) return luaL_error(L, "moonport: out of memory");
  io->req.kind = MP__FILE_WRITE;
  lua_pushvalue(L, 2);
  io->data_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  io->data = data;
  io->len = len;
  io->offset = offset;
  io_begin(L, f, io, 4);
  lua_pushboolean(L, 1);
  return 1;
}

/* file:fsync(cb): cb(err, true) once the file is on disk. */
static int file_fsync(lua_State *L) {
  if (!lua_isfunction(L, 2)) {
    int n = mp__fs_coroutine_call(L, "fsync");
    if (n >= 0) return n;
  }
  luaL_checktype(L, 2, LUA_TFUNCTION);
  mp__fs_file *f = open_file(L, "fsync");
  if (!f) return 3;
  mp__fs_io *io = calloc(1, sizeof *io);
  if (!io) return luaL_error(L, "moonport: out of memory");
  io->req.kind = MP__FILE_FSYNC;
  io->data_ref = LUA_NOREF;
  io_begin(L, f, io, 2);
  lua_pushboolean(L, 1);
  return 1;
}

/* file:close(): idempotent. Ops in flight complete with ECANCELED, once;
 * the descriptor closes after the last of them. */
static int file_close_method(lua_State *L) {
  file_close(mp__fs_file_check(L, 1));
  return 0;
}

static int file_closed(lua_State *L) {
  lua_pushboolean(L, mp__fs_file_check(L, 1)->closed);
  return 1;
}

static int file_path(lua_State *L) {
  lua_pushstring(L, mp__fs_file_check(L, 1)->path);
  return 1;
}

static int file_tostring(lua_State *L) {
  mp__fs_file *f = *(mp__fs_file **)luaL_checkudata(L, 1, MP__FS_FILE_META);
  if (!f) {
    lua_pushliteral(L, MP__FS_FILE_META " (closed)");
  } else {
    lua_pushfstring(L, "%s (%s): %s", MP__FS_FILE_META, f->closed ? "closed" : "open", f->path);
  }
  return 1;
}

static int file_gc(lua_State *L) {
  mp__fs_file **ud = lua_touserdata(L, 1);
  mp__fs_file *f = *ud;
  if (!f) return 0;
  *ud = NULL;
  f->collected = 1;
  file_close(f);
  if (f->inflight == 0) file_free(f);
  return 0;
}

void mp__fs_free_files(mp__bind *b) {
  while (b->fs_files) {
    mp__fs_file *f = b->fs_files;
    while (f->ios) {
      mp__fs_io *io = f->ios;
      f->ios = io->next;
      free(io->buf);
      free(io);
    }
    if (f->fd != MP__FD_NONE) (void)mp__fs_close(f->fd);
    file_free(f);
  }
  while (b->fs_bufs) {
    mp__fs_buf *buf = b->fs_bufs;
    b->fs_bufs = buf->next;
    free(buf);
  }
}

void mp__bind_open_fs_file(lua_State *L) {
  static const luaL_Reg methods[] = {{"read", file_read},          {"write", file_write},
                                     {"fsync", file_fsync},        {"stat", mp__fs_file_stat},
                                     {"close", file_close_method}, {"closed", file_closed},
                                     {"path", file_path},          {NULL, NULL}};
  static const luaL_Reg metamethods[] = {{"__gc", file_gc},
                                         {"__close", file_close_method},
                                         {"__tostring", file_tostring},
                                         {NULL, NULL}};
  mp__bind_metatable(L, MP__FS_FILE_META, methods, metamethods);
}
