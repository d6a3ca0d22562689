#!/usr/bin/env bash
# chat_slow.sh: a chat client that never reads must not make the server's
# memory grow: while another client floods the room with 24 MiB of lines,
# the server drops the reader that fell behind (its write queue would pass
# the write limit) and announces it; the room goes on working. Under Wine
# the growth is judged above the Wine process's RSS before the flood.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
need socat mkfifo head tr fold awk

start_server chat chat_server.lua
before=$(memory_kib "$SERVER_PID" VmRSS)

client_open flooder
wait_for "$work/flooder.out" '^\* you are user1'
client_open sleeper -u # -u: socat only sends, it never reads the socket
wait_for "$work/flooder.out" '^\* user2 joined$'

# 6 rounds of 4 MiB in 1 KiB lines, every one broadcast to the sleeper.
for round in 1 2 3 4 5 6; do
  timeout 30 sh -c "head -c 4194304 /dev/zero | tr '\\0' x | fold -w 1023; echo" >&"${client_fd[flooder]}" ||
    fail "flood round $round did not go through"
done
wait_for "$work/flooder.out" '^\* user2 left \(too slow\)$' 30
say "the client that did not read was dropped and announced"

client_open late
wait_for "$work/late.out" '^\* you are user3; here: user1$'
client_send flooder "after the flood"
wait_for "$work/late.out" '^user1: after the flood$' 30
say "the room works on after that"

check_peak_growth "$before" $((16 * 1024)) "a client that did not read held it"

server_quiet chat
pass
