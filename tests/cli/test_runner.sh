#!/usr/bin/env bash
# test_runner.sh: the moonport runner as a user meets it: exit codes,
# messages, arg, -e, -v, stdin, the loop after the script, and the module
# in a stock lua5.4.
#   test_runner.sh MOONPORT_BINARY SOURCE_DIR BUILD_DIR [sanitized]
# The Windows build's runner goes through Wine: ctest names the program that
# runs it (.ci/wine-run) in MOONPORT_EMULATOR. Its output ends lines with
# CR LF; the checks read it with the CRs taken out. The stock interpreter is
# MOONPORT_STOCK_LUA (default lua5.4; the build's lua.exe on Windows), its
# modules end in MOONPORT_MODULE_SUFFIX (default .so).
set -u
moonport=$1 src=$2 build=$3 sanitized=${4:-}
read -r -a emulator <<<"${MOONPORT_EMULATOR:-}"
run=("${emulator[@]}" "$moonport") # the runner, as a command
stock_lua=("${emulator[@]}" "${MOONPORT_STOCK_LUA:-lua5.4}")
unset LUA_PATH LUA_PATH_5_4 LUA_CPATH LUA_CPATH_5_4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

# check NAME EXPECTED_STATUS STDOUT_PATTERN STDERR_PATTERN -- COMMAND...
check() {
  local name=$1 want_status=$2 out_pattern=$3 err_pattern=$4
  shift 5
  "$@" >"$work/out" 2>"$work/err" </dev/null
  local status=$?
  sed -i 's/\r$//' "$work/out" "$work/err"
  local ok=1
  [ "$status" = "$want_status" ] || ok=0
  [ -z "$out_pattern" ] || grep -Eq -- "$out_pattern" "$work/out" || ok=0
  [ -z "$err_pattern" ] || grep -Eq -- "$err_pattern" "$work/err" || ok=0
  if [ $ok = 1 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $name (status $status, wanted $want_status)"
    echo "--- stdout:"; cat "$work/out"
    echo "--- stderr:"; cat "$work/err"
  fi
}

# Timers fire by due time, not by creation: 290 ms apart, so that a script
# stalled between the two calls (TSan on a busy machine) still orders them.
cat >"$work/timers.lua" <<'LUA'
local mp = require "moonport"
mp.timer(300, function() print("second") end)
mp.timer(10, function() print("first") end)
print("script done")
LUA
cat >"$work/args.lua" <<'LUA'
print(arg[0], arg[1], arg[2], select("#", ...), ...)
LUA
cat >"$work/callback_error.lua" <<'LUA'
local mp = require "moonport"
mp.timer(1, function() error("oops in callback") end)
mp.timer(10, function() print("still running") end)
LUA
cat >"$work/explicit_run.lua" <<'LUA'
local mp = require "moonport"
mp.timer(1, function() print("in run") end)
mp.run()
print("after run")
mp.timer(1, function() print("after script") end)
LUA
echo 'local x = = 1' >"$work/syntax.lua"
echo 'local function f() error("top level boom") end f()' >"$work/raise.lua"

check "missing script" 1 '' 'cannot open .*nope\.lua' -- "${run[@]}" "$work/nope.lua"
check "syntax error" 1 '' "syntax\.lua:1: unexpected symbol" -- "${run[@]}" "$work/syntax.lua"
check "top-level error" 1 '' 'raise\.lua:1: top level boom' -- "${run[@]}" "$work/raise.lua"
check "top-level traceback" 1 '' 'stack traceback:' -- "${run[@]}" "$work/raise.lua"
check "no arguments: usage" 1 '' '^usage: moonport' -- "${run[@]}"
check "unknown option" 1 '' "unrecognized option '-z'" -- "${run[@]}" -z
check "-e without code" 1 '' '^usage: moonport' -- "${run[@]}" -e
check "-v" 0 '^moonport [0-9]+\.[0-9]+\.[0-9]+ \(Lua 5\.4' '' -- "${run[@]}" -v
check "-e runs code" 0 '^42$' '' -- "${run[@]}" -e 'print(6 * 7)'
check "-e error" 1 '' 'command line' -- "${run[@]}" -e 'error("x")'
check "arg and ..." 0 "args\.lua	a	b	2	a	b" '' -- "${run[@]}" "$work/args.lua" a b
check "loop runs after the script" 0 $'^script done$' '' -- "${run[@]}" "$work/timers.lua"
"${run[@]}" "$work/timers.lua" >"$work/order" 2>&1
if [ "$(tr -d '\r' <"$work/order" | tr '\n' ' ')" = "script done first second " ]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); echo "FAIL: timer order: $(cat "$work/order")"
fi
check "callback error: message" 0 'still running' 'error in callback: .*oops in callback' -- \
  "${run[@]}" "$work/callback_error.lua"
check "callback error: traceback" 0 '' 'stack traceback:' -- "${run[@]}" "$work/callback_error.lua"
check "explicit mp.run()" 0 'after script' '' -- "${run[@]}" "$work/explicit_run.lua"
check "script from stdin" 0 '^from stdin$' '' -- bash -c "echo 'print(\"from stdin\")' | \"\$@\" -" stdin "${run[@]}"
check "finds lua/ from any directory" 0 '^(uring|epoll|iocp)$' '' -- \
  bash -c "cd / && \"\$@\" -e 'print(require(\"moonport\").backend())'" any_dir "${run[@]}"
check "bad MOONPORT_BACKEND" 1 '' 'cannot start the loop \(backend nosuch\)' -- \
  env MOONPORT_BACKEND=nosuch "${run[@]}" -e 'require "moonport"'
if [ -z "$sanitized" ]; then
  check "module in a stock lua5.4" 0 '^stock lua: tick$' '' -- env \
    LUA_CPATH="$build/lib/?${MOONPORT_MODULE_SUFFIX:-.so};;" \
    LUA_PATH="$src/lua/?.lua;$src/lua/?/init.lua;;" "${stock_lua[@]}" -e '
      local mp = require "moonport"
      mp.timer(5, function() print("stock lua: tick") end)
      mp.run()'
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
