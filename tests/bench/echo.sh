#!/usr/bin/env bash
# echo.sh: TCP benchmarks: moonport against a plain C epoll server and luv;
# prints Markdown tables.
#
#   tests/bench/echo.sh
#
# Environment (all optional):
#   RUNS=3          rounds; every echo and HTTP cell is the median over them
#   T=5             seconds measured per load (echo and wrk); whole seconds
#   WARMUP=1        seconds of echo load before measuring; whole seconds
#   IDLE_CONNS=10000  idle connections for the memory measurement
#   BUILD_DIR=...   build tree (default: build-bench/ at the repo root)
#
# Servers: raw = echo_raw (C, epoll, one thread); moonport =
# examples/echo_server.lua on the runner, once per backend (uring, epoll);
# luv = echo_luv.lua on lua5.4 + luv. A server that does not build, start
# or survive is shown as n/a with the reason below the tables.
#
# 1. Echo: echo_load with N connections x D messages in flight x S bytes:
#    100x1x64, 100x16x64, 10x1x16384. msgs/s, MB/s (echoed bytes, 10^6),
#    p50/p99 latency, the server's CPU seconds in the measured window
#    (utime+stime of all its threads, read by echo_load from /proc at the
#    window's edges) and messages per server CPU-second; ratios to raw.
# 2. HTTP: wrk -t1 -c100 against examples/http_hello.lua (each backend) and
#    http_luv.lua; requests/s, latency, server CPU.
# 3. Idle memory: server RSS (VmRSS) before and after IDLE_CONNS idle
#    connections (idle_conns), once the server holds them all; bytes per
#    connection = delta / IDLE_CONNS (user-space memory only: the kernel's
#    socket buffers are not in RSS).
#
# Rounds: single runs vary by about 20% on the 2-core machine this was
# written for, so echo and HTTP are measured RUNS times. Within a round every
# server is measured once per load, back to back (load 1: raw, uring, epoll,
# luv; then load 2; ...; then wrk: uring, epoll, luv), so a slow phase of the
# machine hits all servers alike. The servers of a section stay up across
# its rounds (one that dies is started again for its next measurement). A
# cell is the median over the rounds; a ratio cell is the median of the
# per-round ratios (that round's value over that round's raw or luv value).
# Idle memory is measured once: it repeats to within a few bytes.
#
# The machine this was written for has 2 cores: the load generator (or wrk)
# takes about one and the server the other. Nothing is pinned; a server that
# wants more than one core competes with its load, which shows as lower
# msgs/s at similar CPU. Traffic is on 127.0.0.1 only; ports are picked by
# the servers (port 0) and read from their "listening on HOST PORT" line.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
RUNS=${RUNS:-3}
T=${T:-5}
WARMUP=${WARMUP:-1}
IDLE_CONNS=${IDLE_CONNS:-10000}
START_WAIT=10  # seconds a server may take to print its "listening" line
BUILD_MAX=120  # seconds the configure and each build step may take (a cold build: ~5 s)
LOADS=("100 1 64" "100 16 64" "10 1 16384")
SERVERS=(raw uring epoll luv)

log() { printf '%s\n' "$*" >&2; }
die() {
  log "echo.sh: $*"
  exit 1
}

[[ $T =~ ^[1-9][0-9]*$ && $WARMUP =~ ^[0-9]+$ ]] || die "T and WARMUP must be whole seconds"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
[[ $IDLE_CONNS =~ ^[1-9][0-9]*$ ]] || die "IDLE_CONNS must be a positive integer"

