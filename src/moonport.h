/* moonport.h: the public C API of moonport, for the runner and for C modules.
 *
 * Threads: functions marked "thread-safe" may be called from any thread;
 * every other function only from the thread that owns the lua_State (the
 * "Lua thread"). Errors are 0 or a negative MP_E… code.
 *
 * Two ways in. A C module (a shared library that Lua's require loads) is
 * compiled without MOONPORT_CORE and links nothing of moonport: each mp_…
 * call goes through the function table of the moonport that loaded it,
 * found from the loop (see "C modules" at the end), so one module binary
 * works in the moonport runner and in a stock lua5.4 alike. Its luaopen
 * function starts with MP_CHECK_ABI(L). moonport's own sources, its tests
 * and programs that link moonport's static library define MOONPORT_CORE
 * and call the functions directly.
 */
#ifndef MOONPORT_H
#define MOONPORT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#define MOONPORT_VERSION "0.1.0"
#define MOONPORT_VERSION_NUM 100 /* major * 10000 + minor * 100 + patch */

/* The layout of the types below and of the function table (mp_api). A
 * module built against another ABI version is refused by MP_CHECK_ABI with
 * a message, instead of calling through a table it misreads. Raised on
 * every change a module could notice; versions are never reused. */
#define MOONPORT_ABI_VERSION 1

#if defined(_WIN32) && defined(MOONPORT_SHARED)
#define MP_EXPORT __declspec(dllexport)
#elif defined(__GNUC__)
#define MP_EXPORT __attribute__((visibility("default")))
#else
#define MP_EXPORT
#endif

/* Error names and messages, one list for C and Lua. A system call's failure
 * reaches Lua as nil, "ENAME: message", "ENAME"; the same names on every
 * backend (backends translate errno and GetLastError into these). */
#define MP_ERRNO_MAP(XX)                                                                           \
  XX(EINVAL, "invalid argument")                                                                   \
  XX(ENOMEM, "out of memory")                                                                      \
  XX(ECANCELED, "operation cancelled")                                                             \
  XX(ETIMEDOUT, "timed out")                                                                       \
  XX(ECLOSED, "closed")                                                                            \
  XX(EAGAIN, "resource temporarily unavailable")                                                   \
  XX(EBUSY, "resource busy")                                                                       \
  XX(ENOSYS, "function not implemented")                                                           \
  XX(EPERM, "operation not permitted")                                                             \
  XX(EMFILE, "too many open files")                                                                \
  XX(ENFILE, "file table overflow")                                                                \
  XX(EIO, "i/o error")                                                                             \
  XX(EACCES, "permission denied")                                                                  \
  XX(EADDRINUSE, "address already in use")                                                         \
  XX(EADDRNOTAVAIL, "address not available")                                                       \
  XX(EAFNOSUPPORT, "address family not supported")                                                 \
  XX(ECONNABORTED, "connection aborted")                                                           \
  XX(ECONNREFUSED, "connection refused")                                                           \
  XX(ECONNRESET, "connection reset by peer")                                                       \
  XX(EHOSTUNREACH, "host is unreachable")                                                          \
  XX(ENETUNREACH, "network is unreachable")                                                        \
  XX(ENOBUFS, "no buffer space available")                                                         \
  XX(ENOTCONN, "socket is not connected")                                                          \
  XX(EPIPE, "broken pipe")                                                                         \
  XX(EMSGSIZE, "message too long")                                                                 \
  XX(EAI_NONAME, "unknown host")                                                                   \
  XX(EAI_AGAIN, "temporary failure in name resolution")                                            \
  XX(EAI_FAIL, "non-recoverable failure in name resolution")                                       \
  XX(EAI_NODATA, "no address associated with host")                                                \
  XX(EAI_FAMILY, "address family not supported by the resolver")                                   \
  XX(EAI_SERVICE, "service not supported")                                                         \
  XX(ENOENT, "no such file or directory")                                                          \
  XX(EEXIST, "file already exists")                                                                \
  XX(EISDIR, "illegal operation on a directory")                                                   \
  XX(ENOTDIR, "not a directory")                                                                   \
  XX(EBADF, "bad file descriptor")                                                                 \
  XX(ENOTEMPTY, "directory not empty")                                                             \
  XX(EROFS, "read-only file system")                                                               \
  XX(ENOSPC, "no space left on device")                                                            \
  XX(EFBIG, "file too large")                                                                      \
  XX(ENAMETOOLONG, "name too long")                                                                \
  XX(ELOOP, "too many symbolic links encountered")                                                 \
  XX(EXDEV, "cross-device link not permitted")                                                     \
  XX(ESPIPE, "invalid seek")                                                                       \
  XX(EDQUOT, "disk quota exceeded")                                                                \
  XX(UNKNOWN, "unknown error")

