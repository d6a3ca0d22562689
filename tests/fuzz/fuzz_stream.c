/* fuzz_stream.c: libFuzzer target for lua/moonport/stream.lua, the buffer
 * behind the coroutine form's read(n), read_line, read_until and read_some.
 *
 * The input says everything: the max of read_line and read_until, a
 * delimiter, a cycle of reads, then chunks (a length byte, then that many
 * bytes of data). The reads run in turn over the buffer; a read that wants
 * more data gets the next chunk, and once there is none the rest is taken.
 * Each answer is checked against a reference computed here from the bytes
 * pushed so far: the same bytes, in order, none lost or repeated; lines and
 * delimited data no longer than max; a read that waits for a delimiter only
 * while fewer than max + the delimiter's length bytes are buffered (so the
 * buffer never holds more than that and one chunk). */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <string.h>

#include "fuzz_lua.h"

#ifndef STREAM_LUA
#error "STREAM_LUA: the path of lua/moonport/stream.lua"
#endif

enum { MAX_OPS = 16, MAX_DELIM = 3, MAX_CHUNK = 63 };

/* The input, taken apart. data is every chunk's bytes in a row; chunk_end
 * the end of each chunk in data. */
typedef struct plan {
  size_t max;
  char delim[MAX_DELIM];
  size_t delim_len;
  uint8_t ops[MAX_OPS];
  size_t nops;
  uint8_t *data;
  size_t *chunk_end;
  size_t nchunks;
} plan;

/* A read's expected answer: taken > 0 or data (read of 0 bytes) with
 * consumed bytes; or want_more; or a refusal (err) taking max bytes. */
typedef struct answer {
  int want_more;
  const char *err; /* "line too long", "too long", or NULL */
  size_t taken;    /* bytes returned */
  size_t consumed; /* bytes removed from the buffer (taken + delimiter) */
} answer;

static size_t next_byte(const uint8_t **p, const uint8_t *end) {
  return *p < end ? *(*p)++ : 0;
}

static void make_plan(plan *pl, const uint8_t *in, size_t size) {
  const uint8_t *p = in, *end = in + size;
  pl->max = 1 + next_byte(&p, end) % 32;
  pl->delim_len = 1 + next_byte(&p, end) % MAX_DELIM;
  for (size_t i = 0; i < pl->delim_len; i++)
    pl->delim[i] = (char)next_byte(&p, end);
  pl->nops = 1 + next_byte(&p, end) % MAX_OPS;
  for (size_t i = 0; i < pl->nops; i++)
    pl->ops[i] = (uint8_t)next_byte(&p, end);
  /* At most one chunk per remaining byte. */
  size_t left = (size_t)(end - p);
  pl->data = malloc(left + 1);
  pl->chunk_end = malloc((left + 1) * sizeof *pl->chunk_end);
  FUZZ_CHECK(pl->data && pl->chunk_end);
  size_t n = 0;
  pl->nchunks = 0;
  while (p < end) {
    size_t len = next_byte(&p, end) % (MAX_CHUNK + 1);
    if (len > (size_t)(end - p)) len = (size_t)(end - p);
    memcpy(pl->data + n, p, len);
    p += len;
    n += len;
    pl->chunk_end[pl->nchunks++] = n;
  }
}

/* What read_line(max) must answer over buf[0..avail). */
static answer expect_line(const uint8_t *buf, size_t avail, size_t max) {
  answer a = {0, NULL, 0, 0};
  const uint8_t *nl = memchr(buf, '\n', avail);
  if (nl) {
    size_t len = (size_t)(nl - buf);
    int crlf = len > 0 && buf[len - 1] == '\r';
    size_t line = crlf ? len - 1 : len;
    if (len <= max + 1 && line <= max) {
      a.taken = line;
      a.consumed = len + 1;
      return a;
    }
  } else if (avail < max + 2) {
    a.want_more = 1;
    return a;
  }
  a.err = "line too long";
  a.taken = a.consumed = max;
  return a;
}

/* What read_until(delim, max) must answer over buf[0..avail). */
static answer expect_until(const uint8_t *buf, size_t avail, const plan *pl) {
  answer a = {0, NULL, 0, 0};
  const uint8_t *at = memmem(buf, avail, pl->delim, pl->delim_len);
  if (at && (size_t)(at - buf) <= pl->max) {
    a.taken = (size_t)(at - buf);
    a.consumed = a.taken + pl->delim_len;
    return a;
  }
  if (!at && avail < pl->max + pl->delim_len) {
    a.want_more = 1;
    return a;
  }
  a.err = "too long";
  a.taken = a.consumed = pl->max;
  return a;
}

