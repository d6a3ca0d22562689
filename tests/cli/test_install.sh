#!/usr/bin/env bash
# test_install.sh: the installed layout works without any environment
# variable: `cmake --install` into a fresh prefix, then the installed runner
# (which looks next to itself, in ../share/lua/5.4 and ../lib/lua/5.4) and,
# where the build makes its own Lua (Windows: lua.exe and lua54.dll in
# bin/), the installed stock interpreter, whose default paths (luaconf.h:
# "!\..\share\lua\5.4\" and "!\..\lib\lua\5.4\", "!" being lua.exe's folder)
# name the same folders.
#   test_install.sh BUILD_DIR [EXE_SUFFIX]
# Programs run through MOONPORT_EMULATOR if set (Wine), whose output ends
# lines with CR LF.
set -u
build=$1 exe=${2:-} # ctest drops an empty EXE_SUFFIX (Linux)
read -r -a emulator <<<"${MOONPORT_EMULATOR:-}"
unset LUA_PATH LUA_PATH_5_4 LUA_CPATH LUA_CPATH_5_4
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
passed=0 failed=0

if ! cmake --install "$build" --prefix "$prefix" >"$prefix.log" 2>&1; then
  cat "$prefix.log"; rm -f "$prefix.log"
  echo "cmake --install failed"
  exit 1
fi
rm -f "$prefix.log"

# check NAME PROGRAM: the program, started from another folder, runs a timer.
check() {
  local out
  out=$(cd / && "${emulator[@]}" "$2" -e '
    local mp = require "moonport"
    mp.timer(5, function() print("tick") end)
    mp.run()' 2>&1 | tr -d '\r')
  if [ "$out" = tick ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    printf 'FAIL %s\n  got: %s\n' "$1" "$out"
  fi
}

check "installed runner" "$prefix/bin/moonport$exe"
if [ -e "$prefix/bin/lua$exe" ]; then
  check "installed lua$exe" "$prefix/bin/lua$exe"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