enum {
  MP_OK = 0,
  MP__ERRNO_BASE = -4000, /* clear of errno values, so a raw errno never passes for ours */
#define XX(name, msg) MP_##name,
  MP_ERRNO_MAP(XX)
#undef XX
      MP__ERRNO_END
};

/* An errno value (of the C library the caller was built with) as an MP_E…
 * code; MP_UNKNOWN for values not in the list. Thread-safe: work
 * functions use it for the failures of their system calls. Inline, so
 * that it needs nothing of the loaded moonport. */
static inline int mp_from_errno(int e) {
  switch (e) {
  case EINVAL:
    return MP_EINVAL;
  case ENOMEM:
    return MP_ENOMEM;
  case ECANCELED:
    return MP_ECANCELED;
  case ETIMEDOUT:
    return MP_ETIMEDOUT;
  case EAGAIN:
    return MP_EAGAIN;
  case EBUSY:
    return MP_EBUSY;
  case ENOSYS:
    return MP_ENOSYS;
  case EPERM:
    return MP_EPERM;
  case EMFILE:
    return MP_EMFILE;
  case ENFILE:
    return MP_ENFILE;
  case EIO:
    return MP_EIO;
  case EACCES:
    return MP_EACCES;
  case EADDRINUSE:
    return MP_EADDRINUSE;
  case EADDRNOTAVAIL:
    return MP_EADDRNOTAVAIL;
  case EAFNOSUPPORT:
    return MP_EAFNOSUPPORT;
  case ECONNABORTED:
    return MP_ECONNABORTED;
  case ECONNREFUSED:
    return MP_ECONNREFUSED;
  case ECONNRESET:
    return MP_ECONNRESET;
  case EHOSTUNREACH:
    return MP_EHOSTUNREACH;
  case ENETUNREACH:
    return MP_ENETUNREACH;
  case ENOBUFS:
    return MP_ENOBUFS;
  case ENOTCONN:
    return MP_ENOTCONN;
  case EPIPE:
    return MP_EPIPE;
  case ENOENT:
    return MP_ENOENT;
  case EEXIST:
    return MP_EEXIST;
  case EISDIR:
    return MP_EISDIR;
  case ENOTDIR:
    return MP_ENOTDIR;
  case EBADF:
    return MP_EBADF;
  case ENOTEMPTY:
    return MP_ENOTEMPTY;
  case EROFS:
    return MP_EROFS;
  case ENOSPC:
    return MP_ENOSPC;
  case EFBIG:
    return MP_EFBIG;
  case ENAMETOOLONG:
    return MP_ENAMETOOLONG;
  case ELOOP:
    return MP_ELOOP;
  case EXDEV:
    return MP_EXDEV;
  case ESPIPE:
    return MP_ESPIPE;
#ifdef EDQUOT /* not in every C library (mingw-w64 has none) */
  case EDQUOT:
    return MP_EDQUOT;
#endif
  case EMSGSIZE:
    return MP_EMSGSIZE;
  default:
    return MP_UNKNOWN;
  }
}

/* "ECLOSED" for MP_ECLOSED; "UNKNOWN" for codes not in the list. */
MP_EXPORT const char *mp_err_name(int err);
/* "closed" for MP_ECLOSED; "unknown error" for codes not in the list. */
MP_EXPORT const char *mp_strerror(int err);
/* Their bodies, inline so that C modules have them without a call into
 * moonport (modules call them by the names above all the same). */
