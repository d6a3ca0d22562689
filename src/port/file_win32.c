/* file_win32.c: regular files on the Windows port (see file.h). Reads and
 * writes are overlapped ReadFile/WriteFile at an OVERLAPPED offset on
 * handles associated with the loop's completion port; fsync is
 * FlushFileBuffers on a work thread; the calls on paths are their
 * wide-character Win32 counterparts, with errors named as on Linux. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "port/errno_win32.h"
#include "port/file.h"
#include "port/port_iocp.h"

int mp__file_attach(mp_loop *loop, mp__fd fd) {
  /* Key 0, the core's own: the op itself says what it is. The port leaves
   * FILE_SKIP_COMPLETION_PORT_ON_SUCCESS off, so an op that completes at
   * once still ends with its packet, and only there. */
  return mp__iocp_associate(loop->port, fd, MP__KEY_INTERNAL);
}

/* The MP_E… code of a read, write or flush that failed with e. */
static int io_error(DWORD e) {
  switch (e) {
  case ERROR_ACCESS_DENIED: /* the handle was not opened for it, as EBADF on POSIX */
  case ERROR_INVALID_HANDLE:
    return MP_EBADF;
  default:
    return mp__from_win_error(e);
  }
}

/* A read or write ends here, on the Lua thread, after its packet. */
static void io_done(mp_loop *loop, mp_op *op) {
  mp__file_req *req = MP_CONTAINER_OF(op, mp__file_req, work.op);
  DWORD bytes;
  int result;
  if (GetOverlappedResult(req->fd, (OVERLAPPED *)op, &bytes, FALSE)) {
    result = (int)bytes; /* at most MP__FILE_IO_MAX */
  } else {
    DWORD e = GetLastError();
    result = e == ERROR_HANDLE_EOF ? 0 : io_error(e); /* a read at or past the end */
  }
  mp_loop_unref(loop); /* taken when the kernel took the op */
  req->op.result = result;
  req->op.cb(loop, &req->op);
}

static void start_io(mp_loop *loop, mp__file_req *req) {
  mp_op *op = &req->work.op;
  OVERLAPPED *ov = (OVERLAPPED *)op;
  memset(ov, 0, sizeof *ov);
  ov->Offset = (DWORD)((uint64_t)req->offset & 0xffffffffu);
  ov->OffsetHigh = (DWORD)((uint64_t)req->offset >> 32);
  op->cb = io_done;
  BOOL ok = req->kind == MP__FILE_READ ? ReadFile(req->fd, req->buf, req->len, NULL, ov)
                                       : WriteFile(req->fd, req->buf, req->len, NULL, ov);
  DWORD e = ok ? 0 : GetLastError();
  if (mp__iocp_packet_queued(op, ok, e)) {
    /* Done at once or not: its packet comes, and nothing else does. */
    mp_loop_ref(loop);
    return;
  }
  /* Refused before the kernel took it (a bad handle, no access, a read
   * that starts past the end of the file): no packet comes, so the
   * completion is ours to deliver, on a later round (DESIGN.md rule 6). */
  mp__loop_defer(loop, &req->op, e == ERROR_HANDLE_EOF ? 0 : io_error(e));
}

/* fsync: FlushFileBuffers blocks, and has no overlapped form. */
static void run_flush(mp_work *work) {
  mp__file_req *req = MP_CONTAINER_OF(work, mp__file_req, work);
  work->op.result = FlushFileBuffers(req->fd) ? 0 : io_error(GetLastError());
}

static void flush_done(mp_loop *loop, mp_op *op) {
  mp__file_req *req = MP_CONTAINER_OF(op, mp__file_req, work.op);
  req->op.result = op->result;
  req->op.cb(loop, &req->op);
}

void mp__file_start(mp_loop *loop, mp__file_req *req) {
  if (req->kind != MP__FILE_FSYNC) {
    start_io(loop, req);
    return;
  }
  req->work.fn = run_flush;
  req->work.op.cb = flush_done;
  int rc = mp_work_submit(loop, &req->work);
  if (rc < 0) mp__loop_defer(loop, &req->work.op, rc);
}

