#!/usr/bin/env bash
# test_signals.sh: the runner and SIGINT/SIGTERM: a script that has not
# taken them exits cleanly (finalizers run) with 130/143; a script that took
# SIGTERM keeps running; a second SIGINT while closing kills at once.
#   test_signals.sh MOONPORT_BINARY
# Under Wine (the Windows build; ctest names .ci/wine-run in
# MOONPORT_EMULATOR) the SIGINT checks run too: Wine hands a SIGINT to a
# Windows program as Ctrl+C, which the runner answers as on Windows, exiting
# with STATUS_CONTROL_C_EXIT (0xC000013A), of which a Linux parent sees the
# low byte, 58. The SIGTERM checks and the inherited ignored SIGINT are
# POSIX's alone and skip there (SKIP lines, counted by .ci/windows).
set -u
# Job control: background jobs get SIGINT at its default, not ignored.
set -m
moonport=$1
read -r -a emulator <<<"${MOONPORT_EMULATOR:-}"
run=("${emulator[@]}" "$moonport") # the runner, as a command
if [ ${#emulator[@]} -gt 0 ]; then
  int_status=58 # 0xC000013A & 0xff
else
  int_status=130 # 128 + SIGINT
fi
unset LUA_PATH LUA_PATH_5_4 LUA_CPATH LUA_CPATH_5_4
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$work"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); }
# said LINE: whether the script printed LINE (Windows ends lines with CR LF).
said() { tr -d '\r' <"$work/out" | grep -qxF -- "$1"; }
# skip_on_wine WHAT WHY: under Wine, say that the check WHAT is skipped and
# why, and succeed; elsewhere fail (the check runs).
skip_on_wine() {
  [ ${#emulator[@]} -gt 0 ] || return 1
  echo "SKIP: signals: $1: $2"
}
fail() {
  failed=$((failed + 1))
  echo "FAIL: $*"
  echo "--- output:"; cat "$work/out"
}

# Start script $1 in the background, its output in $work/out; wait (at most
# 10 s) until it has printed "ready", which it does from inside the loop.
start() {
  "${run[@]}" "$1" >"$work/out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    said 'ready' && return 0
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

# Wine lets SIGTERM kill a Windows program outright: Windows has no SIGTERM
# (the runner's SIGTERM there is Ctrl+Break, which Wine cannot generate;
# see test_signal.c).
no_term_on_wine="Windows has no SIGTERM, and Wine lets one kill the program outright"
for sig in INT TERM; do
  [ $sig = INT ] || ! skip_on_wine "SIGTERM ends a long script cleanly" "$no_term_on_wine" || continue
  want=$([ $sig = INT ] && echo $int_status || echo 143)
  if start "$work/long.lua"; then
    kill -$sig "$pid"
    finish
    if [ "$status" = "$want" ] && said 'finalized' &&
      ! said 'not stopped'; then
      ok
    else
      fail "SIG$sig: status $status (wanted $want) or no clean exit"
    fi
  else
    finish; fail "SIG$sig: the script did not start"
  fi
done

if ! skip_on_wine "a script that took SIGTERM keeps running" "$no_term_on_wine"; then
  cat >"$work/takes_term.lua" <<'LUA'
local mp = require "moonport"
mp.signal("SIGTERM", function(_, name)
  print("took " .. name) io.stdout:flush()
end)
mp.timer(0, function() print("ready") io.stdout:flush() end)
LUA
  if start "$work/takes_term.lua"; then
    kill -TERM "$pid"
    for _ in $(seq 50); do said 'took SIGTERM' && break; sleep 0.1; done
    sleep 0.2
    if said 'took SIGTERM' && kill -0 "$pid" 2>/dev/null; then
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
fi

# Closing takes long (a finalizer that spins for 20 s): the second SIGINT
# kills the process at once, by the signal (status 130 from the shell; on
# Windows the exit status of Ctrl+C), and the finalizer never ends.
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
# By then the runner has let go of Ctrl+C, and the default handler ends it:
# Windows' exits with STATUS_CONTROL_C_EXIT, Wine 8.0's with 0.
want=$int_status
if skip_on_wine "the exit status of a second SIGINT while closing" \
  "Wine 8.0's default Ctrl+C handler exits with 0, not STATUS_CONTROL_C_EXIT"; then
  want=0
fi
if start "$work/slow_close.lua"; then
  kill -INT "$pid"
  for _ in $(seq 50); do said 'closing' && break; sleep 0.1; done
  kill -INT "$pid"
  finish
  if [ "$status" = "$want" ] && ! said 'closed'; then
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
  if [ "$status" = "$int_status" ] && ! said 'not killed'; then
    ok
  else
    fail "busy script, two SIGINTs: status $status"
  fi
else
  finish; fail "busy.lua did not start"
fi

# Started with SIGINT ignored (a background job without job control), the
# runner leaves it ignored: SIGTERM still ends it. An ignored signal is
# POSIX's; Wine gives a Windows program its own SIGINT handler whatever it
# inherited (its SigIgn in /proc/PID/status lacks SIGINT, and a SIGINT ends
# it as Ctrl+C).
set +m
if skip_on_wine "an inherited ignored SIGINT stays ignored" \
  "an ignored SIGINT is POSIX's (Windows' counterpart, the inherited flag that ignores Ctrl+C, no shell sets), and Windows has no SIGTERM"; then
  :
elif start "$work/long.lua"; then
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