# Expected duration, from a run on the 2-core machine: an echo_load run
# takes T + WARMUP + ~0.1 s, a wrk run T + ~0.2 s, starting and stopping the
# servers ~2 s in all, the idle memory part ~3.5 s per server. With the
# defaults (RUNS=3, T=5) that is about 4 min 45 s (measured: 4 min 36 s),
# plus the build (under a second when build-bench/ is up to date).
# BUDGET bounds the whole script, build included: twice the estimate plus
# one BUILD_MAX; every step also has its own, shorter timeout.
n_wrk=$(command -v wrk >/dev/null && echo 3 || echo 0)
est=$(((RUNS * (${#LOADS[@]} * ${#SERVERS[@]} * ((T + WARMUP) * 10 + 1) + n_wrk * (T * 10 + 2)) +
  20 + ${#SERVERS[@]} * 35 + 9) / 10))
BUDGET=$((2 * est + BUILD_MAX))
log "== $RUNS rounds, T=${T} s: expected about $((est / 60)) min $((est % 60)) s plus the build" \
  "(time limit $BUDGET s)"

# step_timeout MAX: seconds the next step may take: MAX, less near the end
# of the budget; dies when the budget is spent.
step_timeout() {
  local left=$((BUDGET - SECONDS))
  ((left > 0)) || die "time budget of $BUDGET s spent"
  echo $((left < $1 ? left : $1))
}

# Other busy processes distort every number here: show the load at the start.
load_at_start=$(cut -d ' ' -f 1 /proc/loadavg)
tmp=$(mktemp -d)
declare -A live=() # pids of the background processes still running

# stop PID: SIGTERM, up to 2 s to go, then SIGKILL; reap it.
stop() {
  local pid=$1 i
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "live[$pid]"
}

cleanup() {
  local pid
  for pid in "${!live[@]}"; do stop "$pid"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Descriptors ---------------------------------------------------------------
# Servers and idle_conns inherit this shell's limit; each needs IDLE_CONNS + a few.
hard=$(ulimit -Hn)
if [[ $hard == unlimited ]]; then
  ulimit -n 1048576 2>/dev/null || true
else
  ulimit -n "$hard"
fi
soft=$(ulimit -n)
fd_note=""
if [[ $soft != unlimited ]] && ((soft < IDLE_CONNS + 64)); then
  fd_note="descriptor hard limit is $hard, too low for $IDLE_CONNS idle connections: measured with $((soft - 64))"
  log "== $fd_note"
  IDLE_CONNS=$((soft - 64))
  ((IDLE_CONNS > 0)) || die "descriptor limit $soft is too low"
fi

# --- Build -------------------------------------------------------------------
# The C tools must build; moonport may not (work in progress): then its rows are n/a.
log "== building Release tree in $build"
mkdir -p "$build"
to=$(step_timeout "$BUILD_MAX")
timeout "$to" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMOONPORT_TESTS=ON >"$build/echo-configure.log" 2>&1 ||
  {
    cat "$build/echo-configure.log" >&2
    die "configure failed"
  }
to=$(step_timeout "$BUILD_MAX")
timeout "$to" cmake --build "$build" -j2 --target echo_load echo_raw idle_conns >"$build/echo-build.log" 2>&1 ||
  {
    cat "$build/echo-build.log" >&2
    die "build of the C tools failed"
  }
echo_load=$build/tests/bench/echo_load
echo_raw=$build/tests/bench/echo_raw
idle_conns=$build/tests/bench/idle_conns
runner=$build/moonport

declare -A unavail=() # server -> why it cannot run at all here
to=$(step_timeout "$BUILD_MAX")
if ! timeout "$to" cmake --build "$build" -j2 --target moonport >"$build/echo-build-moonport.log" 2>&1; then
  log "== moonport did not build (see $build/echo-build-moonport.log)"
  unavail[uring]="moonport did not build" unavail[epoll]="moonport did not build"
else
  for b in uring epoll; do
    MOONPORT_BACKEND=$b timeout 20 "$runner" -e 'assert(require("moonport").backend() == os.getenv("MOONPORT_BACKEND"))' \
      >/dev/null 2>&1 || unavail[$b]="backend $b not available here"
  done
fi
lua5.4 -e 'require "luv"' >/dev/null 2>&1 || unavail[luv]="lua5.4 + luv not installed (Debian: lua-luv)"
command -v wrk >/dev/null || log "== wrk not found (Debian: wrk): no HTTP numbers"

# --- Helpers -----------------------------------------------------------------
# field NAME LINE: the value of NAME=value in LINE.
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

# calc FORMAT EXPR A B: awk's EXPR over a=A and b=B, printed with FORMAT;
# n/a if A or B is n/a or empty, or if EXPR divides by b and B is 0.
calc() {
  local fmt=$1 expr=$2 a=${3:-} b=${4:-}
  if [[ $a == n/a || -z $a || $b == n/a || -z $b ]]; then
    echo n/a
    return
  fi
  awk -v a="$a" -v b="$b" -v fmt="$fmt\n" -v divides="$([[ $expr == *"/ b"* ]] && echo 1 || echo 0)" \
    "BEGIN { if (divides && b == 0) print \"n/a\"; else printf fmt, $expr }"
}

# cpu_s PID: utime + stime of PID (all threads) in seconds.
cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# Server on CPU 1, load generator on CPU 0 (taskset execs, so $! is still
# the server): neither competes with the other for a core, and the
# scheduler does not move them mid-run. Without taskset or a second CPU,
# nothing is pinned.
pin_server=() pin_client=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
  pin_server=(taskset -c 1) pin_client=(taskset -c 0)
fi

# start_server LOG CMD...: start CMD in the background, output to LOG, and
# wait up to START_WAIT s for "listening on HOST PORT". Sets srv_pid and
# srv_port; on failure sets failed (why) and returns 1.
start_server() {
  local logf=$1 line i
  shift
  "${pin_server[@]}" "$@" >"$logf" 2>&1 &
  srv_pid=$!
  live[$srv_pid]=1
  for ((i = 0; i < START_WAIT * 10; i++)); do
    line=$(grep -m 1 '^listening on ' "$logf" || true)
    if [[ -n $line ]]; then
      srv_port=${line##* }
      return 0
    fi
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$srv_pid" 2>/dev/null; then
    failed="no 'listening on' line within $START_WAIT s"
  else
    failed="did not start: $(tail -n 1 "$logf")"
  fi
  log "== $*: $failed"
  stop "$srv_pid"
  return 1
}

# launch NAME KIND: start server NAME (raw uring epoll luv) for KIND (echo
# or http); its output goes to $tmp/NAME-KIND.log. Returns 1 and sets
# failed (why) if it cannot run here or fails to start.
launch() {
  local name=$1 kind=$2 logf=$tmp/$1-$2.log script
  if [[ -n ${unavail[$name]:-} ]]; then
    failed=${unavail[$name]}
    return 1
  fi
  case $name in
  raw)
    start_server "$logf" "$echo_raw" 0 127.0.0.1
    ;;
  luv)
    start_server "$logf" lua5.4 "$here/${kind}_luv.lua" 0 127.0.0.1
    ;;
  uring | epoll)
    script=$root/examples/$([[ $kind == echo ]] && echo echo_server.lua || echo http_hello.lua)
    if [[ ! -f $script ]]; then
      failed="${script#"$root"/} does not exist yet"
      return 1
    fi
    MOONPORT_BACKEND=$name start_server "$logf" "$runner" "$script" 0
    ;;
  esac
}

label() {
  case $1 in
  raw) echo "raw C epoll" ;;
  luv) echo "luv" ;;
  *) echo "moonport ($1)" ;;
  esac
}

raw_lines=()

# med FORMAT VALUE...: the median of the VALUEs that are numbers (n/a and
# empty ones left out), printed with FORMAT; n/a if none is left.
med() {
  local fmt=$1
  shift
  printf '%s\n' "$@" | awk '$1 != "" && $1 != "n/a"' | sort -g |
    awk -v fmt="$fmt\n" '{ v[NR] = $1 } END {
      if (NR == 0) print "n/a"
      else printf fmt, (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Servers of the running section: they stay up across the rounds.
# gone["server|kind"]: it exited while no load ran (and was started again).
declare -A up_pid=() up_port=() down=() gone=()
# ensure_up NAME KIND: sets srv_pid and srv_port of server NAME for KIND,
# starting it if it is not running (first use, or it died). Returns 1 and
# sets failed if it cannot run here or fails to start; a server that failed
# to start is not tried again in this section.
ensure_up() {
  local name=$1 kind=$2
  if [[ -n ${down[$name]:-} ]]; then
    failed=${down[$name]}
    return 1
  fi
  if [[ -n ${up_pid[$name]:-} ]] && kill -0 "${up_pid[$name]}" 2>/dev/null; then
    srv_pid=${up_pid[$name]} srv_port=${up_port[$name]}
    return 0
  fi
  if [[ -n ${up_pid[$name]:-} ]]; then # it died since its last measurement
    stop "${up_pid[$name]}"
    unset "up_pid[$name]"
    gone[$name|$kind]="exited between measurements ($(tail -n 1 "$tmp/$name-$kind.log" 2>/dev/null || true)); started again"
    log "== $(label "$name") $kind: ${gone[$name|$kind]}"
  fi
  if ! launch "$name" "$kind"; then
    down[$name]=$failed
    return 1
  fi
  up_pid[$name]=$srv_pid up_port[$name]=$srv_port
}
# stop_all: stop the servers of the section; the next section starts afresh.
stop_all() {
  local name
  for name in "${!up_pid[@]}"; do stop "${up_pid[$name]}"; done
  up_pid=() up_port=() down=()
}
# died NAME: 0 (and reaps it) if server NAME is no longer running.
died() {
  kill -0 "${up_pid[$1]}" 2>/dev/null && return 1
  stop "${up_pid[$1]}"
  unset "up_pid[$1]"
}

# --- 1. Echo -----------------------------------------------------------------
# res["server|load|round"] -> echo_load's line; why[server] -> first reason
# for a missing cell.
declare -A res=() why=()
for ((round = 1; round <= RUNS; round++)); do
  for load in "${LOADS[@]}"; do
    read -r n d sz <<<"$load"
    for s in "${SERVERS[@]}"; do
      if ! ensure_up "$s" echo; then
        : "${why[$s]:=$failed}"
        continue
      fi
      log "== round $round/$RUNS: echo $(label "$s"): ${n} conns x ${d} in flight x ${sz} B," \
        "${T} s (+${WARMUP} s warm-up)"
      to=$(step_timeout $((T + WARMUP + 20)))
      if out=$(timeout "$to" "${pin_client[@]}" "$echo_load" 127.0.0.1 "$srv_port" \
        "$n" "$d" "$sz" "$T" --warmup "$WARMUP" --server-pid "$srv_pid" 2>"$tmp/load.err"); then
        log "$out"
        res[$s|$load|$round]=$out
        raw_lines+=("echo round $round $s $load: $out")
      else
        log "$(cat "$tmp/load.err")"
        if died "$s"; then
          : "${why[$s]:=server exited during the load ($(tail -n 1 "$tmp/$s-echo.log" 2>/dev/null || true))}"
        else
          : "${why[$s]:=load failed: $(tail -n 1 "$tmp/load.err")}"
        fi
      fi
    done
  done
done
stop_all

# --- 2. HTTP (wrk) -----------------------------------------------------------
# usecs VALUE: wrk's latency ("512.00us", "1.20ms", "2.00s") in microseconds.
usecs() {
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000;
                         else if (v ~ /s$/) print n * 1e6; else print "n/a" }'
}
# http["server|round"] -> "rps p50 p99 cpu requests-per-cpu-s errors"
declare -A http=() http_why=()
for ((round = 1; round <= RUNS; round++)); do
  for s in uring epoll luv; do
    if ! command -v wrk >/dev/null; then
      http_why[$s]="wrk not installed"
      continue
    fi
    if ! ensure_up "$s" http; then
      : "${http_why[$s]:=$failed}"
      continue
    fi
    log "== round $round/$RUNS: wrk -t1 -c100 -d${T}s against $(label "$s")"
    cpu0=$(cpu_s "$srv_pid")
    to=$(step_timeout $((T + 20)))
    if out=$(timeout "$to" "${pin_client[@]}" wrk -t1 -c100 -d"${T}s" --latency "http://127.0.0.1:$srv_port/" 2>&1) &&
      cpu1=$(cpu_s "$srv_pid" 2>/dev/null); then
      log "$out"
      rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
      p50=$(usecs "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
      p99=$(usecs "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
      reqs=$(awk '/ requests in / { print $1 }' <<<"$out")
      errs=$(awk '/Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 } /Non-2xx/ { e += $NF }
                  END { print e + 0 }' <<<"$out")
      cpu=$(calc %.2f 'b - a' "$cpu0" "$cpu1")
      http[$s|$round]="${rps:-n/a} $p50 $p99 $cpu $(calc %.0f 'a / b' "$reqs" "$cpu") $errs"
      raw_lines+=("http round $round $s: $(tr -s ' \n' ' ' <<<"$out")")
    elif died "$s"; then
      : "${http_why[$s]:=server exited during wrk ($(tail -n 1 "$tmp/$s-http.log" 2>/dev/null || true))}"
    else
      : "${http_why[$s]:=wrk failed: $(tail -n 1 <<<"$out")}"
    fi
  done
done
stop_all

# --- 3. Idle memory ----------------------------------------------------------
# wait_for SECS COMMAND...: run COMMAND every 0.1 s until it succeeds; 1 on timeout.
wait_for() {
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    "${@:2}" && return 0
    sleep 0.1
  done
  return 1
}
has_fds() { (($(fd_count "$1") >= $2)); }
declare -A idle=() idle_why=()
for s in "${SERVERS[@]}"; do
  if ! launch "$s" echo; then
    idle_why[$s]=$failed
    continue
  fi
  sleep 0.5 # let it settle (a runtime may still be loading)
  rss0=$(rss_kb "$srv_pid")
  fds0=$(fd_count "$srv_pid")
  log "== idle memory $(label "$s"): rss ${rss0} KiB, opening $IDLE_CONNS connections"
  timeout "$(step_timeout 90)" "$idle_conns" 127.0.0.1 "$srv_port" "$IDLE_CONNS" 60 >"$tmp/idle.log" 2>&1 &
  ipid=$!
  live[$ipid]=1
  if ! wait_for 30 grep -q '^connected' "$tmp/idle.log"; then
    idle_why[$s]="idle_conns: $(tail -n 1 "$tmp/idle.log")"
  elif ! wait_for 15 has_fds "$srv_pid" $((fds0 + IDLE_CONNS)); then
    idle_why[$s]="the server accepted only $(($(fd_count "$srv_pid") - fds0)) of $IDLE_CONNS in 15 s"
  else
    # Accepted; give its reads time to be posted, then wait for RSS to settle.
    prev=0
    rss1=$(rss_kb "$srv_pid")
    for ((i = 0; i < 20 && rss1 != prev; i++)); do
      sleep 0.25
      prev=$rss1
      rss1=$(rss_kb "$srv_pid")
    done
    idle[$s]="$rss0 $rss1 $(awk -v a="$rss0" -v b="$rss1" -v n="$IDLE_CONNS" 'BEGIN { printf "%.0f", (b - a) * 1024 / n }')"
    raw_lines+=("idle $s: rss_before_kib=$rss0 rss_after_kib=$rss1 conns=$IDLE_CONNS")
  fi
  # Server first: its close sends the FINs, so the TIME_WAITs stay on its
  # side and the client's ephemeral ports are free again.
  stop "$srv_pid"
  stop "$ipid"
done

# --- Tables ------------------------------------------------------------------
partial=() # "label what: k of RUNS rounds" for cells with missing rounds
echo
echo "moonport TCP benchmarks: $(uname -sr), $(nproc) CPUs (load average $load_at_start at the start)," \
  "median of $RUNS rounds, ${T} s per load (echo: +${WARMUP} s warm-up), 127.0.0.1, $SECONDS s in all"
echo
echo "### Echo (N conns × D in flight × S bytes)"
echo
echo "| load | server | msgs/s | MB/s | p50 µs | p99 µs | server CPU s | msgs per server CPU-s | throughput ÷ raw | CPU efficiency ÷ raw |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for load in "${LOADS[@]}"; do
  read -r n d sz <<<"$load"
  for s in "${SERVERS[@]}"; do
    rates=() mbs=() p50s=() p99s=() cpus=() effs=() rate_ratios=() eff_ratios=()
    for ((round = 1; round <= RUNS; round++)); do
      line=${res[$s|$load|$round]:-}
      [[ -n $line ]] || continue
      rates+=("$(field msgs_per_s "$line")")
      mbs+=("$(field mb_per_s "$line")")
      p50s+=("$(field p50_us "$line")")
      p99s+=("$(field p99_us "$line")")
      cpus+=("$(field server_cpu_s "$line")")
      effs+=("$(calc %.6g 'a / b' "$(field msgs "$line")" "$(field server_cpu_s "$line")")")
      raw=${res[raw|$load|$round]:-}
      [[ -n $raw ]] || continue
      rate_ratios+=("$(calc %.6g 'a / b' "${rates[-1]}" "$(field msgs_per_s "$raw")")")
      eff_ratios+=("$(calc %.6g 'a / b' "${effs[-1]}" \
        "$(calc %.6g 'a / b' "$(field msgs "$raw")" "$(field server_cpu_s "$raw")")")")
    done
    if ((${#rates[@]} == 0)); then
      echo "| ${n}×${d}×${sz} B | $(label "$s") | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |"
      continue
    fi
    ((${#rates[@]} < RUNS)) && partial+=("$(label "$s") echo ${n}×${d}×${sz} B: ${#rates[@]} of $RUNS rounds")
    echo "| ${n}×${d}×${sz} B | $(label "$s") | $(med %.0f "${rates[@]}") | $(med %.2f "${mbs[@]}") |" \
      "$(med %.1f "${p50s[@]}") | $(med %.1f "${p99s[@]}") | $(med %.2f "${cpus[@]}") | $(med %.0f "${effs[@]}") |" \
      "$(med %.2f "${rate_ratios[@]}") | $(med %.2f "${eff_ratios[@]}") |"
  done
done
echo
echo "### HTTP hello: wrk -t1 -c100 -d${T}s"
echo
echo "| server | requests/s | p50 µs | p99 µs | server CPU s | requests per server CPU-s | errors (all rounds) | requests/s ÷ luv |"
echo "|---|---|---|---|---|---|---|---|"
for s in uring epoll luv; do
  rpss=() p50s=() p99s=() cpus=() per_cpus=() ratios=() errors=0
  for ((round = 1; round <= RUNS; round++)); do
    [[ -n ${http[$s|$round]:-} ]] || continue
    read -r rps p50 p99 cpu per_cpu errs <<<"${http[$s|$round]}"
    rpss+=("$rps") p50s+=("$p50") p99s+=("$p99") cpus+=("$cpu") per_cpus+=("$per_cpu")
    errors=$((errors + errs))
    if [[ -n ${http[luv|$round]:-} ]]; then
      read -r luv_rps _ <<<"${http[luv|$round]}"
      ratios+=("$(calc %.6g 'a / b' "$rps" "$luv_rps")")
    fi
  done
  if ((${#rpss[@]} == 0)); then
    echo "| $(label "$s") | n/a | n/a | n/a | n/a | n/a | n/a | n/a |"
    continue
  fi
  ((${#rpss[@]} < RUNS)) && partial+=("$(label "$s") http: ${#rpss[@]} of $RUNS rounds")
  echo "| $(label "$s") | $(med %.0f "${rpss[@]}") | $(med %.0f "${p50s[@]}") | $(med %.0f "${p99s[@]}") |" \
    "$(med %.2f "${cpus[@]}") | $(med %.0f "${per_cpus[@]}") | $errors | $(med %.2f "${ratios[@]}") |"
done
echo
echo "### Idle memory: $IDLE_CONNS idle connections"
echo
echo "| server | RSS before (KiB) | RSS with connections (KiB) | bytes per connection |"
echo "|---|---|---|---|"
for s in "${SERVERS[@]}"; do
  if [[ -z ${idle[$s]:-} ]]; then
    echo "| $(label "$s") | n/a | n/a | n/a |"
    continue
  fi
  read -r a b per <<<"${idle[$s]}"
  echo "| $(label "$s") | $a | $b | $per |"
done
echo
echo "Echo and HTTP: every cell is the median over $RUNS rounds; within a round each server was"
echo "measured once per load, back to back (raw, uring, epoll, luv), so slow phases of the machine"
echo "hit all servers alike. The ÷ raw and ÷ luv columns are the median of the per-round ratios"
echo "(each round's value divided by the raw C server's, or luv's, value from the same round), not"
echo "the ratio of the medians shown. Idle memory: one run (it repeats to within a few bytes)."
echo "msgs/s and requests/s: higher is better. CPU efficiency = messages per second of server"
echo "CPU time (user + system, all threads); ÷ raw above 1.0 means cheaper than the C server."
echo "MB/s counts echoed bytes (10^6). Latency: from queueing a message to its last echoed byte."
echo "Bytes per connection: VmRSS delta only; kernel socket memory is not included."
notes=()
[[ -n $fd_note ]] && notes+=("$fd_note")
# note SERVER WHAT REASON: one line, unless it only repeats why SERVER cannot run here.
note() {
  [[ -n $3 && $3 != "${unavail[$1]:-}" ]] && notes+=("$(label "$1") $2: $3")
  return 0
}
for s in "${SERVERS[@]}"; do
  [[ -n ${unavail[$s]:-} ]] && notes+=("$(label "$s"): ${unavail[$s]}")
  note "$s" echo "${why[$s]:-}"
  note "$s" http "${http_why[$s]:-}"
  note "$s" "idle memory" "${idle_why[$s]:-}"
  note "$s" echo "${gone[$s|echo]:-}"
  note "$s" http "${gone[$s|http]:-}"
done
notes+=("${partial[@]}")
if ((${#notes[@]})); then
  echo
  echo "n/a and notes:"
  printf '  - %s\n' "${notes[@]}"
fi
echo
echo "Raw runs:"
printf '  %s\n' "${raw_lines[@]}"
