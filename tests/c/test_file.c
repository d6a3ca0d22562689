/* test_file.c: file ops on the port (file.h) on each backend: reads and
 * writes at offsets, more in flight than the ring has room for, errors,
 * cancels, each op completing exactly once; and the blocking calls. */
#include <inttypes.h>

#include "check.h"
#include "core/loop.h"
#include "port/file.h"
#include "port/reactor.h"

enum { MANY = 1000, BLOCK = 512 };

typedef struct req {
  mp__file_req file;
  int calls;
  int index;
  char buf[BLOCK];
} req;

static int completions;

static void on_done(mp_loop *loop, mp_op *op) {
  (void)loop;
  req *r = MP_CONTAINER_OF(op, req, file.op);
  r->calls++;
  completions++;
}

static mp_loop *new_loop(void) {
  test_backend();
  mp_loop *loop;
  CHECK_EQ(mp__loop_new(&loop, NULL, 0), 0);
  return loop;
}

static char dir[512];

/* A fresh directory (under TMPDIR, TEMP or /tmp) and a path in it
 * (removed by cleanup). */
static const char *temp_path(const char *name) {
  static char path[600];
  if (!dir[0]) {
    const char *base = getenv("TMPDIR");
    if (!base) base = getenv("TEMP");
    if (!base) base = "/tmp";
    snprintf(dir, sizeof dir, "%s/mp_test_file_%" PRIu64, base, mp__now_ns());
    CHECK_EQ(mp__fs_mkdir(dir, 0700), 0);
  }
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

/* Remove path and everything below it, with the calls under test. */
static void remove_tree(const char *path) {
  mp__fs_dir entries;
  CHECK_EQ(mp__fs_scandir(path, &entries), 0);
  const char *name = entries.names;
  for (size_t i = 0; i < entries.count; i++, name += strlen(name) + 1) {
    char below[700];
    snprintf(below, sizeof below, "%s/%s", path, name);
    if (entries.types[i] == MP__FS_DIR) {
      remove_tree(below);
    } else {
      CHECK_EQ(mp__fs_unlink(below), 0);
    }
  }
  mp__fs_dir_free(&entries);
  CHECK_EQ(mp__fs_rmdir(path), 0);
}

static void cleanup(void) {
  remove_tree(dir);
}

/* Open path as the bindings do: then attached to loop's port. */
static mp__fd open_attached(mp_loop *loop, const char *path, int flags, int mode) {
  mp__fd fd;
  CHECK_EQ(mp__fs_open(path, flags, mode, &fd), 0);
  CHECK_EQ(mp__file_attach(loop, fd), 0);
  return fd;
}

static void on_written(mp_loop *loop, mp_op *op) {
  (void)loop;
  (void)op;
}

/* Write len bytes of buf at offset and wait for it (not counted in
 * completions). */
static void write_now(mp_loop *loop, mp__fd fd, const char *buf, uint32_t len, int64_t offset) {
  mp__file_req w;
  w.op.cb = on_written;
  mp__file_write(loop, &w, fd, buf, len, offset);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(w.op.result, (int)len);
}

static char pattern(int block, int i) {
  return (char)('a' + (block * 7 + i) % 26);
}

/* Blocks written at their offsets in reverse order read back in order;
 * every op completes exactly once; fsync succeeds. */
static void read_write_at_offsets(void) {
  mp_loop *loop = new_loop();
  mp__fd fd =
      open_attached(loop, temp_path("rw"), MP__FS_READ | MP__FS_WRITE | MP__FS_CREATE, 0600);
  static req writes[8], reads[8], sync;
  for (int b = 7; b >= 0; b--) {
    for (int i = 0; i < BLOCK; i++)
      writes[b].buf[i] = pattern(b, i);
    writes[b].file.op.cb = on_done;
    mp__file_write(loop, &writes[b].file, fd, writes[b].buf, BLOCK, (int64_t)b * BLOCK);
  }
  CHECK_EQ(mp__loop_run(loop), 0);
  for (int b = 0; b < 8; b++) {
    CHECK_EQ(writes[b].calls, 1);
    CHECK_EQ(writes[b].file.op.result, BLOCK);
    reads[b].file.op.cb = on_done;
    mp__file_read(loop, &reads[b].file, fd, reads[b].buf, BLOCK, (int64_t)b * BLOCK);
  }
  sync.file.op.cb = on_done;
  mp__file_fsync(loop, &sync.file, fd);
  CHECK_EQ(mp__loop_run(loop), 0);
  for (int b = 0; b < 8; b++) {
    CHECK_EQ(reads[b].calls, 1);
    CHECK_EQ(reads[b].file.op.result, BLOCK);
    for (int i = 0; i < BLOCK; i++)
      CHECK_EQ(reads[b].buf[i], pattern(b, i));
  }
  CHECK_EQ(sync.calls, 1);
  CHECK_EQ(sync.file.op.result, 0);
  /* At the end of the file: 0; across it: what is there. */
  reads[0].file.op.cb = on_done;
  mp__file_read(loop, &reads[0].file, fd, reads[0].buf, BLOCK, 8 * BLOCK);
  reads[1].file.op.cb = on_done;
  mp__file_read(loop, &reads[1].file, fd, reads[1].buf, BLOCK, 8 * BLOCK - 10);
  CHECK_EQ(mp__loop_run(loop), 0);
  CHECK_EQ(reads[0].file.op.result, 0);
  CHECK_EQ(reads[1].file.op.result, 10);
  CHECK_EQ(completions, 8 + 8 + 1 + 2);
  CHECK_EQ(mp__fs_close(fd), 0);
  mp__loop_free(loop);
  cleanup();
}

/* More reads at once than the io_uring SQ holds (256): all complete, each
 * once, with its own block. */
static void many_in_flight(void) {
  mp_loop *loop = new_loop();
  mp__fd fd =
      open_attached(loop, temp_path("many"), MP__FS_READ | MP__FS_WRITE | MP__FS_CREATE, 0600);
  char block[BLOCK];
  for (int b = 0; b < MANY; b++) {
    for (int i = 0; i < BLOCK; i++)
      block[i] = pattern(b, i);
    write_now(loop, fd, block, BLOCK, (int64_t)b * BLOCK);
  }
  req *reads = calloc(MANY, sizeof *reads);
  CHECK(reads != NULL);
  int in_ring = 0;
  for (int b = 0; b < MANY; b++) {
    reads[b].file.op.cb = on_done;
    mp__file_read(loop, &reads[b].file, fd, reads[b].buf, BLOCK, (int64_t)b * BLOCK);
    in_ring += reads[b].file.in_ring;
  }
  /* On io_uring they are ring ops (some may have gone to the work pool
   * if the ring was full even after a submit); on epoll none is. */
  if (loop->port->reactor && loop->port->reactor->file_start) {
    CHECK(in_ring > 0);
  } else {
    CHECK_EQ(in_ring, 0);
  }
  CHECK_EQ(mp__loop_run(loop), 0);
  for (int b = 0; b < MANY; b++) {
    CHECK_EQ(reads[b].calls, 1);
    CHECK_EQ(reads[b].file.op.result, BLOCK);
    for (int i = 0; i < BLOCK; i++)
      CHECK_EQ(reads[b].buf[i], pattern(b, i));
  }
  CHECK_EQ(completions, MANY);
  free(reads);
  CHECK_EQ(mp__fs_close(fd), 0);
  mp__loop_free(loop);
  cleanup();
}

/* Failures come as completions with MP_E… codes. */
static void errors(void) {
  mp_loop *loop = new_loop();
  const char *path = temp_path("errors");
  mp__fd wo = open_attached(loop, path, MP__FS_WRITE | MP__FS_CREATE, 0600);
  mp__fd ro = open_attached(loop, path, MP__FS_READ, 0);
  static req r[3];
  for (int i = 0; i < 3; i++)
    r[i].file.op.cb = on_done;
  mp__file_write(loop, &r[0].file, ro, "x", 1, 0);
  mp__file_read(loop, &r[1].file, wo, r[1].buf, 1, 0);
  mp__file_read(loop, &r[2].file, MP__FD_NONE, r[2].buf, 1, 0);
  CHECK_EQ(mp__loop_run(loop), 0);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(r[i].calls, 1);
    CHECK_EQ(r[i].file.op.result, MP_EBADF);
  }
  CHECK_EQ(mp__fs_close(ro), 0);
  CHECK_EQ(mp__fs_close(wo), 0);
  mp__loop_free(loop);
  cleanup();
}

