/* test_signal.c: the process's signals (platform/signal.h) as the system
 * delivers them: SIGINT and SIGTERM sent to this very process (kill on
 * Linux; Ctrl+C and Ctrl+Break on Windows, see signal_send.h) reach the
 * delivering thread, and, through a Lua state, the runner's default
 * action and a script's handle. */
#include <stdatomic.h>

#include <lauxlib.h>
#include <lualib.h>

#include "bind/bind.h"
#include "check.h"
#include "platform/signal.h"
#include "signal_send.h"

static atomic_uint delivered;

static void record(unsigned mask) {
  atomic_fetch_or(&delivered, mask);
}

/* Wait up to 5 s for id's bit; returns whether it came. */
static int await_delivery(int id) {
  uint64_t deadline = mp__now_ns() + 5000000000u;
  while (!(atomic_load(&delivered) & (1u << id))) {
    if (mp__now_ns() > deadline) return 0;
    test_sleep_ms(1);
  }
  return 1;
}

/* Every id has a number or none; the ones without cannot be caught and
 * say so (MP_ENOSYS); exit statuses are never 0. */
static void names(void) {
  CHECK(mp__signal_number(MP__SIG_INT) != 0);
  CHECK(mp__signal_number(MP__SIG_TERM) != 0);
  CHECK_EQ(mp__signal_number(-1), 0);
  CHECK_EQ(mp__signal_number(MP__SIG_COUNT), 0);
  for (int id = 0; id < MP__SIG_COUNT; id++) {
    if (mp__signal_number(id) == 0) {
      printf("signal id %d: none on this system\n", id);
      CHECK_EQ(mp__signal_catch(id, record), MP_ENOSYS);
      continue;
    }
    CHECK(mp__signal_exit_status(id) != 0);
    CHECK_EQ(mp__signal_catch(id, record), 0);
    CHECK_EQ(mp__signal_catch(id, record), 0); /* twice is once */
    mp__signal_release(id);
  }
}

/* Sent to the process while caught: delivered as its own bit only. */
static void deliver(int id, int other) {
  CHECK_EQ(mp__signal_catch(id, record), 0);
  CHECK_EQ(mp__signal_catch(other, record), 0);
  mp__signal_release(other); /* one of two released: the other is still caught */
  CHECK_EQ(test_signal_send(id), 0);
  CHECK(await_delivery(id));
  CHECK_EQ(atomic_load(&delivered), 1u << id);
  mp__signal_release(id);
}

static void deliver_int(void) {
  deliver(MP__SIG_INT, MP__SIG_TERM);
}

static void deliver_term(void) {
  deliver(MP__SIG_TERM, MP__SIG_INT);
}

/* send(name) for the script: sends SIGINT or SIGTERM to this process. */
static int lua_send(lua_State *L) {
  int id = luaL_checkoption(L, 1, NULL, (const char *const[]){"SIGINT", "SIGTERM", NULL});
  lua_pushboolean(L, test_signal_send(id == 0 ? MP__SIG_INT : MP__SIG_TERM) == 0);
  return 1;
}

/* A script that has taken the signal gets it in its handle; one that has
 * not is stopped by the runner's default action (mp.run returns at once,
 * long before its timer), which then asks for the right exit status. */
static const char script[] =
    "local mp, name = require 'moonport.core', ...\n"
    "local got, handle\n"
    "local guard = mp.timer(5000, function() handle:stop() end)\n"
    "handle = mp.signal(name, function(h, n) got = n; h:stop(); guard:stop() end)\n"
    "assert(send(name))\n"
    "mp.run()\n"
    "assert(got == name, 'the handle did not get ' .. name)\n"
    "local begin = mp.now()\n"
    "local keep = mp.timer(5000, function() end)\n"
    "assert(send(name))\n"
    "assert(mp.run() == true, 'the loop ran out instead of stopping')\n"
    "assert(mp.now() - begin < 4000, 'the loop did not stop at the signal')\n"
    "keep:stop()\n";

static void runner_takes(int id, const char *name) {
  lua_State *L = luaL_newstate();
  CHECK(L != NULL);
  luaL_openlibs(L);
  mp__signal_runner_default(L);
  luaL_requiref(L, "moonport.core", luaopen_moonport_core, 0);
  lua_pop(L, 1);
  lua_register(L, "send", lua_send);
  CHECK_EQ(mp__signal_runner_exit(L), 0);
  if (luaL_loadstring(L, script) != LUA_OK || (lua_pushstring(L, name), lua_pcall(L, 1, 0, 0))) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    exit(1);
  }
  CHECK_EQ(mp__signal_runner_exit(L), mp__signal_exit_status(id));
  lua_close(L);
}

static void runner_int(void) {
  runner_takes(MP__SIG_INT, "SIGINT");
}

static void runner_term(void) {
  runner_takes(MP__SIG_TERM, "SIGTERM");
}

int main(int argc, char **argv) {
  static const test_case cases[] = {
      {"names", names},           {"deliver_int", deliver_int}, {"deliver_term", deliver_term},
      {"runner_int", runner_int}, {"runner_term", runner_term}, {NULL, NULL},
  };
  return test_main(argc, argv, cases);
}
