/* file_common.c: what the file ports of every OS share: the arguments of
 * a request, and the entry list that scandir builds. */
#include <stdlib.h>
#include <string.h>

#include "port/file.h"

/* Fill req in and hand it to this OS's mp__file_start. */
static void start(mp_loop *loop, mp__file_req *req, int kind, mp__fd fd, void *buf, uint32_t len,
                  int64_t offset) {
  req->kind = (uint8_t)kind;
  req->fd = fd;
  req->buf = buf;
  req->len = len;
  req->offset = offset;
  req->in_ring = 0;
  mp__file_start(loop, req);
}

void mp__file_read(mp_loop *loop, mp__file_req *req, mp__fd fd, void *buf, uint32_t len,
                   int64_t offset) {
  start(loop, req, MP__FILE_READ, fd, buf, len, offset);
}

void mp__file_write(mp_loop *loop, mp__file_req *req, mp__fd fd, const void *buf, uint32_t len,
                    int64_t offset) {
  start(loop, req, MP__FILE_WRITE, fd, (void *)(uintptr_t)buf, len, offset); /* only read */
}

void mp__file_fsync(mp_loop *loop, mp__file_req *req, mp__fd fd) {
  start(loop, req, MP__FILE_FSYNC, fd, NULL, 0, 0);
}

int mp__fs_dir_add(mp__fs_dir *dir, size_t *names_len, size_t *names_cap, size_t *types_cap,
                   const char *name, int type) {
  size_t n = strlen(name) + 1;
  if (*names_len + n > *names_cap) {
    size_t cap = *names_cap ? *names_cap * 2 : 1024;
    while (cap < *names_len + n)
      cap *= 2;
    char *grown = realloc(dir->names, cap);
    if (!grown) return MP_ENOMEM;
    dir->names = grown;
    *names_cap = cap;
  }
  if (dir->count == *types_cap) {
    size_t cap = *types_cap ? *types_cap * 2 : 64;
    uint8_t *grown = realloc(dir->types, cap);
    if (!grown) return MP_ENOMEM;
    dir->types = grown;
    *types_cap = cap;
  }
  memcpy(dir->names + *names_len, name, n);
  *names_len += n;
  dir->types[dir->count++] = (uint8_t)type;
  return 0;
}

void mp__fs_dir_free(mp__fs_dir *dir) {
  free(dir->names);
  free(dir->types);
  memset(dir, 0, sizeof *dir);
}