void mp__file_cancel(mp_loop *loop, mp__file_req *req) {
  if (req->kind == MP__FILE_FSYNC) {
    (void)mp_work_cancel(loop, &req->work); /* MP_EBUSY: it runs to its end */
  } else {
    /* Only a request: the packet still comes, with ERROR_OPERATION_ABORTED
     * or the op's own result; ERROR_NOT_FOUND if it has already finished. */
    (void)CancelIoEx(req->fd, (OVERLAPPED *)&req->work.op);
  }
}

/* The blocking calls. */

/* path in UTF-16, in *out (free it), or an MP_E… code. */
static int to_wide(const char *path, wchar_t **out) {
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
  if (n <= 0) return mp__from_win_error(GetLastError());
  *out = malloc((size_t)n * sizeof **out);
  if (!*out) return MP_ENOMEM;
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, *out, n);
  return 0;
}

static int is_dir(DWORD attrs) {
  return attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY);
}

/* The MP_E… code of a call on path that failed with e. Windows says "path
 * not found" (or "invalid name") where a file stands in for a directory
 * along the path; POSIX says ENOTDIR, so look for such a file. */
static int path_error(const wchar_t *path, DWORD e) {
  if (e != ERROR_PATH_NOT_FOUND && e != ERROR_INVALID_NAME && e != ERROR_DIRECTORY)
    return mp__from_win_error(e);
  size_t len = wcslen(path);
  wchar_t *prefix = malloc((len + 1) * sizeof *prefix);
  if (!prefix) return MP_ENOMEM;
  memcpy(prefix, path, (len + 1) * sizeof *prefix);
  int rc = mp__from_win_error(e);
  for (size_t i = len; i-- > 0;) {
    if (prefix[i] != L'/' && prefix[i] != L'\\') continue;
    prefix[i] = 0;
    DWORD attrs = GetFileAttributesW(prefix);
    if (attrs == INVALID_FILE_ATTRIBUTES) continue;
    if (!(attrs & FILE_ATTRIBUTE_DIRECTORY)) rc = MP_ENOTDIR;
    break; /* the nearest thing that exists decides */
  }
  free(prefix);
  return rc;
}

/* CreateFileW's access and disposition for MP__FS_… flags. */
static DWORD access_of(int flags) {
  DWORD access = 0;
  if (flags & MP__FS_READ) access |= FILE_GENERIC_READ;
  if (flags & MP__FS_WRITE) {
    /* FILE_APPEND_DATA without FILE_WRITE_DATA: the file system puts every
     * write at the end of the file, whatever the OVERLAPPED offset says,
     * as Linux does for pwrite on O_APPEND. */
    access |= (flags & MP__FS_APPEND) ? FILE_GENERIC_WRITE & ~FILE_WRITE_DATA : FILE_GENERIC_WRITE;
  }
  return access;
}

static DWORD disposition_of(int flags) {
  if (flags & MP__FS_CREATE) {
    if (flags & MP__FS_EXCL) return CREATE_NEW;
    return (flags & MP__FS_TRUNC) ? CREATE_ALWAYS : OPEN_ALWAYS;
  }
  return (flags & MP__FS_TRUNC) ? TRUNCATE_EXISTING : OPEN_EXISTING;
}

/* Every handle shares everything, delete included, so that files can be
 * renamed and unlinked while open, as on POSIX. */
#define SHARE_ALL (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)

int mp__fs_open(const char *path, int flags, int mode, mp__fd *out) {
  wchar_t *wpath;
  int rc = to_wide(path, &wpath);
  if (rc < 0) return rc;
  /* A new file without the owner's write bit is made read-only, the one
   * permission bit Windows files have. */
  DWORD attrs = (mode & 0200) ? FILE_ATTRIBUTE_NORMAL : FILE_ATTRIBUTE_READONLY;
  HANDLE h = CreateFileW(wpath, access_of(flags), SHARE_ALL, NULL, disposition_of(flags),
                         attrs | FILE_FLAG_OVERLAPPED, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    /* Without FILE_FLAG_BACKUP_SEMANTICS a directory is "access denied". */
    rc = e == ERROR_ACCESS_DENIED && is_dir(GetFileAttributesW(wpath)) ? MP_EISDIR
                                                                       : path_error(wpath, e);
  } else {
    *out = h;
  }
  free(wpath);
  return rc;
}

