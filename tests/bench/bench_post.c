/* bench_post.c: how many packets per second go
 *
 *   poster thread -> mp_post -> port -> worker -> Lua thread -> Lua function
 *
 * and, as the reference, how many calls per second a plain C loop makes into
 * the same Lua function the same way (lua_rawgeti + lua_pcall with a message
 * handler at a fixed stack slot), in the same process.
 *
 *   bench_post [-n packets] [-p posters]
 *
 * The backend and the worker count come from MOONPORT_BACKEND and
 * MOONPORT_WORKERS, as for every moonport program. Each measurement prints
 * one line of key=value fields (run.sh reads them):
 *
 *   plain: calls=... seconds=... rate_mps=...
 *   post: backend=... workers=... posters=... packets=... seconds=... rate_mps=...
 *         posting_seconds=... cpu_seconds=... lua_thread_cpu_seconds=...
 *   ratio: post/plain=...
 *
 * rate_mps is millions per second; seconds runs from the start signal to
 * the last callback, posting_seconds to the return of the last mp_post.
 * cpu_seconds is the process CPU time of the moonport part (every thread:
 * posters, workers, the Lua thread), lua_thread_cpu_seconds the Lua
 * thread's share: close to seconds means the Lua thread was the bottleneck,
 * well below means it waited for packets.
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "bind/bind.h"
#include "core/loop.h"
#include "moonport.h"
#include "platform/platform.h"

/* The function every packet calls, and a way to read its count back. */
static const char lua_code[] = "local n = 0\n"
                               "return function() n = n + 1 end, function() return n end\n";

typedef struct poster {
  mp__thread thread;
  mp_op *ops;
  size_t count;
  int failed;       /* mp_post refused a packet */
  uint64_t done_ns; /* when its last mp_post returned */
} poster;

/* Everything the Lua thread's callback needs. */
static struct {
  lua_State *L;
  int fn_ref; /* registry ref of the function each packet calls */
  int msgh;   /* stack slot of the message handler */
  size_t expected, received, errors;
  uint64_t last_ns; /* when the last packet's call returned */
  atomic_int go;    /* posters wait for this before posting */
  mp_loop *loop;
} bench;

static double cpu_seconds(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the bindings do for each callback: fetch the function from the
 * registry, call it protected with the traceback handler. */
static inline void call_lua(lua_State *L) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, bench.fn_ref);
  if (lua_pcall(L, 0, 0, bench.msgh) != LUA_OK) {
    if (bench.errors++ == 0)
      fprintf(stderr, "bench_post: error in callback: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
}

/* The op callback, on the Lua thread. */
static void on_packet(mp_loop *loop, mp_op *op) {
  (void)op;
  call_lua(bench.L);
  if (++bench.received == bench.expected) {
    bench.last_ns = mp__now_ns();
    mp_loop_unref(loop);
  }
}

static void poster_main(void *arg) {
  poster *p = arg;
  while (!atomic_load_explicit(&bench.go, memory_order_acquire)) {
  }
  for (size_t i = 0; i < p->count; i++) {
    if (mp_post(bench.loop, &p->ops[i]) < 0) {
      p->failed = 1;
      break;
    }
  }
  p->done_ns = mp__now_ns();
}

static void usage(void) {
  fprintf(stderr, "usage: bench_post [-n packets (default 5000000)] [-p posters (default 1)]\n");
  exit(2);
}

static long parse_count(const char *s, long max) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v <= 0 || v > max) usage();
  return v;
}

/* How many counted calls the Lua function has seen. */
static long long lua_count(lua_State *L, int getter_ref) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, getter_ref);
  lua_call(L, 0, 1);
  long long n = (long long)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return n;
}

