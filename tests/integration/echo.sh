#!/usr/bin/env bash
# echo.sh: examples/echo_server.lua with real clients: lines through nc,
# 1 MiB of random bytes through socat, and 8 socat clients at once; every
# byte must come back unchanged and in order.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
need socat head cmp
need_nc

start_server echo echo_server.lua

# nc -N half-closes after its input; the server echoes, then closes.
printf 'one\ntwo words\n\nthree\n' | timeout 10 nc -N 127.0.0.1 "$PORT" >"$work/nc.out" ||
  fail "nc exited with status $?"
printf 'one\ntwo words\n\nthree\n' | cmp - "$work/nc.out" || fail "nc: the echo differs from the lines sent"
say "nc: lines echoed"

# socat half-closes at the end of its input, then waits (-t, at most 10 s)
# for the rest of the echo and the server's close; -d -d logs which came.
head -c 1048576 /dev/urandom >"$work/big.in"
timeout 30 socat -d -d -t 10 - "TCP:127.0.0.1:$PORT" <"$work/big.in" >"$work/big.out" 2>"$work/big.log" ||
  fail "socat (1 MiB) exited with status $?: $(tail -n 3 "$work/big.log")"
cmp "$work/big.in" "$work/big.out" || fail "socat: the 1 MiB echo differs from what was sent"
closed_by_server "$work/big.log" "socat (1 MiB)"
say "socat: 1 MiB of random bytes echoed byte-exact"

clients=()
for i in 1 2 3 4 5 6 7 8; do
  head -c $((65536 * i + i)) /dev/urandom >"$work/c$i.in"
  timeout 30 socat -d -d -t 10 - "TCP:127.0.0.1:$PORT" <"$work/c$i.in" >"$work/c$i.out" 2>"$work/c$i.log" &
  clients+=("$!")
done
for i in 1 2 3 4 5 6 7 8; do
  wait "${clients[i - 1]}" || fail "concurrent client $i exited with status $?"
  cmp "$work/c$i.in" "$work/c$i.out" || fail "concurrent client $i: the echo differs"
  closed_by_server "$work/c$i.log" "concurrent client $i"
done
say "8 concurrent socat clients echoed byte-exact"

server_quiet echo
pass