int mp__fs_close(mp__fd fd) {
  return CloseHandle(fd) ? 0 : mp__from_win_error(GetLastError());
}

/* Seconds since the Unix epoch of a FILETIME count (100 ns since 1601). */
static double unix_seconds(LONGLONG t) {
  return (double)(t - 116444736000000000LL) / 1e7;
}

static int stat_handle(HANDLE h, mp__fs_stat *out) {
  BY_HANDLE_FILE_INFORMATION info;
  FILE_BASIC_INFO basic; /* for the change time, which ctime is on POSIX */
  if (!GetFileInformationByHandle(h, &info) ||
      !GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof basic))
    return mp__from_win_error(GetLastError());
  int dir = (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
  memset(out, 0, sizeof *out);
  out->size = dir ? 0 : (int64_t)(((uint64_t)info.nFileSizeHigh << 32) | info.nFileSizeLow);
  out->atime = unix_seconds(basic.LastAccessTime.QuadPart);
  out->mtime = unix_seconds(basic.LastWriteTime.QuadPart);
  out->ctime = unix_seconds(basic.ChangeTime.QuadPart);
  out->ino = ((uint64_t)info.nFileIndexHigh << 32) | info.nFileIndexLow;
  out->dev = info.dwVolumeSerialNumber;
  out->nlink = info.nNumberOfLinks;
  /* The read-only attribute as permission bits, everyone alike (uid and
   * gid stay 0): what msvcrt's stat and libuv report. */
  out->mode = (info.dwFileAttributes & FILE_ATTRIBUTE_READONLY) ? 0444 : 0666;
  if (dir) out->mode |= 0111;
  out->type = dir ? MP__FS_DIR : MP__FS_FILE;
  return 0;
}

int mp__fs_stat_path(const char *path, mp__fs_stat *out) {
  wchar_t *wpath;
  int rc = to_wide(path, &wpath);
  if (rc < 0) return rc;
  /* No access asked for, only the attributes; BACKUP_SEMANTICS opens
   * directories too. Links are followed, as stat does. */
  HANDLE h = CreateFileW(wpath, FILE_READ_ATTRIBUTES, SHARE_ALL, NULL, OPEN_EXISTING,
                         FILE_FLAG_BACKUP_SEMANTICS, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    rc = path_error(wpath, GetLastError());
  } else {
    rc = stat_handle(h, out);
    CloseHandle(h);
  }
  free(wpath);
  return rc;
}

int mp__fs_stat_fd(mp__fd fd, mp__fs_stat *out) {
  return stat_handle(fd, out);
}

int mp__fs_unlink(const char *path) {
  wchar_t *wpath;
  int rc = to_wide(path, &wpath);
  if (rc < 0) return rc;
  if (!DeleteFileW(wpath)) {
    DWORD e = GetLastError();
    DWORD attrs = GetFileAttributesW(wpath);
    rc = path_error(wpath, e);
    if (e == ERROR_ACCESS_DENIED && is_dir(attrs)) {
      rc = MP_EISDIR;
    } else if (e == ERROR_ACCESS_DENIED && attrs != INVALID_FILE_ATTRIBUTES &&
               (attrs & FILE_ATTRIBUTE_READONLY)) {
      /* POSIX unlinks a file whatever its own permissions say: so do we,
       * taking the read-only attribute off first (and back on if the
       * delete still fails). */
      if (SetFileAttributesW(wpath, attrs & ~FILE_ATTRIBUTE_READONLY)) {
        if (DeleteFileW(wpath)) {
          rc = 0;
        } else {
          rc = path_error(wpath, GetLastError());
          SetFileAttributesW(wpath, attrs);
        }
      }
    }
  }
  free(wpath);
  return rc;
}

int mp__fs_rename(const char *from, const char *to) {
  wchar_t *wfrom, *wto;
  int rc = to_wide(from, &wfrom);
  if (rc < 0) return rc;
  rc = to_wide(to, &wto);
  if (rc < 0) {
    free(wfrom);
    return rc;
  }
  /* MOVEFILE_REPLACE_EXISTING: POSIX rename replaces its target. */
  if (!MoveFileExW(wfrom, wto, MOVEFILE_REPLACE_EXISTING)) {
    DWORD e = GetLastError();
    /* Windows never replaces a directory: say what is in the way. */
    rc = e == ERROR_ACCESS_DENIED && is_dir(GetFileAttributesW(wto)) ? MP_EEXIST
                                                                     : path_error(wfrom, e);
  }
  free(wfrom);
  free(wto);
  return rc;
}

