#!/usr/bin/env bash
# test_signals.sh: the runner and SIGINT/SIGTERM: a script that has not
# taken them exits cleanly (finalizers run) with 130/143; a script that took
# SIGTERM keeps running; a second SIGINT while closing kills at once.
#   test_signals.sh MOONPORT_BINARY
set -u
# Job control: background jobs get SIGINT at its default, not ignored.
set -m
moonport=$1
unset LUA_PATH LUA_PATH_5_4 LUA_CPATH LUA_CPATH_5_4
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$work"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); }
fail() {
  failed=$((failed + 1))
  echo "FAIL: $*"
  echo "--- output:"; cat "$work/out"
}

# Start script $1 in the background, its output in $work/out; wait (at most
# 10 s) until it has printed "ready", which it does from inside the loop.
start() {
  "$moonport" "$1" >"$work/out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    grep -q '^ready$' "$work/out" && return 0
    sleep 0.1
  done
  return 1
}

# Wait (at most 10 s) for the background script; its status in $status.
finish() {
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    wait "$pid"
    status=timeout
  else
    wait "$pid"
    status=$?
  fi
  pid=
}

cat >"$work/long.lua" <<'LUA'
local mp = require "moonport"
-- Finalized when the runner closes the state: proof of a clean exit.
FINALIZED = setmetatable({}, { __gc = function() print("finalized") end })
local server = assert(mp.tcp.listen("127.0.0.1", 0, function() end))
local _ = server
mp.timer(0, function() print("ready") io.stdout:flush() end)
mp.timer(60000, function() print("not stopped") end)
LUA

for sig in INT TERM; do
  want=$([ $sig = INT ] && echo 130 || echo 143)
  if start "$work/long.lua"; then
    kill -$sig "$pid"
    finish
    if [ "$status" = "$want" ] && grep -q '^finalized$' "$work/out" &&
      ! grep -q 'not stopped' "$work/out"; then
      ok
    else
      fail "SIG$sig: status $status (wanted $want) or no clean exit"
    fi
  else
    finish; fail "SIG$sig: the script did not start"
  fi
done

cat >"$work/takes_term.lua" <<'LUA'
local mp = require "moonport"
mp.signal("SIGTERM", function(_, name)
  print("took " .. name) io.stdout:flush()
end)
mp.timer(0, function() print("ready") io.stdout:flush() end)
LUA
if start "$work/takes_term.lua"; then
  kill -TERM "$pid"
  for _ in $(seq 50); do grep -q '^took SIGTERM$' "$work/out" && break; sleep 0.1; done
  sleep 0.2
  if grep -q '^took SIGTERM$' "$work/out" && kill -0 "$pid" 2>/dev/null; then
    ok
  else
    fail "a script that took SIGTERM should keep running"
  fi
  # SIGINT it has not taken still ends it cleanly.
  kill -INT "$pid"
  finish
  if [ "$status" = 130 ]; then ok; else fail "SIGINT after a taken SIGTERM: status $status"; fi
else
  finish; fail "takes_term.lua did not start"
fi

# Closing takes long (a finalizer that spins for 20 s): the second SIGINT
# kills the process at once, by the signal (status 130 from the shell, and
# the finalizer never ends).
cat >"$work/slow_close.lua" <<'LUA'
local mp = require "moonport"
SLOW = setmetatable({}, { __gc = function()
  print("closing") io.stdout:flush()
  local t = os.time() + 20
  while os.time() < t do end
  print("closed")
end })
mp.timer(0, function() print("ready") io.stdout:flush() end)
mp.timer(60000, function() end)
LUA
if start "$work/slow_close.lua"; then
  kill -INT "$pid"
  for _ in $(seq 50); do grep -q '^closing$' "$work/out" && break; sleep 0.1; done
  kill -INT "$pid"
  finish
  if [ "$status" = 130 ] && ! grep -q '^closed$' "$work/out"; then
    ok
  else
    fail "second SIGINT while closing: status $status"
  fi
else
  finish; fail "slow_close.lua did not start"
fi

# A script busy at top level never reaches the loop: the first SIGINT is
# noted, the second kills.
cat >"$work/busy.lua" <<'LUA'
require "moonport"
print("ready") io.stdout:flush()
local t = os.time() + 20
while os.time() < t do end
print("not killed")
LUA
if start "$work/busy.lua"; then
  kill -INT "$pid"
  sleep 0.3
  kill -INT "$pid"
  finish
  if [ "$status" = 130 ] && ! grep -q 'not killed' "$work/out"; then
    ok
  else
    fail "busy script, two SIGINTs: status $status"
  fi
else
  finish; fail "busy.lua did not start"
fi

# Started with SIGINT ignored (a background job without job control), the
# runner leaves it ignored: SIGTERM still ends it.
set +m
if start "$work/long.lua"; then
  kill -INT "$pid"
  sleep 0.3
  if kill -0 "$pid" 2>/dev/null; then ok; else fail "an ignored SIGINT ended the runner"; fi
  kill -TERM "$pid"
  finish
  if [ "$status" = 143 ]; then ok; else fail "SIGTERM after an ignored SIGINT: status $status"; fi
else
  finish; fail "long.lua did not start"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
