#!/usr/bin/env bash
# http_wrk.sh: examples/http_hello.lua under wrk for one second, with 10
# connections, then again with 8 requests pipelined per write: requests
# must be answered (non-zero count) with no socket errors and no non-2xx.
# Under Wine the runs stay as short: the checks ask for no rate, and one
# second gives thousands of requests there too (about 2,000 plain and
# 19,000 pipelined on the 2-core test machine).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
need wrk

start_server http http_hello.lua

# check_wrk NAME: judge the report wrk wrote to $work/NAME.out.
check_wrk() {
  local out=$work/$1.out requests
  requests=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$out")
  [ "${requests:-0}" -gt 0 ] || fail "$1: wrk made no request: $(cat "$out")"
  ! grep -Eq 'Socket errors|Non-2xx' "$out" || fail "$1: wrk saw errors: $(cat "$out")"
  say "$1: $requests requests, no errors"
}

timeout 30 wrk -t 2 -c 10 -d 1s "http://127.0.0.1:$PORT/" >"$work/plain.out" 2>&1 ||
  fail "wrk exited with status $?: $(cat "$work/plain.out")"
check_wrk plain

cat >"$work/pipeline.lua" <<'LUA'
-- 8 requests in each write; wrk counts the 8 answers.
init = function()
  local requests = {}
  for i = 1, 8 do
    requests[i] = wrk.format(nil, "/")
  end
  batch = table.concat(requests)
end
request = function()
  return batch
end
LUA
timeout 30 wrk -t 2 -c 10 -d 1s -s "$work/pipeline.lua" "http://127.0.0.1:$PORT/" >"$work/pipelined.out" 2>&1 ||
  fail "wrk (pipelined) exited with status $?: $(cat "$work/pipelined.out")"
check_wrk pipelined

server_quiet http
pass