static inline const char *mp__err_name(int err) {
  switch (err) {
#define XX(name, msg)                                                                              \
  case MP_##name:                                                                                  \
    return #name;
    MP_ERRNO_MAP(XX)
#undef XX
  default:
    return "UNKNOWN";
  }
}
static inline const char *mp__strerror(int err) {
  switch (err) {
#define XX(name, msg)                                                                              \
  case MP_##name:                                                                                  \
    return msg;
    MP_ERRNO_MAP(XX)
#undef XX
  default:
    return "unknown error";
  }
}

/* The event loop: a completion port, its worker threads, the queue into the
 * Lua thread and the timer thread. One per lua_State. */
typedef struct mp_loop mp_loop;

/* An operation started on the port: the OVERLAPPED of moonport. The issuer
 * embeds it in its own request (recover the request with MP_CONTAINER_OF)
 * and owns it: it must stay alive, unmoved, from the moment it is started or
 * posted until its callback has been called. Exactly one callback comes for
 * each start or post, also when the operation fails or is cancelled. */
typedef struct mp_op mp_op;

/* Called on the Lua thread with the op's completion; op->result is its
 * outcome. The op may be freed or reused from inside the callback. */
typedef void (*mp_op_cb)(mp_loop *loop, mp_op *op);

struct mp_op {
#ifdef _WIN32
  /* Private: storage for the OVERLAPPED that IOCP hands back, so that
   * &op == &overlapped. Same size and alignment as OVERLAPPED. */
  struct {
    uintptr_t internal[2];
    void *offset;
    void *event;
  } os_;
#endif
  mp_op_cb cb;     /* public: set by the issuer before starting or posting */
  mp_op *next_;    /* private: link while the op sits in a port or loop queue */
  uintptr_t key_;  /* private: the completion key while queued */
  int32_t result;  /* public: >= 0 bytes or value, < 0 an MP_E… code */
  uint32_t bytes_; /* private: the packet's byte count while queued */
};

/* Recover the request that embeds a member from a pointer to that member. */
#define MP_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* The loop of a lua_State that has loaded moonport (require "moonport"),
 * or NULL. Lua thread. */
MP_EXPORT mp_loop *mp_loop_get(lua_State *L);

/* Post op to the loop's completion port (PostQueuedCompletionStatus): its
 * callback runs on the Lua thread with op->result as set by the caller.
 * Thread-safe. Returns 0, or MP_ECLOSED when the loop is shutting down (the
 * callback will then not be called and the op is the caller's again).
 * The loop shuts down only when its lua_State closes; a post that races
 * that may return 0 and still get no callback, so a module whose threads
 * post must stop them before the state closes (its own __gc does).
 * A post in flight keeps mp.run() from returning. */
MP_EXPORT int mp_post(mp_loop *loop, mp_op *op);

/* Keep the loop running while a C module waits for something the loop
 * cannot see (for example a thread of its own that will mp_post later).
 * Each ref needs one unref. Lua thread. */
MP_EXPORT void mp_loop_ref(mp_loop *loop);
MP_EXPORT void mp_loop_unref(mp_loop *loop);

/* Offloaded work: blocking C work (a file read on a port that cannot wait
 * on files, getaddrinfo, hashing, compression) run on the loop's work
 * threads, never on the Lua thread. The issuer embeds an mp_work in its
 * request and sets fn and op.cb; fn(work) runs on a work thread (it must not
 * touch any lua_State) and leaves its outcome in work->op.result; then its
 * completion is posted to the port and op.cb runs on the Lua thread, exactly
 * once, also when the work was cancelled before it started (op.result is
 * then MP_ECANCELED). The request must stay alive until op.cb has run.
 * Work items start in the order they were submitted, several at once: up to
 * MOONPORT_WORK_THREADS threads (default 4, at most 128), started as needed.
 * Work in flight keeps mp.run() from returning. */
typedef struct mp_work mp_work;
typedef void (*mp_work_fn)(mp_work *work);
struct mp_work {
  mp_op op;      /* public: op.cb and, from fn, op.result */
  mp_work_fn fn; /* public: the blocking part */
  int state_;    /* private: queued, running or done */
};

