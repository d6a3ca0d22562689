/* file_posix.c: regular files on the Linux ports (see file.h). Reads,
 * writes and fsyncs are io_uring ops where the port has a ring, and
 * offloaded work elsewhere; the calls on paths are plain blocking POSIX. */
#define _GNU_SOURCE /* O_CLOEXEC, d_type */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "moonport.h"
#include "core/loop.h"
#include "port/file.h"
#include "port/reactor.h"

/* Both paths end here, on the Lua thread: hand the result to the issuer. */
static void req_done(mp_loop *loop, mp_op *op) {
  mp__file_req *req = MP_CONTAINER_OF(op, mp__file_req, work.op);
  /* A ring op kept the loop going itself; the work pool counts its own. */
  if (req->in_ring) mp_loop_unref(loop);
  req->op.result = op->result;
  req->op.cb(loop, &req->op);
}

/* The work pool's side: the same op as a blocking system call. */
static void run_blocking(mp_work *work) {
  mp__file_req *req = MP_CONTAINER_OF(work, mp__file_req, work);
  ssize_t n;
  do {
    if (req->kind == MP__FILE_READ) {
      n = pread(req->fd, req->buf, req->len, (off_t)req->offset);
    } else if (req->kind == MP__FILE_WRITE) {
      n = pwrite(req->fd, req->buf, req->len, (off_t)req->offset);
    } else {
      n = fsync(req->fd);
    }
  } while (n < 0 && errno == EINTR);
  work->op.result = n < 0 ? mp_from_errno(errno) : (int32_t)n;
}

void mp__file_start(mp_loop *loop, mp__file_req *req) {
  mp__reactor *r = loop->port->reactor;
  req->work.op.cb = req_done;
  if (r && r->file_start && r->file_start(r, req) == 0) {
    req->in_ring = 1;
    mp_loop_ref(loop);
    return;
  }
  /* No ring, or no room in it: the op runs on a work thread instead. */
  req->work.fn = run_blocking;
  int rc = mp_work_submit(loop, &req->work);
  if (rc < 0) mp__loop_defer(loop, &req->work.op, rc);
}

int mp__file_attach(mp_loop *loop, mp__fd fd) {
  (void)loop; /* a descriptor needs no introduction to a ring or the pool */
  (void)fd;
  return 0;
}

void mp__file_cancel(mp_loop *loop, mp__file_req *req) {
  if (req->in_ring) {
    mp__reactor *r = loop->port->reactor;
    r->file_cancel(r, req);
  } else {
    (void)mp_work_cancel(loop, &req->work); /* MP_EBUSY: it runs to its end */
  }
}

/* The blocking calls. */

static int result_of(int rc) {
  return rc < 0 ? mp_from_errno(errno) : 0;
}

int mp__fs_open(const char *path, int flags, int mode, mp__fd *out) {
  int oflags = O_CLOEXEC;
  if ((flags & MP__FS_READ) && (flags & MP__FS_WRITE)) {
    oflags |= O_RDWR;
  } else if (flags & MP__FS_WRITE) {
    oflags |= O_WRONLY;
  } else {
    oflags |= O_RDONLY;
  }
  if (flags & MP__FS_CREATE) oflags |= O_CREAT;
  if (flags & MP__FS_TRUNC) oflags |= O_TRUNC;
  if (flags & MP__FS_APPEND) oflags |= O_APPEND;
  if (flags & MP__FS_EXCL) oflags |= O_EXCL;
  int fd;
  do {
    fd = open(path, oflags, (mode_t)mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return mp_from_errno(errno);
  /* A read-only open of a directory succeeds on POSIX; its reads would
   * fail with EISDIR later. Say so now, as Windows and Node do. */
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    return MP_EISDIR;
  }
  /* A no-op cast (mp__fd is int here) for cppcheck, which also reads
   * file.h as on Windows. */
  *out = (mp__fd)fd;
  return 0;
}

int mp__fs_close(mp__fd fd) {
  /* Linux frees the descriptor even when close fails: never retry it. */
  return result_of(close(fd));
}

static int type_of_mode(mode_t m) {
  if (S_ISREG(m)) return MP__FS_FILE;
  if (S_ISDIR(m)) return MP__FS_DIR;
  if (S_ISLNK(m)) return MP__FS_LINK;
  if (S_ISFIFO(m)) return MP__FS_FIFO;
  if (S_ISSOCK(m)) return MP__FS_SOCKET;
  if (S_ISCHR(m)) return MP__FS_CHAR;
  if (S_ISBLK(m)) return MP__FS_BLOCK;
  return MP__FS_UNKNOWN;
}

static double seconds(struct timespec ts) {
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill_stat(const struct stat *st, mp__fs_stat *out) {
  out->size = (int64_t)st->st_size;
  out->atime = seconds(st->st_atim);
  out->mtime = seconds(st->st_mtim);
  out->ctime = seconds(st->st_ctim);
  out->ino = (uint64_t)st->st_ino;
  out->dev = (uint64_t)st->st_dev;
  out->nlink = (uint64_t)st->st_nlink;
  out->mode = (uint32_t)(st->st_mode & 07777);
  out->uid = (uint32_t)st->st_uid;
  out->gid = (uint32_t)st->st_gid;
  out->type = type_of_mode(st->st_mode);
}

int mp__fs_stat_path(const char *path, mp__fs_stat *out) {
  struct stat st;
  if (stat(path, &st) < 0) return mp_from_errno(errno);
  fill_stat(&st, out);
  return 0;
}

int mp__fs_stat_fd(mp__fd fd, mp__fs_stat *out) {
  struct stat st;
  if (fstat(fd, &st) < 0) return mp_from_errno(errno);
  fill_stat(&st, out);
  return 0;
}

int mp__fs_unlink(const char *path) {
  return result_of(unlink(path));
}

int mp__fs_rename(const char *from, const char *to) {
  return result_of(rename(from, to));
}

int mp__fs_mkdir(const char *path, int mode) {
  return result_of(mkdir(path, (mode_t)mode));
}

int mp__fs_rmdir(const char *path) {
  return result_of(rmdir(path));
}

static int type_of_dirent(int dir_fd, const struct dirent *e) {
  switch (e->d_type) {
  case DT_REG:
    return MP__FS_FILE;
  case DT_DIR:
    return MP__FS_DIR;
  case DT_LNK:
    return MP__FS_LINK;
  case DT_FIFO:
    return MP__FS_FIFO;
  case DT_SOCK:
    return MP__FS_SOCKET;
  case DT_CHR:
    return MP__FS_CHAR;
  case DT_BLK:
    return MP__FS_BLOCK;
  default: {
    /* Some file systems do not fill d_type in: ask. */
    struct stat st;
    if (fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) return MP__FS_UNKNOWN;
    return type_of_mode(st.st_mode);
  }
  }
}

int mp__fs_scandir(const char *path, mp__fs_dir *out) {
  memset(out, 0, sizeof *out);
  DIR *d = opendir(path);
  if (!d) return mp_from_errno(errno);
  size_t names_len = 0, names_cap = 0, types_cap = 0;
  int rc = 0;
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (!e) {
      if (errno) rc = mp_from_errno(errno);
      break;
    }
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    rc = mp__fs_dir_add(out, &names_len, &names_cap, &types_cap, e->d_name,
                        type_of_dirent(dirfd(d), e));
    if (rc < 0) break;
  }
  closedir(d);
  if (rc < 0) mp__fs_dir_free(out);
  return rc;
}
