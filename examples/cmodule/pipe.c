/* pipe.c: cmodule.pipe(): a pipe whose read end waits on the loop's port
 * (mp_io: the epoll or io_uring poll of the Lua thread) and whose write end
 * writes without blocking. The reader lives in its userdata: a read in
 * flight anchors the userdata, so that Lua frees it only with no op of the
 * port pointing into it (see mp_io_close). */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "cmodule.h"

#define READER_META "cmodule.reader"
#define WRITER_META "cmodule.writer"

/* The most one read hands to Lua. */
#define READ_CHUNK 65536

typedef struct reader {
  mp_io io;
  mp_op wait_op;
  int fd;       /* the descriptor the io owns, to read from */
  int open;     /* close() not yet called */
  int cont;     /* the read in flight's continuation, or LUA_NOREF */
  int self_ref; /* anchors the userdata while a read is in flight */
} reader;

typedef struct writer {
  int fd; /* -1 once closed */
} writer;

/* Read what the wait found. Returns 0 when the read is finished (data, the
 * end of file or an error handed to its continuation), or 1 when it would
 * block (another reader got there first) and must wait again. */
static int finish_read(mp_loop *loop, reader *r, int cont) {
  lua_State *L = mp_loop_lua(loop);
  luaL_Buffer b;
  char *buf = luaL_buffinitsize(L, &b, READ_CHUNK);
  ssize_t n = read(r->fd, buf, READ_CHUNK);
  if (n < 0) {
    int err = errno;
    lua_pop(L, 1); /* the buffer's placeholder */
    if (err == EAGAIN || err == EWOULDBLOCK) return 1;
    mp_cont_fail(loop, cont, mp_from_errno(err), "read");
    return 0;
  }
  if (n == 0) {
    lua_pop(L, 1);
    lua_pushnil(L); /* the end of file */
  } else {
    luaL_pushresultsize(&b, (size_t)n);
  }
  mp_cont_ok(loop, cont, 1);
  return 0;
}

static void wait_done(mp_loop *loop, mp_op *op) {
  reader *r = MP_CONTAINER_OF(op, reader, wait_op);
  /* Take the continuation first: its callback may start the next read. */
  int cont = r->cont, self = r->self_ref;
  r->cont = r->self_ref = LUA_NOREF;
  if (op->result < 0 || !r->open) {
    mp_cont_fail(loop, cont, op->result < 0 ? op->result : MP_ECANCELED, "read");
  } else if (finish_read(loop, r, cont)) {
    r->cont = cont;
    r->self_ref = self;
    mp_io_wait_readable(&r->io, &r->wait_op);
    return;
  }
  luaL_unref(mp_loop_lua(loop), LUA_REGISTRYINDEX, self);
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
  mp_io_wait_readable(&r->io, &r->wait_op);
  return mp_cont_wait(L, r->cont);
}

/* reader:close(): a read in flight gets ECANCELED; the descriptor closes.
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

/* write(2) that fails with EPIPE instead of raising SIGPIPE when the read
 * end is gone (pipes have no MSG_NOSIGNAL): SIGPIPE is blocked in this
 * thread for the call, and the one it raised taken back. Returns write's
 * result; errno as write left it. */
static ssize_t write_nosignal(int fd, const void *buf, size_t len) {
  sigset_t sigpipe, old;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &sigpipe, &old);
  ssize_t n = write(fd, buf, len);
  int err = errno;
  if (n < 0 && err == EPIPE && !sigismember(&old, SIGPIPE)) {
    static const struct timespec now = {0, 0};
    sigtimedwait(&sigpipe, NULL, &now);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = err;
  return n;
}

/* writer:write(data) -> bytes written (maybe fewer, 0 when the pipe is
 * full), or nil, err, code (EPIPE once the reader has closed). */
static int writer_write(lua_State *L) {
  writer *w = luaL_checkudata(L, 1, WRITER_META);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  if (w->fd < 0) return cmodule_fail(L, MP_ECLOSED, "write");
  ssize_t n = write_nosignal(w->fd, data, len);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) n = 0;
  if (n < 0) return cmodule_fail(L, mp_from_errno(errno), "write");
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

/* writer:close(): the reader sees the end of file. Idempotent; __gc. */
static int writer_close(lua_State *L) {
  writer *w = luaL_checkudata(L, 1, WRITER_META);
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
  return 0;
}

int cmodule_pipe(lua_State *L) {
  mp_loop *loop = mp_loop_get(L);
  /* Both userdata first, closed, so that an error halfway leaks nothing. */
  reader *r = lua_newuserdatauv(L, sizeof *r, 0);
  r->open = 0;
  r->cont = r->self_ref = LUA_NOREF;
  r->wait_op.cb = wait_done;
  luaL_setmetatable(L, READER_META);
  writer *w = lua_newuserdatauv(L, sizeof *w, 0);
  w->fd = -1;
  luaL_setmetatable(L, WRITER_META);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return cmodule_fail(L, mp_from_errno(errno), "pipe");
  int rc = mp_io_open(loop, &r->io, fds[0]);
  if (rc < 0) {
    close(fds[0]);
    close(fds[1]);
    return cmodule_fail(L, rc, "pipe");
  }
  r->fd = fds[0];
  r->open = 1;
  w->fd = fds[1];
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