/* Queue work. Lua thread. Returns 0, or MP_ENOMEM/MP_EAGAIN when no work
 * thread could be started (then no callback comes and work is the
 * caller's again). */
MP_EXPORT int mp_work_submit(mp_loop *loop, mp_work *work);
/* Cancel work that has not started: its callback comes with MP_ECANCELED on
 * a later round of the loop. Returns 0, or MP_EBUSY if fn is running or has
 * run (its callback comes with fn's result). Lua thread. */
MP_EXPORT int mp_work_cancel(mp_loop *loop, mp_work *work);

/* Name of the port backend in use: "iocp", "uring" or "epoll". */
MP_EXPORT const char *mp_loop_backend(mp_loop *loop);

/* Open the core module (what require "moonport.core" calls). */
MP_EXPORT int luaopen_moonport_core(lua_State *L);

/* --- Finishing on the Lua thread ---------------------------------------
 *
 * An op's callback runs on the Lua thread while mp.run() runs, but it is
 * handed no lua_State: the one its work was started from may be a
 * coroutine that has ended since. It pushes on mp_loop_lua(loop) and calls
 * Lua only through mp_call or a continuation, so that an error raised by a
 * script's callback goes to mp.on_error with its traceback, and the loop
 * goes on, as for moonport's own callbacks.
 *
 * Keeping a Lua value alive while an op is in flight (the module's
 * userdata, a string whose bytes the op reads): anchor it in the registry
 * when the op starts, `ref = luaL_ref(L, LUA_REGISTRYINDEX)`, and release
 * it in the op's callback, `luaL_unref(mp_loop_lua(loop),
 * LUA_REGISTRYINDEX, ref)`. Every thread of a state shares its registry. */

/* In an op callback: the lua_State running mp.run(), to push on and call
 * from; leave its stack as it was. NULL outside mp.run(). Lua thread. */
MP_EXPORT lua_State *mp_loop_lua(mp_loop *loop);

/* In an op callback: call the function below nargs arguments on top of
 * mp_loop_lua(loop)'s stack, protected, and pop them all. An error goes,
 * with its traceback, to mp.on_error (default: stderr). Lua thread. */
MP_EXPORT void mp_call(mp_loop *loop, int nargs);

/* Continuations: one module function in both forms of moonport's calls,
 *   callback form:  mod.work(arg, function(err, value) ... end)
 *   coroutine form: inside mp.spawn, local value, err, code = mod.work(arg)
 *
 *   static int l_work(lua_State *L) {
 *     ... check the arguments, make the request ...
 *     req->cont = mp_cont_new(L, 2);      // the callback at 2, or the coroutine
 *     ... start the work; if it cannot start: mp_cont_drop, return the error ...
 *     return mp_cont_wait(L, req->cont);  // 0 results now, or suspend
 *   }
 *   static void work_done(mp_loop *loop, mp_op *op) {
 *     ... push the values on mp_loop_lua(loop) and mp_cont_ok(loop, req->cont, n),
 *     or mp_cont_fail(loop, req->cont, err, "work") ...
 *   }
 *
 * A continuation is an int: a registry reference to the callback or to the
 * coroutine, which it keeps alive. Each one is finished (ok or fail) or
 * dropped exactly once. Coroutines are resumed through moonport.coro, so
 * that an error in one reaches mp.on_error with its own traceback, as for
 * mp.sleep. */

/* The Lua function at idx, or the running coroutine when idx holds none or
 * nil. Raises a bad-argument error at idx outside a coroutine (the main
 * chunk, a plain callback) with no function there. Lua thread. */
MP_EXPORT int mp_cont_new(lua_State *L, int idx);
/* End the C function with `return mp_cont_wait(L, cont);`: in the
 * callback form it returns 0 results at once; in the coroutine form it
 * suspends the coroutine, whose call then returns what mp_cont_ok or
 * mp_cont_fail hand it. L is the lua_State the C function got. */
