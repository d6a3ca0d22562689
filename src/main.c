/* main.c: the moonport runner: run a Lua script, then the loop until idle.
 *
 *   moonport [options] [script [args...]]
 *
 * Like lua: `arg` holds the script name at 0 and its arguments from 1, -e
 * runs a string, - reads the script from stdin. Exit status 0, or 1 with
 * the error and its traceback on stderr when a chunk fails to load or
 * raises at top level. Errors inside callbacks go to mp.on_error instead.
 * SIGINT or SIGTERM that the script has not taken with mp.signal stops the
 * loop; the state is closed (finalizers run, sockets close) and the exit
 * status is 128 + the signal's number (130, 143), as a shell reports a
 * process killed by it (on Windows, Ctrl+C or Ctrl+Break: the status of a
 * console process they ended, STATUS_CONTROL_C_EXIT). A second one
 * meanwhile kills the process at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "bind/bind.h"
#include "moonport.h"
#include "platform/platform.h"

static const char *progname = "moonport";

static void print_usage(void) {
  fprintf(stderr,
          "usage: %s [options] [script [args]]\n"
          "Available options are:\n"
          "  -e stat   execute string 'stat'\n"
          "  -v        show version information\n"
          "  --        stop handling options\n"
          "  -         execute stdin and stop handling options\n",
          progname);
}

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s: %s\n", progname, msg ? msg : "(error object is not a string)");
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

/* Call the function below narg arguments with a traceback handler. */
static int docall(lua_State *L, int narg) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, mp__bind_traceback);
  lua_insert(L, base);
  int status = lua_pcall(L, narg, 0, base);
  lua_remove(L, base);
  return status;
}

/* Put in front of package[field] the templates by_exe (each "%s" the
 * binary's directory) and then installed. */
static void prepend_search_path(lua_State *L, const char *field, const char *const by_exe[], int n,
                                const char *installed) {
  char dir[4096];
  luaL_Buffer b;
  lua_getglobal(L, "package");
  luaL_buffinit(L, &b);
  if (mp__exe_dir(dir, sizeof dir) == 0) {
    for (int i = 0; i < n; i++) {
      lua_pushfstring(L, by_exe[i], dir);
      luaL_addvalue(&b);
    }
  }
  luaL_addstring(&b, installed);
  lua_getfield(L, -2, field);
  luaL_addvalue(&b);
  luaL_pushresult(&b);
  lua_setfield(L, -2, field);
  lua_pop(L, 1);
}

#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Find the Lua library (lua/moonport/) and C modules (lib/) next to the
 * binary in a build tree, in the relocatable install layout, or at the
 * configured install path. */
static void set_library_path(lua_State *L) {
  static const char *const lua_by_exe[] = {"%s/lua/?.lua;", "%s/lua/?/init.lua;",
                                           "%s/../share/lua/5.4/?.lua;",
                                           "%s/../share/lua/5.4/?/init.lua;"};
  static const char *const c_by_exe[] = {"%s/lib/?" MP__MODULE_SUFFIX ";",
                                         "%s/../lib/lua/5.4/?" MP__MODULE_SUFFIX ";"};
  prepend_search_path(L, "path", lua_by_exe, COUNT_OF(lua_by_exe),
                      MOONPORT_INSTALL_LUA_DIR "/?.lua;" MOONPORT_INSTALL_LUA_DIR "/?/init.lua;");
  prepend_search_path(L, "cpath", c_by_exe, COUNT_OF(c_by_exe),
                      MOONPORT_INSTALL_CMOD_DIR "/?" MP__MODULE_SUFFIX ";");
}

/* The core is linked in: require "moonport.core" finds it in preload. */
static void preload_core(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_moonport_core);
  lua_setfield(L, -2, "moonport.core");
  lua_pop(L, 1);
}

/* arg = { [-n..-1] = interpreter and options, [0] = script, [1..] = args }. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
  lua_createtable(L, argc - script, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* If the script loaded moonport, run its loop until nothing is left. */
