#!/usr/bin/env bash
# chat.sh: examples/chat_server.lua with three socat clients: the greeting
# and who is here, joins and leaves announced, lines broadcast to everyone
# but their sender, and a line over 4096 bytes answered and disconnected.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
need socat mkfifo

start_server chat chat_server.lua

client_open a
wait_for "$work/a.out" '^\* you are user1; here: nobody yet$'
client_open b
wait_for "$work/b.out" '^\* you are user2; here: user1$'
wait_for "$work/a.out" '^\* user2 joined$'
client_open c
wait_for "$work/c.out" '^\* you are user3; here: user1, user2$'
wait_for "$work/a.out" '^\* user3 joined$'
wait_for "$work/b.out" '^\* user3 joined$'
say "three clients joined and were announced"

client_send a "hello everyone"
wait_for "$work/b.out" '^user1: hello everyone$'
wait_for "$work/c.out" '^user1: hello everyone$'
client_send c $'from c, with CRLF\r'
wait_for "$work/a.out" '^user3: from c, with CRLF$'
wait_for "$work/b.out" '^user3: from c, with CRLF$'
! grep -q 'user1: hello' "$work/a.out" || fail "a line went back to its sender"
say "lines broadcast to the others, not to the sender"

client_close b
client_gone b
wait_for "$work/a.out" '^\* user2 left$'
wait_for "$work/c.out" '^\* user2 left$'
say "a client that closed was announced as gone"

client_send c "$(head -c 5000 /dev/zero | tr '\0' x)"
wait_for "$work/c.out" '^\* line too long \(max 4096 bytes\), goodbye$'
wait_for "$work/a.out" '^\* user3 left \(line too long\)$'
client_gone c
say "a line over 4096 bytes: told, disconnected, announced"

client_open d
wait_for "$work/d.out" '^\* you are user4; here: user1$'
client_send d "still working"
wait_for "$work/a.out" '^user4: still working$'
client_close a
client_gone a
wait_for "$work/d.out" '^\* user1 left$'
say "the room works on after that"

server_quiet chat
pass