MP_EXPORT int mp_cont_wait(lua_State *L, int cont);
/* Success, with the nvalues values on top of mp_loop_lua(loop)'s stack
 * (popped): the callback gets (nil, values...); the coroutine's call
 * returns values. Ends cont. In an op callback. */
MP_EXPORT void mp_cont_ok(mp_loop *loop, int cont, int nvalues);
/* Failure err (an MP_E… code) of what: the callback gets ("ENAME: what:
 * message", nil, "ENAME"); the coroutine's call returns nil, "ENAME: what:
 * message", "ENAME". Ends cont. In an op callback. */
MP_EXPORT void mp_cont_fail(mp_loop *loop, int cont, int err, const char *what);
/* End cont without calling anything (its work could not start). Any
 * lua_State of the script. Lua thread. */
MP_EXPORT void mp_cont_drop(lua_State *L, int cont);

/* --- A module's own handles on the port ----------------------------------
 *
 * An mp_io is a handle that a module gives to the port, to read it without
 * blocking the Lua thread and get the completions as op callbacks.
 * Linux: any descriptor poll(2) takes (pipe, FIFO, eventfd, socket, tty;
 * a regular file is always ready), waited on by the epoll or io_uring poll
 * of the Lua thread. Windows: a HANDLE opened for overlapped I/O
 * (FILE_FLAG_OVERLAPPED: a named pipe's end, a file), associated with
 * the I/O completion port.
 *
 * mp_io_read is the usual way: one overlapped read into the module's
 * buffer (Windows: ReadFile on the port; Linux: read(2), after a wait
 * when nothing is there). mp_io_wait_readable is for a handle the module
 * reads with a call of its own or of a library (an eventfd, a library's
 * socket): it completes when such a read would not block, and the module
 * then reads without waiting. On Windows, read an associated handle with
 * mp_io_read, or with calls that queue no completion packet (recv on a
 * socket): the port would take the packet of any other overlapped call on
 * it for one of its own ops.
 *
 * The module embeds the mp_io in its own state, and an op it starts must
 * stay alive and unmoved until its callback: each op gives exactly one
 * callback, on the Lua thread, never from inside the call that started it
 * (also when it fails at once), and also when it is cancelled. A read or
 * wait in flight keeps mp.run() going; an idle mp_io does not. */
#ifdef _WIN32
typedef void *mp_os_handle; /* a HANDLE */
#else
typedef int mp_os_handle; /* a file descriptor */
#endif

typedef struct mp_io {
  mp_loop *loop; /* read-only: the loop it was opened on */
  void *state_;  /* private: moonport's, NULL once closed */
} mp_io;

/* Take over handle and associate it with the loop's port: from then on the
 * io owns it (Linux: made non-blocking; Windows: CreateIoCompletionPort,
 * which a handle takes once in its life) and mp_io_close closes it. Returns
 * 0, or an MP_E… code (the io is then closed and the handle still the
 * caller's). Lua thread. */
MP_EXPORT int mp_io_open(mp_loop *loop, mp_io *io, mp_os_handle handle);
/* Read up to len bytes into buf: op completes once with the count (> 0),
 * 0 at the end of file or when the writer of a pipe has closed it, or an
 * MP_E… code. It takes what is there, as read(2) does, and waits only
 * when nothing is. buf is the module's, and the kernel's until op's
 * callback: it must stay valid and unmoved until then (also when the read
 * is cancelled), and its bytes count only then. len 0 completes with
 * MP_EINVAL; more than INT32_MAX reads INT32_MAX at most. A message-mode
 * pipe (Windows) hands a message longer than len in pieces. For stream
 * handles: on Windows a regular file would be read from offset 0 every
 * time. At most one read or wait per io at a time: another completes with
 * MP_EBUSY; one in flight at close completes with MP_ECANCELED; one after
 * close with MP_ECLOSED. Lua thread. */
MP_EXPORT void mp_io_read(mp_io *io, mp_op *op, void *buf, uint32_t len);
/* Complete op with result 0 once a read of the handle would not block:
 * data, the end of file or an error is waiting. Level-triggered: bytes
 * left unread complete the next wait at once. The module then reads the
 * handle itself, without waiting (Linux: non-blocking; on EAGAIN it waits
 * again). It counts as the io's read: the rules of mp_io_read hold
 * (MP_EBUSY, MP_ECANCELED, MP_ECLOSED). Lua thread. */
