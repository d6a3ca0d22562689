#!/usr/bin/env bash
# echo_backpressure.sh: a client that sends 32 MiB but reads nothing for 2 s.
# The echo server must stop reading while the client's write queue is full
# (conn:write returned false) and resume on drain: everything comes back
# byte-exact, and (outside sanitizer builds) the server's peak memory grows
# by far less than the 32 MiB that went through it (under Wine: above the
# Wine process's RSS before the load, see memory_kib in lib.sh).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
need socat head cmp awk

start_server echo echo_server.lua
before=$(memory_kib "$SERVER_PID" VmRSS)

head -c $((32 * 1048576)) /dev/urandom >"$work/in"
# The reader behind the pipe starts after 2 s: meanwhile the pipe fills, socat
# stops reading the socket, and the echo backs up into the server.
timeout 60 socat -d -d -t 10 - "TCP:127.0.0.1:$PORT" <"$work/in" 2>"$work/socat.log" |
  { sleep 2; cat; } >"$work/out" || fail "the client pipeline exited with status $?: $(tail -n 3 "$work/socat.log")"
cmp "$work/in" "$work/out" || fail "the 32 MiB echo differs from what was sent"
closed_by_server "$work/socat.log" "socat (32 MiB)"
say "32 MiB echoed byte-exact through a reader that stalled for 2 s"

check_peak_growth "$before" $((12 * 1024)) "the echo is not flow-controlled"

server_quiet echo
pass