static int run_loop(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  int loaded = lua_getfield(L, -1, "moonport.core") == LUA_TTABLE;
  if (!loaded) {
    lua_pop(L, 2);
    return LUA_OK;
  }
  lua_getfield(L, -1, "run");
  lua_remove(L, -2);
  lua_remove(L, -2);
  return docall(L, 0);
}

static int run_script(lua_State *L, char **argv, int argc, int script) {
  const char *name = argv[script];
  if (strcmp(name, "-") == 0 && strcmp(argv[script - 1], "--") != 0) name = NULL;
  int status = luaL_loadfile(L, name);
  if (status != LUA_OK) return status;
  int n = argc - script - 1;
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (int i = script + 1; i < argc; i++)
    lua_pushstring(L, argv[i]);
  return docall(L, n);
}

/* Runs inside a protected call, so that errors while setting up (out of
 * memory) are reported like any other. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = lua_touserdata(L, 2);
  int *exit_code = lua_touserdata(L, 3);
  luaL_openlibs(L);
  /* Generational GC: an event loop's garbage is mostly young (each read is
   * a fresh string that dies in its callback), and the incremental
   * collector re-marks the whole heap every few reads of 16 KiB (12% of
   * an echo server's time, profiled); young collections skip the old
   * heap. A script may switch back with collectgarbage("incremental"). */
  lua_gc(L, LUA_GCGEN, 0, 0);
  preload_core(L);
  set_library_path(L);
  mp__signal_runner_default(L);

  int script = 0, ran_something = 0;
  for (int i = 1; i < argc && !script; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      if (i + 1 < argc) script = i + 1;
      break;
    } else if (strcmp(a, "-") == 0 || a[0] != '-') {
      script = i;
    } else if (strcmp(a, "-v") == 0) {
      printf("moonport %s (%s)\n", MOONPORT_VERSION, LUA_RELEASE);
      ran_something = 1;
    } else if (strcmp(a, "-e") == 0) {
      if (++i >= argc) {
        print_usage();
        return 0;
      }
      ran_something = 1;
    } else {
      fprintf(stderr, "%s: unrecognized option '%s'\n", progname, a);
      print_usage();
      return 0;
    }
  }
  if (!script && !ran_something) {
    print_usage();
    return 0;
  }
  create_arg_table(L, argv, argc, script ? script : argc);

  for (int i = 1; i < (script ? script : argc); i++) {
    if (strcmp(argv[i], "-e") == 0) {
      const char *chunk = argv[++i];
      if (report(L, luaL_loadbuffer(L, chunk, strlen(chunk), "=(command line)") || docall(L, 0)) !=
          LUA_OK)
        return 0;
    }
  }
  if (script && report(L, run_script(L, argv, argc, script)) != LUA_OK) return 0;
  /* A signal that stopped a loop the script ran itself ends the run too. */
  if (!mp__signal_runner_exit(L) && report(L, run_loop(L)) != LUA_OK) return 0;
  int status = mp__signal_runner_exit(L);
  *exit_code = status ? status : EXIT_SUCCESS;
  return 0;
}

/* Large strings come and go all the time in a loop that moves data (a
 * file copy makes a 1 MiB string per chunk). With glibc's defaults each
 * is mapped fresh, or the heap is trimmed under it after every collection,
 * and the page faults and TLB shootdowns that costs took most of a copy's
 * time (a 1 GiB copy: 4-5 s instead of 0.8 s). Keep blocks up to 16 MiB
 * on the heap and up to 16 MiB of free heap mapped. */
static void tune_malloc(void) {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 16 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
#endif
}

int main(int argc, char **argv) {
  tune_malloc();
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "%s: cannot create state: not enough memory\n", progname);
    return EXIT_FAILURE;
  }
  int exit_code = EXIT_FAILURE;
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  lua_pushlightuserdata(L, &exit_code);
  report(L, lua_pcall(L, 3, 0, 0));
  lua_close(L);
  return exit_code;
}