/* Push the read that op names with its arguments; returns their number and
 * the expected answer over buf[0..avail). */
static int push_read(lua_State *L, const plan *pl, uint8_t op, const uint8_t *buf, size_t avail,
                     answer *a) {
  size_t n = (size_t)(op >> 2) % 40;
  switch (op & 3) {
  case 0:
    fuzz_push_function(L, "read_line");
    lua_pushinteger(L, (lua_Integer)pl->max);
    *a = expect_line(buf, avail, pl->max);
    return 1;
  case 1:
    fuzz_push_function(L, "read_until");
    lua_pushlstring(L, pl->delim, pl->delim_len);
    lua_pushinteger(L, (lua_Integer)pl->max);
    *a = expect_until(buf, avail, pl);
    return 2;
  case 2:
    fuzz_push_function(L, "read");
    lua_pushinteger(L, (lua_Integer)n);
    *a = (answer){avail < n, NULL, n, n};
    return 1;
  default:
    fuzz_push_function(L, "read_some");
    *a = (answer){avail == 0, NULL, avail, avail};
    return 0;
  }
}

/* The buffer's size field, which must match the reference. */
static size_t buffered(lua_State *L, int buf) {
  lua_getfield(L, buf, "size");
  FUZZ_CHECK(lua_isinteger(L, -1));
  lua_Integer size = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return (size_t)size;
}

/* Check the results of a read (3 on the stack) against a. */
static void check_answer(lua_State *L, const answer *a, const uint8_t *buf) {
  size_t len;
  const char *s;
  if (a->want_more) {
    FUZZ_CHECK(lua_isboolean(L, -3) && !lua_toboolean(L, -3));
    return;
  }
  if (a->err) {
    FUZZ_CHECK(lua_isnil(L, -3));
    FUZZ_CHECK(lua_type(L, -2) == LUA_TSTRING && strcmp(lua_tostring(L, -2), a->err) == 0);
    s = lua_tolstring(L, -1, &len);
  } else {
    FUZZ_CHECK(lua_isnil(L, -2));
    s = lua_tolstring(L, -3, &len);
  }
  FUZZ_CHECK(s != NULL && len == a->taken && memcmp(s, buf, len) == 0);
}

/* Push chunk number i into the buffer; returns the bytes pushed so far. */
static size_t push_chunk(lua_State *L, int buf, const plan *pl, size_t i) {
  size_t from = i > 0 ? pl->chunk_end[i - 1] : 0;
  fuzz_push_function(L, "push");
  lua_pushvalue(L, buf);
  lua_pushlstring(L, (const char *)pl->data + from, pl->chunk_end[i] - from);
  fuzz_call(L, 2, 0);
  return pl->chunk_end[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
  lua_State *L = fuzz_lua_state(STREAM_LUA);
  plan pl;
  make_plan(&pl, in, size);
  fuzz_push_function(L, "new");
  fuzz_call(L, 0, 1);
  int buf = lua_gettop(L);

  size_t consumed = 0, pushed = 0, chunk = 0;
  /* Reads of 0 bytes take nothing: bound the reads, not the progress. */
  size_t reads_left = 4 * pl.nchunks + 64;
  for (size_t i = 0; reads_left > 0; reads_left--) {
    answer a;
    uint8_t op = pl.ops[i % pl.nops];
    const uint8_t *rest = pl.data + consumed;
    int nargs = push_read(L, &pl, op, rest, pushed - consumed, &a);
    lua_pushvalue(L, buf);
    lua_insert(L, -1 - nargs);
    fuzz_call(L, 1 + nargs, 3);
    check_answer(L, &a, rest);
    lua_pop(L, 3);
    if (!a.want_more) {
      consumed += a.consumed;
      FUZZ_CHECK(buffered(L, buf) == pushed - consumed);
      i++;
      continue;
    }
    if (chunk == pl.nchunks) break;
    pushed = push_chunk(L, buf, &pl, chunk++);
  }
  /* The end of the stream: what is left, taken at once, is the rest. */
  while (chunk < pl.nchunks)
    pushed = push_chunk(L, buf, &pl, chunk++);
  FUZZ_CHECK(buffered(L, buf) == pushed - consumed);
  fuzz_push_function(L, "take");
  lua_pushvalue(L, buf);
  lua_pushinteger(L, (lua_Integer)(pushed - consumed));
  fuzz_call(L, 2, 1);
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  FUZZ_CHECK(s && len == pushed - consumed && memcmp(s, pl.data + consumed, len) == 0);
  lua_settop(L, 0);
  free(pl.data);
  free(pl.chunk_end);
  return 0;
}