MP_EXPORT void mp_io_wait_readable(mp_io *io, mp_op *op);
/* Close: the read or wait in flight completes with MP_ECANCELED (or with
 * its result, if that came first), and the handle is closed. op, if not
 * NULL, completes (result 0) after that read, once the kernel holds
 * nothing of the handle; on an io already closed it completes with
 * MP_ECLOSED. The mp_io's memory may go as soon as this returns (a read in
 * flight still needs its op and its buffer). With a NULL op it suits a __gc: an anchored userdata
 * is finalized with a read in flight only when the lua_State closes, and then no callback comes any
 * more. Lua thread. */
MP_EXPORT void mp_io_close(mp_io *io, mp_op *op);

/* --- C modules ----------------------------------------------------------
 *
 * A module calls moonport through this table, which the loop carries as its
 * first member; nothing of moonport is linked into the module. Its
 * luaopen function checks it first:
 *
 *   int luaopen_mymod(lua_State *L) {
 *     MP_CHECK_ABI(L);
 *     ...
 *   }
 *
 * MP_CHECK_ABI loads moonport if the script has not (require
 * "moonport.core"), and raises "mymod: built for moonport ABI 2, this
 * moonport (0.1.0) has ABI 1" when the table is not the one this header
 * describes, so require fails with that message. */
typedef struct mp_api {
  int abi_version;     /* first in every ABI version: what MP_CHECK_ABI reads */
  const char *version; /* MOONPORT_VERSION of the moonport that filled it */
  int (*post)(mp_loop *loop, mp_op *op);
  void (*loop_ref)(mp_loop *loop);
  void (*loop_unref)(mp_loop *loop);
  const char *(*loop_backend)(mp_loop *loop);
  int (*work_submit)(mp_loop *loop, mp_work *work);
  int (*work_cancel)(mp_loop *loop, mp_work *work);
  lua_State *(*loop_lua)(mp_loop *loop);
  void (*call)(mp_loop *loop, int nargs);
  int (*cont_new)(lua_State *L, int idx);
  int (*cont_wait)(lua_State *L, int cont);
  void (*cont_ok)(mp_loop *loop, int cont, int nvalues);
  void (*cont_fail)(mp_loop *loop, int cont, int err, const char *what);
  void (*cont_drop)(lua_State *L, int cont);
  int (*io_open)(mp_loop *loop, mp_io *io, mp_os_handle handle);
  void (*io_wait_readable)(mp_io *io, mp_op *op);
  void (*io_read)(mp_io *io, mp_op *op, void *buf, uint32_t len);
  void (*io_close)(mp_io *io, mp_op *op);
} mp_api;

/* The registry field that holds the loop of a state, as a light userdata,
 * from require "moonport" until the state closes. */
#define MP_REGISTRY_LOOP "moonport.loop.c"

#ifndef MOONPORT_CORE
#include <lauxlib.h>

/* The loop of L's state (NULL before require "moonport"); its table. */
static inline mp_loop *mp__mod_loop_get(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, MP_REGISTRY_LOOP);
  mp_loop *loop = (mp_loop *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return loop;
}
static inline const mp_api *mp__mod_api(mp_loop *loop) {
  return *(const mp_api *const *)loop;
}
static inline const mp_api *mp__mod_api_of(lua_State *L) {
  return mp__mod_api(mp__mod_loop_get(L));
}

#define MP_CHECK_ABI(L) mp__mod_check_abi((L), MOONPORT_ABI_VERSION)
static inline void mp__mod_check_abi(lua_State *L, int abi) {
  /* require passes the module's name as the first argument of luaopen. */
  const char *name = lua_type(L, 1) == LUA_TSTRING ? lua_tostring(L, 1) : "C module";
  if (!mp__mod_loop_get(L)) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "moonport.core");
    lua_call(L, 1, 0);
  }
  mp_loop *loop = mp__mod_loop_get(L);
  if (!loop)
    luaL_error(L, "%s: built for moonport ABI %d, this moonport has no C module API", name, abi);
  const mp_api *api = mp__mod_api(loop);
  if (api->abi_version != abi)
    luaL_error(L, "%s: built for moonport ABI %d, this moonport (%s) has ABI %d", name, abi,
               api->version, api->abi_version);
}

