#!/usr/bin/env bash
# soak.sh: the echo and HTTP examples under load for a long time, from
# well-behaved and hostile clients at once; prints throughput, server RSS and
# open descriptors every INTERVAL seconds and checks that RSS and descriptors
# come back near where they started. Not run by CI (it takes minutes).
#
#   tests/bench/soak.sh
#
# Environment (all optional):
#   DURATION=60     seconds of load
#   INTERVAL=10     seconds per row (one echo_load and one wrk run each)
#   BUILD_DIR=...   build tree with moonport and echo_load (default: build/)
#
# Servers: examples/echo_server.lua and examples/http_hello.lua on the
# runner (default backend), on 127.0.0.1, ports picked by the servers.
# Well-behaved: echo_load (50 connections x 4 messages of 512 bytes in
# flight, checking every echoed byte) and wrk -t1 -c50, both started afresh
# for each row (so their connections churn too). Hostile: hostile.lua against
# each server for the whole run (slowloris, never-readers, resetters, and
# garbage requests for HTTP).
#
# Each row: seconds since the clients started, echo msgs/s, HTTP requests/s, then RSS (KiB)
# and open descriptors of each server. "start" is the first row (servers
# warm, all clients connected); "end" is measured 3 s after every client
# stopped (http_hello lingers up to 2 s on a closing connection). Passes when
# each server's descriptors at the end equal those before any client came,
# and its RSS at the end is at most 10% + 2 MiB above its RSS at start.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build}
DURATION=${DURATION:-60}
INTERVAL=${INTERVAL:-10}
moonport=$build/moonport
echo_load=$build/tests/bench/echo_load
for tool in "$moonport" "$echo_load"; do
  [ -x "$tool" ] || { echo "soak: $tool missing: build first" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "soak: wrk missing" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME SCRIPT: run a server on port 0; sets NAME_pid and NAME_port.
start() {
  local name=$1 script=$2 port=""
  "$moonport" "$root/examples/$script" 0 >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  printf -v "${name}_pid" %s $!
  for _ in $(seq 100); do
    port=$(awk '/^listening on/ {print $4}' "$work/$name.out")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "soak: $script did not start" >&2; exit 1; }
  printf -v "${name}_port" %s "$port"
}

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }
alive() { kill -0 "$1" 2>/dev/null || { echo "soak: server $1 died" >&2; exit 1; }; }

start echo echo_server.lua
start http http_hello.lua
echo_fds0=$(fds "$echo_pid") http_fds0=$(fds "$http_pid")

"$moonport" "$here/hostile.lua" "$echo_port" "$DURATION" >"$work/hostile_echo.out" &
hostile_echo=$!
pids+=($hostile_echo)
"$moonport" "$here/hostile.lua" "$http_port" "$DURATION" http >"$work/hostile_http.out" &
hostile_http=$!
pids+=($hostile_http)

printf '| s | echo msgs/s | HTTP req/s | echo RSS KiB | echo fds | HTTP RSS KiB | HTTP fds |\n'
printf '|---|---|---|---|---|---|---|\n'
# Rows by the clock (a row takes a little more than INTERVAL), so that the
# last ones still run with the hostile clients.
t0=$SECONDS row=0 failed=0
while [ $((SECONDS - t0 + INTERVAL)) -le "$DURATION" ]; do
  "$echo_load" 127.0.0.1 "$echo_port" 50 4 512 "$INTERVAL" --warmup 0 >"$work/load.out" 2>&1 &
  load=$!
  wrk -t1 -c50 -d"${INTERVAL}s" "http://127.0.0.1:$http_port/" >"$work/wrk.out" 2>&1 || true
  if ! wait "$load"; then
    echo "soak: echo_load failed: $(cat "$work/load.out")" >&2
    failed=1
  fi
  alive "$echo_pid"
  alive "$http_pid"
  elapsed=$((SECONDS - t0)) row=$((row + 1))
  msgs=$(grep -oE 'msgs_per_s=[0-9.]+' "$work/load.out" | cut -d= -f2)
  reqs=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.out")
  er=$(rss "$echo_pid") ef=$(fds "$echo_pid") hr=$(rss "$http_pid") hf=$(fds "$http_pid")
  [ $row = 1 ] && echo_rss0=$er http_rss0=$hr
  printf '| %d | %s | %s | %s | %s | %s | %s |\n' "$elapsed" "${msgs:-?}" "${reqs:-?}" \
    "$er" "$ef" "$hr" "$hf"
done
wait "$hostile_echo" "$hostile_http" || failed=1
sleep 3
alive "$echo_pid"
alive "$http_pid"
er=$(rss "$echo_pid") ef=$(fds "$echo_pid") hr=$(rss "$http_pid") hf=$(fds "$http_pid")
printf '| end | | | %s | %s | %s | %s |\n\n' "$er" "$ef" "$hr" "$hf"
cat "$work/hostile_echo.out" "$work/hostile_http.out"
check() { # NAME RSS0 RSS FDS0 FDS
  local limit=$(($2 + $2 / 10 + 2048))
  if [ "$3" -gt "$limit" ] || [ "$5" != "$4" ]; then
    echo "soak: $1: RSS $2 -> $3 KiB (limit $limit), descriptors $4 -> $5: FAILED"
    failed=1
  else
    echo "soak: $1: RSS $2 -> $3 KiB (limit $limit), descriptors $4 -> $5: ok"
  fi
}
check echo "${echo_rss0:-0}" "$er" "$echo_fds0" "$ef"
check http "${http_rss0:-0}" "$hr" "$http_fds0" "$hf"
exit $failed
