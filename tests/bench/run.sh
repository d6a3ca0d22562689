#!/usr/bin/env bash
# run.sh: build a Release tree and run moonport's benchmarks; print a
# Markdown table of medians.
#
#   tests/bench/run.sh
#
# Environment (all optional):
#   RUNS=3           runs of each measurement; the table shows the median
#   PACKETS=5000000  packets per bench_post run
#   TIMERS=1000000   timers per timers benchmark run
#   BUILD_DIR=...    build tree (default: build-bench/ at the repo root)
#
# Benchmarks (local only: no network):
#   posts   bench_post: poster thread -> mp_post -> port -> worker -> Lua
#           thread -> a tiny Lua function; reference: a plain C loop calling
#           the same function the same way, in the same process.
#   timers  timers.lua on the moonport runner, timers_luv.lua on lua5.4 + luv:
#           N one-shot timers with delays i % 100 ms, one shared callback;
#           wall ms from before arming to the last fire (measured in the
#           script), peak RSS from /usr/bin/time -f %M.
# Each backend (uring, epoll) that works on this machine is measured; one
# that does not is shown as n/a.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
RUNS=${RUNS:-3}
PACKETS=${PACKETS:-5000000}
TIMERS=${TIMERS:-1000000}
STEP_TIMEOUT=30 # seconds; no single run may take longer (they take 1-5 s)
BUDGET=280      # seconds for the whole script, build included
TIME=/usr/bin/time

log() { printf '%s\n' "$*" >&2; }
die() {
  log "run.sh: $*"
  exit 1
}

[[ -x $TIME ]] || die "$TIME not found (Debian package 'time')"

# step_timeout: seconds the next run may take: STEP_TIMEOUT, less near the
# end of the budget; dies when the budget is spent.
step_timeout() {
  local left=$((BUDGET - SECONDS))
  ((left > 0)) || die "time budget of $BUDGET s spent"
  echo $((left < STEP_TIMEOUT ? left : STEP_TIMEOUT))
}

# --- Build -------------------------------------------------------------------
log "== building Release tree in $build"
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMOONPORT_TESTS=ON >"$build/bench-configure.log" 2>&1 ||
  {
    cat "$build/bench-configure.log" >&2
    die "configure failed"
  }
cmake --build "$build" -j2 --target moonport bench_post >"$build/bench-build.log" 2>&1 ||
  {
    cat "$build/bench-build.log" >&2
    die "build failed"
  }
runner=$build/moonport
bench_post=$build/tests/bench/bench_post
[[ -x $runner && -x $bench_post ]] || die "build did not produce $runner and $bench_post"

