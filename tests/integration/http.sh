#!/usr/bin/env bash
# http.sh: examples/http_hello.lua with curl and raw requests through nc:
# one request, keep-alive reuse, HTTP/1.0 with and without keep-alive,
# Connection: close, pipelined requests in one packet and split across
# packets, a request body, an oversized header (431) and garbage (400).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
need curl head tr
need_nc

start_server http http_hello.lua
url="http://127.0.0.1:$PORT"

# expect_count FILE TEXT N: TEXT occurs exactly N times in FILE. (An answer
# follows the previous body on the same line: bodies end without "\n".)
expect_count() {
  local n
  n=$(grep -oF -- "$2" "$1" | wc -l)
  [ "$n" -eq "$3" ] || fail "$(basename "$1"): '$2' occurs $n times, not $3; it holds: $(head -c 2000 "$1")"
}

# raw NAME: send stdin to the server with nc, which does not half-close:
# nc only ends when the server closes the connection (at most 5 s).
raw() {
  timeout 5 nc 127.0.0.1 "$PORT" >"$work/$1.out" || fail "$1: the server did not close the connection (nc status $?)"
}

curl -sS -i "$url/" >"$work/one.out"
expect_count "$work/one.out" $'HTTP/1.1 200 OK\r' 1
expect_count "$work/one.out" $'Content-Length: 13\r' 1
expect_count "$work/one.out" $'Content-Type: text/plain\r' 1
[ "$(tail -c 13 "$work/one.out")" = "Hello, World!" ] || fail "the body is not 'Hello, World!': $(cat "$work/one.out")"
say "one request answered"

# %{num_connects}: 1 when the request opened a connection, 0 when it reused one.
curl -sS -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' "$url/a" "$url/b" >"$work/reuse.out"
[ "$(cat "$work/reuse.out")" = $'200 1\n200 0' ] || fail "keep-alive: $(cat "$work/reuse.out")"
curl -sS -0 -H 'Connection: keep-alive' -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
  "$url/a" "$url/b" >"$work/reuse10.out"
[ "$(cat "$work/reuse10.out")" = $'200 1\n200 0' ] || fail "HTTP/1.0 keep-alive: $(cat "$work/reuse10.out")"
curl -sS -H 'Connection: close' -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
  "$url/a" "$url/b" >"$work/close.out"
[ "$(cat "$work/close.out")" = $'200 1\n200 1' ] || fail "Connection: close: $(cat "$work/close.out")"
say "keep-alive reuses the connection (HTTP/1.1, and HTTP/1.0 when asked); Connection: close does not"

curl -sS -0 -i "$url/" >"$work/http10.out"
expect_count "$work/http10.out" $'HTTP/1.1 200 OK\r' 1
expect_count "$work/http10.out" $'Connection: close\r' 1
printf 'GET / HTTP/1.0\r\n\r\n' | raw http10raw
expect_count "$work/http10raw.out" 'Hello, World!' 1
say "HTTP/1.0 without keep-alive: answered, then closed by the server"

printf 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
  raw pipelined
expect_count "$work/pipelined.out" $'HTTP/1.1 200 OK\r' 3
expect_count "$work/pipelined.out" 'Hello, World!' 3
{
  printf 'GET / HTTP/1.1\r\nHo'
  sleep 0.2
  printf 'st: x\r\n\r\nGET / HTTP/1.1\r'
  sleep 0.2
  printf '\nConnection: close\r\n\r\n'
} | raw split
expect_count "$work/split.out" $'HTTP/1.1 200 OK\r' 2
{
  printf 'POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello'
  sleep 0.2
  printf ' worldGET / HTTP/1.1\r\nConnection: close\r\n\r\n'
} | raw body
expect_count "$work/body.out" $'HTTP/1.1 200 OK\r' 2
say "pipelined requests answered in order, in one packet and split across packets, bodies skipped"

big=$(head -c 9000 /dev/zero | tr '\0' a)
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$url/")
[ "$code" = 431 ] || fail "a 9000-byte header got status $code, not 431"
printf 'GET / HTTP/1.1\r\nX-Big: %s\r\n\r\n' "$big" | raw big
expect_count "$work/big.out" $'HTTP/1.1 431 Request Header Fields Too Large\r' 1
say "a header over 8 KiB: 431, then closed"

printf 'HELLO THERE\r\n\r\n' | raw garbage
expect_count "$work/garbage.out" $'HTTP/1.1 400 Bad Request\r' 1
printf 'GET / HTTP/1.1\r\n\r\n\x16\x03\x01\x00\xa5\x01\x00\n' | raw garbage2
expect_count "$work/garbage2.out" $'HTTP/1.1 200 OK\r' 1
expect_count "$work/garbage2.out" $'HTTP/1.1 400 Bad Request\r' 1
printf 'GET / HTTP/2.0\r\n\r\n' | raw http2
expect_count "$work/http2.out" $'HTTP/1.1 400 Bad Request\r' 1
say "garbage: 400, then closed"

server_quiet http
pass
