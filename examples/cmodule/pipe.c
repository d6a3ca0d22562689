/* pipe.c: cmodule.pipe(): a pipe whose read end is read through the loop's
 * port (mp_io_read: read(2) after the epoll or io_uring poll of the Lua
 * thread, or an overlapped ReadFile on the completion port) and whose
 * write end writes without blocking; the OS's side is in pipe_os.h. The
 * reader lives in its userdata, its buffer too: a read in flight anchors
 * the userdata, so that Lua frees it only with no op of the port pointing
 * into it (see mp_io_close). */
#include "cmodule.h"
#include "pipe_os.h"

#define READER_META "cmodule.reader"
#define WRITER_META "cmodule.writer"

/* The most one read hands to Lua. */
#define READ_CHUNK 65536

typedef struct reader {
  mp_io io;
  mp_op read_op;
  int open;             /* close() not yet called */
  int cont;             /* the read in flight's continuation, or LUA_NOREF */
  int self_ref;         /* anchors the userdata while a read is in flight */
  char buf[READ_CHUNK]; /* the kernel's while a read is in flight */
} reader;

typedef struct writer {
  mp_os_handle handle;
  int open;
} writer;

static void read_done(mp_loop *loop, mp_op *op) {
  reader *r = MP_CONTAINER_OF(op, reader, read_op);
  lua_State *L = mp_loop_lua(loop);
  /* Take the continuation first: its callback may start the next read
   * (into buf, which is copied out before). */
  int cont = r->cont, self = r->self_ref;
  r->cont = r->self_ref = LUA_NOREF;
  if (op->result < 0 || !r->open) {
    mp_cont_fail(loop, cont, op->result < 0 ? op->result : MP_ECANCELED, "read");
  } else {
    if (op->result == 0) {
      lua_pushnil(L); /* the end of file */
    } else {
      lua_pushlstring(L, r->buf, (size_t)op->result);
    }
    mp_cont_ok(loop, cont, 1);
  }
  luaL_unref(L, LUA_REGISTRYINDEX, self);
}

/* reader:read([cb]): the next chunk (a string), nil at the end of file.
 * Callback form: cb(err, data); coroutine form: data, or nil, err, code. */
static int reader_read(lua_State *L) {
  reader *r = luaL_checkudata(L, 1, READER_META);
  if (!r->open) return cmodule_fail(L, MP_ECLOSED, "read");
  if (r->cont != LUA_NOREF) return luaL_error(L, "reader is already reading");
  r->cont = mp_cont_new(L, 2);
  lua_pushvalue(L, 1);
  r->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  mp_io_read(&r->io, &r->read_op, r->buf, sizeof r->buf);
  return mp_cont_wait(L, r->cont);
}

/* reader:close(): a read in flight gets ECANCELED; the read end closes.
 * Idempotent; also __gc and __close. */
static int reader_close(lua_State *L) {
  reader *r = luaL_checkudata(L, 1, READER_META);
  if (r->open) {
    r->open = 0;
    mp_io_close(&r->io, NULL);
  }
  return 0;
}

static int reader_tostring(lua_State *L) {
  reader *r = luaL_checkudata(L, 1, READER_META);
  lua_pushfstring(L, "%s (%s)", READER_META, r->open ? "open" : "closed");
  return 1;
}

/* writer:write(data) -> bytes written (maybe fewer, 0 when the pipe is
 * full), or nil, err, code (EPIPE once the reader has closed). */
static int writer_write(lua_State *L) {
  writer *w = luaL_checkudata(L, 1, WRITER_META);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  if (!w->open) return cmodule_fail(L, MP_ECLOSED, "write");
  int n = pipe_os_write(w->handle, data, len);
  if (n < 0) return cmodule_fail(L, n, "write");
  lua_pushinteger(L, n);
  return 1;
}

/* writer:close(): the reader sees the end of file. Idempotent; __gc. */
static int writer_close(lua_State *L) {
  writer *w = luaL_checkudata(L, 1, WRITER_META);
  if (w->open) pipe_os_close(w->handle);
  w->open = 0;
  return 0;
}

int cmodule_pipe(lua_State *L) {
  mp_loop *loop = mp_loop_get(L);
  /* Both userdata first, closed, so that an error halfway leaks nothing. */
  reader *r = lua_newuserdatauv(L, sizeof *r, 0);
  r->open = 0;
  r->cont = r->self_ref = LUA_NOREF;
  r->read_op.cb = read_done;
  luaL_setmetatable(L, READER_META);
  writer *w = lua_newuserdatauv(L, sizeof *w, 0);
  w->open = 0;
  luaL_setmetatable(L, WRITER_META);
  mp_os_handle read_end, write_end;
  int rc = pipe_os_open(&read_end, &write_end);
  if (rc < 0) return cmodule_fail(L, rc, "pipe");
  rc = mp_io_open(loop, &r->io, read_end);
  if (rc < 0) {
    pipe_os_close(read_end);
    pipe_os_close(write_end);
    return cmodule_fail(L, rc, "pipe");
  }
  r->open = 1;
  w->handle = write_end;
  w->open = 1;
  return 2;
}

void cmodule_open_pipe(lua_State *L) {
  static const luaL_Reg reader_methods[] = {
      {"read", reader_read}, {"close", reader_close}, {NULL, NULL}};
  static const luaL_Reg reader_meta[] = {{"__gc", reader_close},
                                         {"__close", reader_close},
                                         {"__tostring", reader_tostring},
                                         {NULL, NULL}};
  static const luaL_Reg writer_methods[] = {
      {"write", writer_write}, {"close", writer_close}, {NULL, NULL}};
  static const luaL_Reg writer_meta[] = {
      {"__gc", writer_close}, {"__close", writer_close}, {NULL, NULL}};
  luaL_newmetatable(L, READER_META);
  luaL_setfuncs(L, reader_meta, 0);
  luaL_newlib(L, reader_methods);
  lua_setfield(L, -2, "__index");
  luaL_newmetatable(L, WRITER_META);
  luaL_setfuncs(L, writer_meta, 0);
  luaL_newlib(L, writer_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 2);
}
