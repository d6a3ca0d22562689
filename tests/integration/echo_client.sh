#!/usr/bin/env bash
# echo_client.sh: examples/echo_client.lua (coroutine form) against
# examples/echo_server.lua, and its exit status against a closed port.
# Under Wine both the client and the server are Windows programs.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

need cmp

# client NAME ARG...: echo_client.lua ARG...; its stdout in $work/NAME.out
# (Windows' CR LF line ends made LF), its stderr in $work/NAME.err.
client() {
  local name=$1
  shift
  timeout 20 "${emulator[@]}" "$moonport" "$examples/echo_client.lua" "$@" 2>"$work/$name.err" |
    tr -d '\r' >"$work/$name.out"
}

start_server echo echo_server.lua

client client "$PORT" 127.0.0.1 one "two words" three || fail "echo_client exited with status $?: $(cat "$work/client.err")"
printf 'one\ntwo words\nthree\n' | cmp - "$work/client.out" || fail "echo_client printed: $(cat "$work/client.out")"
say "echo_client: three lines echoed"

client default "$PORT" ||
  fail "echo_client (default lines) exited with status $?: $(cat "$work/default.err")"
[ "$(wc -l <"$work/default.out")" -eq 3 ] || fail "echo_client (default lines) printed: $(cat "$work/default.out")"
say "echo_client: default lines echoed"

# A port nobody listens on: start a second server, learn its port, stop it.
# The listening socket can outlive the process for a moment (on io_uring its
# pending accept holds it until the ring is torn down, after the exit), so
# wait until a connection is refused.
start_server gone echo_server.lua
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
for ((i = 0; i < 100; i++)); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
  sleep 0.05
done
status=0
client refused "$PORT" 127.0.0.1 || status=$?
[ "$status" -eq 1 ] || fail "echo_client against a closed port exited with status $status, not 1"
grep -q 'ECONNREFUSED' "$work/refused.err" ||
  fail "echo_client against a closed port said: $(cat "$work/refused.err")"
say "echo_client: exit 1 with '$(head -n 1 "$work/refused.err")'"

server_quiet echo
pass