int mp__fs_mkdir(const char *path, int mode) {
  (void)mode; /* directories have no permission bits of their own here */
  wchar_t *wpath;
  int rc = to_wide(path, &wpath);
  if (rc < 0) return rc;
  if (!CreateDirectoryW(wpath, NULL)) rc = path_error(wpath, GetLastError());
  free(wpath);
  return rc;
}

int mp__fs_rmdir(const char *path) {
  wchar_t *wpath;
  int rc = to_wide(path, &wpath);
  if (rc < 0) return rc;
  if (!RemoveDirectoryW(wpath)) {
    DWORD e = GetLastError();
    DWORD attrs = GetFileAttributesW(wpath);
    /* A file where a directory is expected: ENOTDIR, as rmdir(2) says. */
    rc = attrs != INVALID_FILE_ATTRIBUTES && !is_dir(attrs) ? MP_ENOTDIR : path_error(wpath, e);
  }
  free(wpath);
  return rc;
}

static int type_of_entry(const WIN32_FIND_DATAW *e) {
  if ((e->dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
      e->dwReserved0 == IO_REPARSE_TAG_SYMLINK)
    return MP__FS_LINK;
  return (e->dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ? MP__FS_DIR : MP__FS_FILE;
}

/* Add entry e to dir under its UTF-8 name, unless it is "." or "..". */
static int add_entry(mp__fs_dir *dir, size_t *names_len, size_t *names_cap, size_t *types_cap,
                     const WIN32_FIND_DATAW *e) {
  const wchar_t *w = e->cFileName;
  if (w[0] == L'.' && (w[1] == 0 || (w[1] == L'.' && w[2] == 0))) return 0;
  char name[MAX_PATH * 3]; /* up to 3 UTF-8 bytes per UTF-16 unit */
  if (!WideCharToMultiByte(CP_UTF8, 0, w, -1, name, sizeof name, NULL, NULL))
    return mp__from_win_error(GetLastError());
  return mp__fs_dir_add(dir, names_len, names_cap, types_cap, name, type_of_entry(e));
}

int mp__fs_scandir(const char *path, mp__fs_dir *out) {
  memset(out, 0, sizeof *out);
  wchar_t *wpath;
  int rc = to_wide(path, &wpath);
  if (rc < 0) return rc;
  size_t len = wcslen(wpath);
  wchar_t *pattern = malloc((len + 3) * sizeof *pattern);
  if (!pattern) {
    free(wpath);
    return MP_ENOMEM;
  }
  memcpy(pattern, wpath, len * sizeof *pattern);
  int sep = len > 0 && (wpath[len - 1] == L'/' || wpath[len - 1] == L'\\');
  memcpy(pattern + len, sep ? L"*" : L"\\*", (sep ? 2 : 3) * sizeof *pattern);
  WIN32_FIND_DATAW e;
  HANDLE find = FindFirstFileW(pattern, &e);
  if (find == INVALID_HANDLE_VALUE) {
    DWORD err = GetLastError();
    DWORD attrs = GetFileAttributesW(wpath);
    if (err == ERROR_FILE_NOT_FOUND && is_dir(attrs)) {
      rc = 0; /* no entry at all, not even "." (a drive's root) */
    } else if (attrs != INVALID_FILE_ATTRIBUTES && !is_dir(attrs)) {
      rc = MP_ENOTDIR;
    } else {
      rc = path_error(wpath, err);
    }
  } else {
    size_t names_len = 0, names_cap = 0, types_cap = 0;
    do {
      rc = add_entry(out, &names_len, &names_cap, &types_cap, &e);
    } while (rc == 0 && FindNextFileW(find, &e));
    if (rc == 0 && GetLastError() != ERROR_NO_MORE_FILES) rc = mp__from_win_error(GetLastError());
    FindClose(find);
  }
  free(pattern);
  free(wpath);
  if (rc < 0) mp__fs_dir_free(out);
  return rc;
}
