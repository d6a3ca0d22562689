#!/usr/bin/env bash
# udp_echo.sh: examples/udp_echo.lua driven by socat and nc over UDP: short
# and near-maximal datagrams come back whole, and concurrent clients each
# get their own replies.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

need socat cmp head
start_server udp udp_echo.lua

# One datagram per client: socat sends what it reads from stdin (one read,
# one datagram; -b lifts its 8 KiB default) and prints what comes back.
echo_once() { # INPUT_FILE OUTPUT_FILE
  timeout 10 socat -b 65536 -t 1 - "UDP:127.0.0.1:$PORT" <"$1" >"$2" ||
    fail "socat exited with status $? for $(basename "$1")"
}

printf 'hello over udp\n' >"$work/short.in"
echo_once "$work/short.in" "$work/short.out"
cmp "$work/short.in" "$work/short.out" || fail "short datagram came back as: $(cat "$work/short.out")"
say "socat: a short datagram echoed"

head -c 60000 /dev/urandom >"$work/big.in"
echo_once "$work/big.in" "$work/big.out"
cmp "$work/big.in" "$work/big.out" || fail "a 60000-byte datagram came back as $(wc -c <"$work/big.out") bytes"
say "socat: a 60000-byte datagram echoed whole"

# Eight clients at once, each with its own text: each gets its own back.
client_pids=()
for i in 1 2 3 4 5 6 7 8; do
  printf 'client %s says %s\n' "$i" "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$work/c$i.in"
  echo_once "$work/c$i.in" "$work/c$i.out" &
  client_pids+=("$!")
  pids+=("$!")
done
for pid in "${client_pids[@]}"; do
  wait "$pid" || fail "a concurrent client failed"
done
for i in 1 2 3 4 5 6 7 8; do
  cmp "$work/c$i.in" "$work/c$i.out" || fail "client $i got: $(cat "$work/c$i.out")"
done
say "socat: 8 concurrent clients each got their own datagram back"

if command -v nc >/dev/null && nc -h 2>&1 | grep -q OpenBSD; then
  reply=$(printf 'via nc\n' | timeout 10 nc -u -w 1 127.0.0.1 "$PORT") || true
  [ "$reply" = "via nc" ] || fail "nc -u got '$reply'"
  say "nc -u: echoed"
fi

server_quiet udp
pass
