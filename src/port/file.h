/* file.h: regular files on the port: overlapped reads and writes at an
 * offset, fsync, and the blocking calls on paths that offloaded work runs.
 *
 * The overlapped operations have IOCP's shape (ReadFile/WriteFile with an
 * OVERLAPPED offset): an operation is started with an mp__file_req and
 * ends with exactly one completion of req->op on the Lua thread, also when
 * it fails at once or is cancelled. There is no file position: every read
 * and write names its offset, so several may be in flight on one file.
 *
 * On Linux (file_posix.c) they are io_uring ops when the port has a ring
 * (the reactor's file_op), and offloaded work (mp_work) on ports that
 * cannot wait on regular files (epoll). On Windows (file_win32.c) reads
 * and writes are overlapped ReadFile/WriteFile on the completion port and
 * fsync is offloaded work. The blocking calls (open, stat, unlink, ...)
 * are meant for work threads: they never touch the loop.
 *
 * Lifetimes: a request, and the buffer it points into, belong to the port
 * from the start until its completion. Close a descriptor only after the
 * last op on it has completed, so that no op reads a reused descriptor.
 */
#ifndef MP_FILE_H
#define MP_FILE_H

#include <stdint.h>

#include "moonport.h"

/* An open file: a descriptor on POSIX, a HANDLE opened for overlapped I/O
 * on Windows; MP__FD_NONE is no file (-1, INVALID_HANDLE_VALUE). */
#ifdef _WIN32
typedef void *mp__fd;
#define MP__FD_NONE ((mp__fd)(intptr_t)-1)
#else
typedef int mp__fd;
#define MP__FD_NONE (-1)
#endif

/* The largest read or write one op does (the bindings refuse more before
 * allocating anything). */
#define MP__FILE_IO_MAX ((uint32_t)64 * 1024 * 1024)

enum { MP__FILE_READ = 1, MP__FILE_WRITE, MP__FILE_FSYNC }; /* mp__file_req.kind */

/* One overlapped file operation. The issuer sets op.cb and keeps the
 * request alive and unmoved until op.cb has run; op.result is then the
 * byte count (reads: 0 at end of file; a read or write may be short) or an
 * MP_E… code (MP_ECANCELED if it was cancelled before it ran). */
typedef struct mp__file_req {
  mp_op op;     /* public: cb and result */
  mp_work work; /* private: the op the port completes (ring or work pool) */
  mp__fd fd;    /* private: the request's arguments */
  void *buf;
  uint32_t len;
  int64_t offset;
  uint8_t kind;
  uint8_t in_ring; /* started as an io_uring op */
} mp__file_req;

/* Make a newly opened fd ready for the ops below on loop's port (IOCP:
 * associate the handle with the port; nothing to do on Linux). Lua
 * thread, once per fd, before its first op. Returns 0 or an MP_E… code;
 * on failure the caller still owns fd and closes it. */
int mp__file_attach(mp_loop *loop, mp__fd fd);

/* Start a read of up to len bytes at offset into buf. */
void mp__file_read(mp_loop *loop, mp__file_req *req, mp__fd fd, void *buf, uint32_t len,
                   int64_t offset);
/* Start a write of len bytes of buf at offset. */
void mp__file_write(mp_loop *loop, mp__file_req *req, mp__fd fd, const void *buf, uint32_t len,
                    int64_t offset);
/* Start an fsync: result 0 once the file's data and metadata are on disk. */
void mp__file_fsync(mp_loop *loop, mp__file_req *req, mp__fd fd);
/* The OS's half of the three above (file_posix.c, file_win32.c): start
 * req, whose kind and arguments are filled in. */
void mp__file_start(mp_loop *loop, mp__file_req *req);
/* Ask the op to end early. Only a request: the op still completes once,
 * with MP_ECANCELED or with its own result if it had already run. */
void mp__file_cancel(mp_loop *loop, mp__file_req *req);

/* Blocking calls, for work threads (and for the Lua thread where they
 * cannot block for long: close). Each returns 0 or an MP_E… code. */

/* mp__fs_open flags: what the Lua flag strings ("r", "w+", "ax" ...) mean. */
enum {
  MP__FS_READ = 1,
  MP__FS_WRITE = 2,
  MP__FS_CREATE = 4,
  MP__FS_TRUNC = 8,
  MP__FS_APPEND = 16,
  MP__FS_EXCL = 32
};

/* The type of a file, for stat and scandir. */
enum {
  MP__FS_UNKNOWN,
  MP__FS_FILE,
  MP__FS_DIR,
  MP__FS_LINK,
  MP__FS_FIFO,
  MP__FS_SOCKET,
  MP__FS_CHAR,
  MP__FS_BLOCK
};

typedef struct mp__fs_stat {
  int64_t size;
  double atime, mtime, ctime; /* seconds since the epoch */
  uint64_t ino, dev, nlink;
  uint32_t mode; /* the permission bits */
  uint32_t uid, gid;
  int type; /* MP__FS_… */
} mp__fs_stat;

/* Open path with MP__FS_… flags; mode applies when the file is created.
 * Opening a directory fails with MP_EISDIR. With MP__FS_APPEND every
 * write goes to the end of the file, whatever its offset (as Linux does
 * for pwrite on O_APPEND, and Windows for FILE_APPEND_DATA handles). */
int mp__fs_open(const char *path, int flags, int mode, mp__fd *out);
/* Close a descriptor no op uses any more. */
int mp__fs_close(mp__fd fd);
/* Stat a path (following links) or an open file. */
int mp__fs_stat_path(const char *path, mp__fs_stat *out);
int mp__fs_stat_fd(mp__fd fd, mp__fs_stat *out);
int mp__fs_unlink(const char *path);
int mp__fs_rename(const char *from, const char *to);
int mp__fs_mkdir(const char *path, int mode);
/* Remove an empty directory. */
int mp__fs_rmdir(const char *path);

/* A directory's entries, without "." and "..": names is count strings
 * end to end, each with its NUL; types[i] is entry i's MP__FS_… type. */
typedef struct mp__fs_dir {
  char *names;
  uint8_t *types;
  size_t count;
} mp__fs_dir;
int mp__fs_scandir(const char *path, mp__fs_dir *out);
void mp__fs_dir_free(mp__fs_dir *dir);
/* Append an entry to dir (file_common.c, for the scandirs of each OS).
 * names_cap and types_cap are the room allocated so far, names_len the
 * bytes of names in use; all three start at 0. MP_ENOMEM or 0. */
int mp__fs_dir_add(mp__fs_dir *dir, size_t *names_len, size_t *names_cap, size_t *types_cap,
                   const char *name, int type);

#endif