int main(int argc, char **argv) {
  long npackets = 5000000, nposters = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
      npackets = parse_count(argv[++i], 1000000000L);
    } else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
      nposters = parse_count(argv[++i], 64);
    } else {
      usage();
    }
  }

  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "bench_post: cannot create a Lua state\n");
    return 1;
  }
  luaL_openlibs(L);
  luaL_requiref(L, "moonport.core", luaopen_moonport_core, 0);
  lua_pop(L, 1);
  bench.loop = mp_loop_get(L);
  if (!bench.loop) {
    fprintf(stderr, "bench_post: no loop\n");
    return 1;
  }
  bench.L = L;

  if (luaL_loadstring(L, lua_code) != LUA_OK) {
    fprintf(stderr, "bench_post: %s\n", lua_tostring(L, -1));
    return 1;
  }
  lua_call(L, 0, 2);
  int getter_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  bench.fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushcfunction(L, mp__bind_traceback);
  bench.msgh = lua_gettop(L); /* stays here for both measurements */

  /* The reference: a plain C loop, same call, same count. */
  long long before = lua_count(L, getter_ref);
  uint64_t t0 = mp__now_ns();
  for (long i = 0; i < npackets; i++)
    call_lua(L);
  uint64_t t1 = mp__now_ns();
  double plain_s = (double)(t1 - t0) / 1e9;
  double plain_rate = (double)npackets / plain_s;
  if (lua_count(L, getter_ref) - before != npackets) {
    fprintf(stderr, "bench_post: the plain loop called %lld times, not %ld\n",
            lua_count(L, getter_ref) - before, npackets);
    return 1;
  }
  printf("plain: calls=%ld seconds=%.3f rate_mps=%.2f\n", npackets, plain_s, plain_rate / 1e6);
  fflush(stdout);

  /* The posters' ops, all allocated and touched before the clock starts:
   * posting never allocates. */
  poster *posters = calloc((size_t)nposters, sizeof *posters);
  mp_op *ops = calloc((size_t)npackets, sizeof *ops);
  if (!posters || !ops) {
    fprintf(stderr, "bench_post: out of memory for %ld ops\n", npackets);
    return 1;
  }
  for (long i = 0; i < npackets; i++) {
    ops[i].cb = on_packet;
    ops[i].result = 0;
  }
  size_t per = (size_t)(npackets / nposters), extra = (size_t)(npackets % nposters), at = 0;
  for (long i = 0; i < nposters; i++) {
    posters[i].ops = ops + at;
    posters[i].count = per + ((size_t)i < extra ? 1 : 0);
    at += posters[i].count;
  }

  bench.expected = (size_t)npackets;
  bench.received = 0;
  before = lua_count(L, getter_ref);
  mp_loop_ref(bench.loop); /* until every packet has come back */
  for (long i = 0; i < nposters; i++) {
    if (mp__thread_start(&posters[i].thread, poster_main, &posters[i]) < 0) {
      fprintf(stderr, "bench_post: cannot start poster thread\n");
      return 1;
    }
  }
  double cpu0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  double lua_cpu0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  uint64_t start = mp__now_ns();
  atomic_store_explicit(&bench.go, 1, memory_order_release);
  mp__loop_run(bench.loop);
  double cpu1 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  double lua_cpu1 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  for (long i = 0; i < nposters; i++)
    mp__thread_join(posters[i].thread);
  for (long i = 0; i < nposters; i++) {
    if (posters[i].failed) {
      fprintf(stderr, "bench_post: mp_post failed\n");
      return 1;
    }
  }
  long long calls = lua_count(L, getter_ref) - before;
  if (bench.received != bench.expected || calls != npackets || bench.errors) {
    fprintf(
        stderr,
        "bench_post: %zu packets reached the callback, %lld Lua calls, %zu errors; expected %ld\n",
        bench.received, calls, bench.errors, npackets);
    return 1;
  }
  double post_s = (double)(bench.last_ns - start) / 1e9;
  uint64_t posted_ns = 0;
  for (long i = 0; i < nposters; i++) {
    if (posters[i].done_ns > posted_ns) posted_ns = posters[i].done_ns;
  }
  double post_rate = (double)npackets / post_s;
  printf("post: backend=%s workers=%d posters=%ld packets=%ld seconds=%.3f rate_mps=%.2f "
         "posting_seconds=%.3f cpu_seconds=%.3f lua_thread_cpu_seconds=%.3f\n",
         mp_loop_backend(bench.loop), bench.loop->nworkers, nposters, npackets, post_s,
         post_rate / 1e6, (double)(posted_ns - start) / 1e9, cpu1 - cpu0, lua_cpu1 - lua_cpu0);
  printf("ratio: post/plain=%.3f\n", post_rate / plain_rate);
  fflush(stdout);

  lua_close(L); /* frees the loop: workers and timer thread stop */
  free(ops);
  free(posters);
  return 0;
}
