/* moonport.h: the public C API of moonport, for the runner and for C modules.
 *
 * Threads: functions marked "thread-safe" may be called from any thread;
 * every other function only from the thread that owns the lua_State (the
 * "Lua thread"). Errors are 0 or a negative MP_E… code.
 */
#ifndef MOONPORT_H
#define MOONPORT_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#define MOONPORT_VERSION "0.1.0"
#define MOONPORT_VERSION_NUM 100 /* major * 10000 + minor * 100 + patch */

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

/* "ECLOSED" for MP_ECLOSED; "UNKNOWN" for codes not in the list. */
MP_EXPORT const char *mp_err_name(int err);
/* "closed" for MP_ECLOSED; "unknown error" for codes not in the list. */
MP_EXPORT const char *mp_strerror(int err);

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

#endif