/* Cancelled ops still complete exactly once: with MP_ECANCELED, or with
 * their result if they ran first. */
static void cancel(void) {
  mp_loop *loop = new_loop();
  mp__fd fd =
      open_attached(loop, temp_path("cancel"), MP__FS_READ | MP__FS_WRITE | MP__FS_CREATE, 0600);
  write_now(loop, fd, "0123456789", 10, 0);
  req *reads = calloc(MANY, sizeof *reads);
  CHECK(reads != NULL);
  for (int b = 0; b < MANY; b++) {
    reads[b].file.op.cb = on_done;
    mp__file_read(loop, &reads[b].file, fd, reads[b].buf, 10, 0);
  }
  for (int b = 0; b < MANY; b++)
    mp__file_cancel(loop, &reads[b].file);
  CHECK_EQ(mp__loop_run(loop), 0);
  for (int b = 0; b < MANY; b++) {
    CHECK_EQ(reads[b].calls, 1);
    int result = reads[b].file.op.result;
    CHECK(result == 10 || result == MP_ECANCELED);
  }
  free(reads);
  CHECK_EQ(mp__fs_close(fd), 0);
  mp__loop_free(loop);
  cleanup();
}

/* The blocking calls on paths and their errors. */
static void path_calls(void) {
  mp_loop *loop = new_loop();
  const char *p = temp_path("d");
  char d[128], f[160], g[160];
  snprintf(d, sizeof d, "%s", p);
  snprintf(f, sizeof f, "%s/f", d);
  snprintf(g, sizeof g, "%s/g", d);
  mp__fd fd;
  CHECK_EQ(mp__fs_open(f, MP__FS_READ, 0, &fd), MP_ENOENT);
  CHECK_EQ(mp__fs_mkdir(d, 0700), 0);
  CHECK_EQ(mp__fs_mkdir(d, 0700), MP_EEXIST);
  CHECK_EQ(mp__fs_open(d, MP__FS_READ, 0, &fd), MP_EISDIR);
  /* Made without the owner's write bit: read-only on Windows too, and
   * still written through the handle that created it. */
  fd = open_attached(loop, f, MP__FS_WRITE | MP__FS_CREATE | MP__FS_EXCL, 0440);
  write_now(loop, fd, "abc", 3, 0);
  mp__fs_stat st;
  CHECK_EQ(mp__fs_stat_fd(fd, &st), 0);
  CHECK_EQ(st.size, 3);
  CHECK_EQ(st.type, MP__FS_FILE);
  CHECK_EQ(st.mode & 0600, 0400); /* the owner's bits, which both OSes have */
  CHECK_EQ(st.nlink, 1);
  CHECK_EQ(mp__fs_close(fd), 0);
  CHECK_EQ(mp__fs_open(f, MP__FS_WRITE | MP__FS_CREATE | MP__FS_EXCL, 0640, &fd), MP_EEXIST);
  CHECK_EQ(mp__fs_rename(f, g), 0);
  CHECK_EQ(mp__fs_stat_path(f, &st), MP_ENOENT);
  CHECK_EQ(mp__fs_stat_path(d, &st), 0);
  CHECK_EQ(st.type, MP__FS_DIR);
  mp__fs_dir entries;
  CHECK_EQ(mp__fs_scandir(d, &entries), 0);
  CHECK_EQ(entries.count, 1);
  CHECK(strcmp(entries.names, "g") == 0);
  CHECK_EQ(entries.types[0], MP__FS_FILE);
  mp__fs_dir_free(&entries);
  CHECK_EQ(mp__fs_scandir(g, &entries), MP_ENOTDIR);
  CHECK_EQ(mp__fs_rmdir(d), MP_ENOTEMPTY);
  CHECK_EQ(mp__fs_rmdir(g), MP_ENOTDIR);
  CHECK_EQ(mp__fs_unlink(d), MP_EISDIR);
  CHECK_EQ(mp__fs_unlink(g), 0); /* read-only: unlinked all the same */
  CHECK_EQ(mp__fs_unlink(g), MP_ENOENT);
  CHECK_EQ(mp__fs_rmdir(d), 0);
  CHECK_EQ(mp__fs_rmdir(d), MP_ENOENT);
  mp__loop_free(loop);
  cleanup();
}

int main(int argc, char **argv) {
  static const test_case cases[] = {
      {"read_write_at_offsets", read_write_at_offsets},
      {"many_in_flight", many_in_flight},
      {"errors", errors},
      {"cancel", cancel},
      {"path_calls", path_calls},
      {NULL, NULL},
  };
  return test_main(argc, argv, cases);
}
