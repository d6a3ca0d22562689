/* hash_file.c: cmodule.sha256_file: blocking reads and hashing on one of
 * the loop's work threads (mp_work), the result handed to a callback or to
 * the waiting coroutine (mp_cont). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmodule.h"
#include "sha256.h"

/* One file to hash. The work thread writes err and hex; the Lua thread
 * reads them only in hash_done, after the work's completion. */
typedef struct hash_job {
  mp_work work;
  int cont;
  char hex[2 * SHA256_DIGEST_SIZE + 1];
  char path[]; /* NUL-terminated */
} hash_job;

/* On a work thread: no lua_State here. */
static void hash_run(mp_work *work) {
  hash_job *job = MP_CONTAINER_OF(work, hash_job, work);
  FILE *f = fopen(job->path, "rb");
  if (!f) {
    work->op.result = mp_from_errno(errno);
    return;
  }
  sha256_ctx ctx;
  sha256_init(&ctx);
  char buf[16384];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    sha256_update(&ctx, buf, n);
  /* A directory opens on Linux and fails at the first read (EISDIR). */
  work->op.result = ferror(f) ? mp_from_errno(errno) : 0;
  fclose(f);
  if (work->op.result == 0) {
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_final(&ctx, digest);
    sha256_hex(digest, job->hex);
  }
}

/* On the Lua thread: the digest, or the failure (also MP_ECANCELED). */
static void hash_done(mp_loop *loop, mp_op *op) {
  hash_job *job = MP_CONTAINER_OF(op, hash_job, work.op);
  lua_State *L = mp_loop_lua(loop);
  if (op->result < 0) {
    const char *what = lua_pushfstring(L, "sha256_file '%s'", job->path);
    mp_cont_fail(loop, job->cont, op->result, what);
    lua_pop(L, 1);
  } else {
    lua_pushstring(L, job->hex);
    mp_cont_ok(loop, job->cont, 1);
  }
  free(job);
}

int cmodule_sha256_file(lua_State *L) {
  size_t len;
  const char *path = luaL_checklstring(L, 1, &len);
  luaL_argcheck(L, strlen(path) == len, 1, "path contains a NUL byte");
  int cont = mp_cont_new(L, 2);
  hash_job *job = malloc(sizeof *job + len + 1);
  if (!job) {
    mp_cont_drop(L, cont);
    return cmodule_fail(L, MP_ENOMEM, "sha256_file");
  }
  memcpy(job->path, path, len + 1);
  job->cont = cont;
  job->work.fn = hash_run;
  job->work.op.cb = hash_done;
  int rc = mp_work_submit(mp_loop_get(L), &job->work);
  if (rc < 0) {
    mp_cont_drop(L, cont);
    free(job);
    return cmodule_fail(L, rc, "sha256_file");
  }
  return mp_cont_wait(L, cont);
}