# --- Helpers -----------------------------------------------------------------
# median of the arguments (numbers); "n/a" if there are none.
median() {
  if (($# == 0)); then
    echo n/a
    return
  fi
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# field NAME LINE: the value of NAME=value in LINE.
field() {
  local name=$1 line=$2
  sed -n "s/.*\\b$name=\\([^ ]*\\).*/\\1/p" <<<"$line"
}

# a / b with 2 decimals, or n/a.
ratio() {
  if [[ $1 == n/a || $2 == n/a ]]; then
    echo n/a
  else
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a / b }'
  fi
}

# shellcheck disable=SC2059 # the format is the argument
fmt() { # fmt FORMAT VALUE: printf unless n/a
  if [[ $2 == n/a ]]; then echo n/a; else printf "$1" "$2"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

backends=()
for b in uring epoll; do
  if MOONPORT_BACKEND=$b timeout 20 "$runner" -e 'assert(require("moonport").backend() == os.getenv("MOONPORT_BACKEND"))' \
    >/dev/null 2>&1; then
    backends+=("$b")
  else
    log "== backend $b is not available here: skipped"
  fi
done
((${#backends[@]})) || die "no moonport backend works here"

have_luv=0
if lua5.4 -e 'require "luv"' >/dev/null 2>&1; then have_luv=1; else log "== lua5.4 + luv not found: no timer reference"; fi

declare -A post_rate post_cpu post_lua_cpu post_ratio timer_ms timer_rss
plain_rates=()
plain_secs=()
raw=()
workers='?'  # as the loop reports it

# --- Posts -------------------------------------------------------------------
for b in "${backends[@]}"; do
  rates=() cpus=() lua_cpus=() ratios=()
  for ((run = 1; run <= RUNS; run++)); do
    log "== bench_post backend=$b posters=1 packets=$PACKETS (run $run/$RUNS)"
    out=$(MOONPORT_BACKEND=$b timeout "$(step_timeout)" "$bench_post" -n "$PACKETS" -p 1) ||
      die "bench_post failed on $b"
    log "$out"
    plain=$(grep '^plain:' <<<"$out")
    post=$(grep '^post:' <<<"$out")
    workers=$(field workers "$post")
    plain_rates+=("$(field rate_mps "$plain")")
    plain_secs+=("$(field seconds "$plain")")
    rates+=("$(field rate_mps "$post")")
    cpus+=("$(field cpu_seconds "$post")")
    lua_cpus+=("$(field lua_thread_cpu_seconds "$post")")
    ratios+=("$(field 'post\/plain' "$(grep '^ratio:' <<<"$out")")")
    raw+=("posts $b run $run: $post | $plain")
  done
  post_rate[$b]=$(median "${rates[@]}")
  post_cpu[$b]=$(median "${cpus[@]}")
  post_lua_cpu[$b]=$(median "${lua_cpus[@]}")
  post_ratio[$b]=$(median "${ratios[@]}")
done
plain_rate=$(median "${plain_rates[@]}")
plain_sec=$(median "${plain_secs[@]}")

# --- Timers ------------------------------------------------------------------
# run_timers NAME COMMAND...: RUNS runs; sets timer_ms[NAME], timer_rss[NAME] (MiB).
run_timers() {
  local name=$1
  shift
  local mss=() rsss=() out rss
  for ((run = 1; run <= RUNS; run++)); do
    log "== timers $name timers=$TIMERS (run $run/$RUNS)"
    out=$(timeout "$(step_timeout)" "$TIME" -o "$tmp/time" -f '%M' "$@" "$TIMERS") || die "timers $name failed"
    rss=$(tail -n 1 "$tmp/time")
    log "$out peak_rss_kb=$rss"
    mss+=("$(field elapsed_ms "$out")")
    rsss+=("$(awk -v k="$rss" 'BEGIN { printf "%.1f\n", k / 1024 }')")
    raw+=("timers $name run $run: $out peak_rss_mib=${rsss[-1]}")
  done
  timer_ms[$name]=$(median "${mss[@]}")
  timer_rss[$name]=$(median "${rsss[@]}")
}

for b in "${backends[@]}"; do
  MOONPORT_BACKEND=$b run_timers "$b" "$runner" "$here/timers.lua"
done
if ((have_luv)); then
  run_timers luv lua5.4 "$here/timers_luv.lua"
else
  timer_ms[luv]=n/a timer_rss[luv]=n/a
fi

# --- Table -------------------------------------------------------------------
for b in uring epoll; do
  : "${post_rate[$b]:=n/a}" "${post_cpu[$b]:=n/a}" "${post_lua_cpu[$b]:=n/a}" "${post_ratio[$b]:=n/a}"
  : "${timer_ms[$b]:=n/a}" "${timer_rss[$b]:=n/a}"
done

# target_met VALUE OP LIMIT -> yes/no/n/a
target_met() {
  [[ $1 == n/a ]] && {
    echo n/a
    return
  }
  awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { ok = (op == ">=") ? v >= l : v <= l; print ok ? "yes" : "no" }'
}
met() { # met OP LIMIT: "uring/epoll" verdicts
  echo "$(target_met "${2}" "$1" "$3")/$(target_met "${4}" "$1" "$3")"
}

nproc_=$(nproc 2>/dev/null || echo '?')
echo
echo "moonport benchmarks: $(uname -sr), $nproc_ CPUs, $workers workers, median of $RUNS runs"
echo
echo "| benchmark | moonport (uring) | moonport (epoll) | reference | ratio (uring / epoll ÷ reference) | target (met uring/epoll) |"
echo "|---|---|---|---|---|---|"
cpu_cell() { # cpu_cell BACKEND: "process s (Lua thread s)"
  if [[ ${post_cpu[$1]} == n/a ]]; then
    echo n/a
  else
    printf '%.3f (Lua thread %.3f)' "${post_cpu[$1]}" "${post_lua_cpu[$1]}"
  fi
}
echo "| posts → Lua callback, 1 poster, $PACKETS packets (M/s) |" \
  "$(fmt %.2f "${post_rate[uring]}") | $(fmt %.2f "${post_rate[epoll]}") |" \
  "plain C loop: $(fmt %.2f "$plain_rate") M calls/s |" \
  "$(fmt %.2f "${post_ratio[uring]}") / $(fmt %.2f "${post_ratio[epoll]}") (same process) |" \
  "≥ 5 M/s ($(met '>=' "${post_rate[uring]}" 5 "${post_rate[epoll]}")) |"
echo "| posts: CPU seconds of the moonport part |" \
  "$(cpu_cell uring) | $(cpu_cell epoll) | plain C loop: $(fmt %.3f "$plain_sec") s |" \
  "$(ratio "${post_cpu[uring]}" "$plain_sec") / $(ratio "${post_cpu[epoll]}" "$plain_sec") | — |"
echo "| $TIMERS timers armed + fired (wall ms) |" \
  "$(fmt %.0f "${timer_ms[uring]}") | $(fmt %.0f "${timer_ms[epoll]}") |" \
  "luv: $(fmt %.0f "${timer_ms[luv]}") ms |" \
  "$(ratio "${timer_ms[uring]}" "${timer_ms[luv]}") / $(ratio "${timer_ms[epoll]}" "${timer_ms[luv]}") |" \
  "≤ 1500 ms ($(met '<=' "${timer_ms[uring]}" 1500 "${timer_ms[epoll]}")) |"
echo "| $TIMERS timers: peak RSS (MiB) |" \
  "$(fmt %.1f "${timer_rss[uring]}") | $(fmt %.1f "${timer_rss[epoll]}") |" \
  "luv: $(fmt %.1f "${timer_rss[luv]}") MiB |" \
  "$(ratio "${timer_rss[uring]}" "${timer_rss[luv]}") / $(ratio "${timer_rss[epoll]}" "${timer_rss[luv]}") |" \
  "≤ 150 MB ($(met '<=' "${timer_rss[uring]}" 150 "${timer_rss[epoll]}")) |"
echo
echo "Ratios are moonport ÷ reference: for posts higher is better (1.0 = as fast as calling"
echo "the function from a C loop); for timers lower is better (below 1.0 = moonport wins)."
echo "Peak RSS is /usr/bin/time's %M (KiB) / 1024; the 150 MB target is checked against that MiB"
echo "figure. Posts' CPU: all threads of the process; the Lua thread's share in parentheses."
echo
echo "Raw runs:"
printf '  %s\n' "${raw[@]}"