static inline int mp__mod_post(mp_loop *loop, mp_op *op) {
  return mp__mod_api(loop)->post(loop, op);
}
static inline void mp__mod_loop_ref(mp_loop *loop) {
  mp__mod_api(loop)->loop_ref(loop);
}
static inline void mp__mod_loop_unref(mp_loop *loop) {
  mp__mod_api(loop)->loop_unref(loop);
}
static inline const char *mp__mod_loop_backend(mp_loop *loop) {
  return mp__mod_api(loop)->loop_backend(loop);
}
static inline int mp__mod_work_submit(mp_loop *loop, mp_work *work) {
  return mp__mod_api(loop)->work_submit(loop, work);
}
static inline int mp__mod_work_cancel(mp_loop *loop, mp_work *work) {
  return mp__mod_api(loop)->work_cancel(loop, work);
}
static inline lua_State *mp__mod_loop_lua(mp_loop *loop) {
  return mp__mod_api(loop)->loop_lua(loop);
}
static inline void mp__mod_call(mp_loop *loop, int nargs) {
  mp__mod_api(loop)->call(loop, nargs);
}
static inline int mp__mod_cont_new(lua_State *L, int idx) {
  return mp__mod_api_of(L)->cont_new(L, idx);
}
static inline int mp__mod_cont_wait(lua_State *L, int cont) {
  return mp__mod_api_of(L)->cont_wait(L, cont);
}
static inline void mp__mod_cont_ok(mp_loop *loop, int cont, int nvalues) {
  mp__mod_api(loop)->cont_ok(loop, cont, nvalues);
}
static inline void mp__mod_cont_fail(mp_loop *loop, int cont, int err, const char *what) {
  mp__mod_api(loop)->cont_fail(loop, cont, err, what);
}
static inline void mp__mod_cont_drop(lua_State *L, int cont) {
  mp__mod_api_of(L)->cont_drop(L, cont);
}
static inline int mp__mod_io_open(mp_loop *loop, mp_io *io, mp_os_handle handle) {
  return mp__mod_api(loop)->io_open(loop, io, handle);
}
static inline void mp__mod_io_wait_readable(mp_io *io, mp_op *op) {
  mp__mod_api(io->loop)->io_wait_readable(io, op);
}
static inline void mp__mod_io_read(mp_io *io, mp_op *op, void *buf, uint32_t len) {
  mp__mod_api(io->loop)->io_read(io, op, buf, len);
}
static inline void mp__mod_io_close(mp_io *io, mp_op *op) {
  mp__mod_api(io->loop)->io_close(io, op);
}

/* The names above are the ones a module writes. */
#define mp_loop_get mp__mod_loop_get
#define mp_err_name mp__err_name
#define mp_strerror mp__strerror
#define mp_post mp__mod_post
#define mp_loop_ref mp__mod_loop_ref
#define mp_loop_unref mp__mod_loop_unref
#define mp_loop_backend mp__mod_loop_backend
#define mp_work_submit mp__mod_work_submit
#define mp_work_cancel mp__mod_work_cancel
#define mp_loop_lua mp__mod_loop_lua
#define mp_call mp__mod_call
#define mp_cont_new mp__mod_cont_new
#define mp_cont_wait mp__mod_cont_wait
#define mp_cont_ok mp__mod_cont_ok
#define mp_cont_fail mp__mod_cont_fail
#define mp_cont_drop mp__mod_cont_drop
#define mp_io_open mp__mod_io_open
#define mp_io_wait_readable mp__mod_io_wait_readable
#define mp_io_read mp__mod_io_read
#define mp_io_close mp__mod_io_close
#endif /* !MOONPORT_CORE */

#endif
