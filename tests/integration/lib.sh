# shellcheck shell=bash
# lib.sh: what the integration tests share; each test sources it first.
# A test runs as   TEST.sh MOONPORT_BINARY SOURCE_DIR [SANITIZER]
# (ctest sets MOONPORT_BACKEND) and exits 0 when it passes, 1 when it fails,
# and 77 (skipped) when a tool it needs is not installed. Servers listen on
# 127.0.0.1 only, on a port the system picks.
set -euo pipefail

# The whole test is bounded: it runs itself again under timeout, once.
if [ -z "${MOONPORT_INTEGRATION_BOUNDED:-}" ]; then
  export MOONPORT_INTEGRATION_BOUNDED=1
  exec timeout -k 5 100 bash "$0" "$@"
fi

moonport=${1:?usage: TEST.sh MOONPORT_BINARY SOURCE_DIR [SANITIZER]}
examples=${2:?usage: TEST.sh MOONPORT_BINARY SOURCE_DIR [SANITIZER]}/examples
# shellcheck disable=SC2034 # used by the tests that source this file
sanitizer=${3:-} # "address" or "thread" in sanitizer builds: memory numbers mean little there
test_name=$(basename "$0" .sh)
# The Windows build's runner goes through Wine: ctest names the program that
# runs it (.ci/wine-run) in MOONPORT_EMULATOR.
read -r -a emulator <<<"${MOONPORT_EMULATOR:-}"
work=$(mktemp -d)
pids=() # background processes to stop at exit: servers and clients

cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "FAIL: $test_name: interrupted (timed out?)" >&2; exit 1' TERM INT

say() { echo "$test_name: $*"; }
skip() {
  echo "SKIP: $test_name: $*"
  exit 77
}
fail() {
  echo "FAIL: $test_name: $*" >&2
  exit 1
}

# need TOOL...: skip the test unless every tool is installed.
need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || skip "$tool is not installed"
  done
}

# The tests rely on OpenBSD netcat (Debian's netcat-openbsd): -N shuts the
# socket down at the end of input; without -N it keeps reading until the
# server closes.
need_nc() {
  need nc
  nc -h 2>&1 | grep -q OpenBSD || skip "nc is not OpenBSD netcat (package netcat-openbsd)"
}

# start_server NAME SCRIPT: run examples/SCRIPT on port 0 and wait until it
# prints "listening on 127.0.0.1 PORT". Sets PORT and SERVER_PID; the
# server's output goes to $work/NAME.out and $work/NAME.err.
start_server() {
  local name=$1 script=$2 line i
  : >"$work/$name.out" # there before the server opens it, for the reads below
  "${emulator[@]}" "$moonport" "$examples/$script" 0 127.0.0.1 >"$work/$name.out" 2>"$work/$name.err" &
  SERVER_PID=$!
  pids+=("$SERVER_PID")
  for ((i = 0; i < 200; i++)); do
    line=$(head -n 1 "$work/$name.out" | tr -d '\r') # Windows ends lines with CR LF
    if [[ $line =~ ^listening\ on\ 127\.0\.0\.1\ ([0-9]+)$ ]]; then
      # shellcheck disable=SC2034 # used by the tests
      PORT=${BASH_REMATCH[1]}
      return 0
    fi
    [ -z "$line" ] || fail "$script printed '$line' instead of 'listening on 127.0.0.1 PORT'"
    kill -0 "$SERVER_PID" 2>/dev/null || fail "$script exited early: $(cat "$work/$name.err")"
    sleep 0.05
  done
  fail "$script did not say it was listening within 10 s"
}

# server_quiet NAME: fail if the server wrote anything on stderr (an error
# raised in one of its callbacks is reported there, and the loop goes on).
server_quiet() {
  [ ! -s "$work/$1.err" ] || fail "the $1 server reported: $(head -c 2000 "$work/$1.err")"
}

# wait_for FILE PATTERN [SECONDS]: wait until a line of FILE matches the
# extended regular expression PATTERN (default: at most 10 s).
wait_for() {
  local file=$1 pattern=$2 seconds=${3:-10} i
  for ((i = 0; i < seconds * 20; i++)); do
    grep -Eq -- "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "no line matching '$pattern' in $(basename "$file") after $seconds s; it holds: $(head -c 2000 "$file")"
}

# closed_by_server LOG WHAT: LOG is the stderr of a `socat -d -d` client;
# fail unless socat saw the server end the connection ("socket 2 ... is at
# EOF") rather than giving up after its -t timeout.
closed_by_server() {
  grep -q 'socket 2 (fd [0-9]*) is at EOF' "$1" ||
    fail "$2: the server did not close the connection after the client's end of input"
}

# memory_kib PID FIELD: a memory figure of a process from /proc, in KiB
# (VmRSS: now; VmHWM: the peak so far). Under Wine the server's PID is the
# Wine process that runs moonport.exe (.ci/wine-run execs wine64, which
# loads the program into itself), so its figures include Wine's own, about
# 19 MiB; the tests judge growth above what it had before their load.
memory_kib() {
  awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status"
}

# check_peak_growth BEFORE_KIB LIMIT_KIB WHY: fail with WHY if the server's
# peak memory (VmHWM) grew by more than LIMIT_KIB since BEFORE_KIB. Skipped
# under a sanitizer, whose shadow memory would decide it.
check_peak_growth() {
  local peak
  peak=$(memory_kib "$SERVER_PID" VmHWM)
  say "server memory: $1 KiB before, peak $peak KiB"
  if [ -z "$sanitizer" ] && [ $((peak - $1)) -gt "$2" ]; then
    fail "the server's peak memory grew by $((peak - $1)) KiB: $3"
  fi
}

# Line clients for the chat tests: socat connected to PORT, reading its
# input from a fifo that the test keeps open and writes, its output going
# to $work/NAME.out.
declare -A client_fd=() client_pid=()

# client_open NAME [SOCAT_OPTION...]: connect a client.
client_open() {
  local name=$1 fd
  shift
  mkfifo "$work/$name.in"
  (
    # Keep no other client's fifo open in this one, so that closing a
    # fifo is an end of input for its own client.
    for fd in "${client_fd[@]}"; do
      exec {fd}>&-
    done
    exec timeout 90 socat "$@" - "TCP:127.0.0.1:$PORT" <"$work/$name.in" >"$work/$name.out"
  ) &
  client_pid[$name]=$!
  pids+=("$!")
  exec {fd}<>"$work/$name.in" # read-write: opening does not wait for the reader
  client_fd[$name]=$fd
}

# client_send NAME LINE: send one line.
client_send() {
  printf '%s\n' "$2" >&"${client_fd[$1]}"
}

# client_close NAME: end the client's input; socat half-closes the connection.
client_close() {
  local fd=${client_fd[$1]}
  exec {fd}>&-
  unset "client_fd[$1]"
}

# client_gone NAME: wait (at most 10 s) until the client has exited.
client_gone() {
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "${client_pid[$1]}" 2>/dev/null || return 0
    sleep 0.05
  done
  fail "client $1 is still connected after 10 s"
}

pass() {
  echo "PASS: $test_name (backend ${MOONPORT_BACKEND:-default})"
  exit 0
}
