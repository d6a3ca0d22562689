#!/usr/bin/env bash
# udp.sh: UDP round trips per second, moonport (each Linux backend) against
# luv, both ends in one process on 127.0.0.1 (udp_pingpong.lua and
# udp_pingpong_luv.lua); RUNS interleaved rounds, medians printed as a
# Markdown table. Uses the Release tree of run.sh (build-bench/).
#   tests/bench/udp.sh            (environment: RUNS=5, SECONDS_PER_RUN=2)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
RUNS=${RUNS:-5}
T=${SECONDS_PER_RUN:-2}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target moonport moonport_lua_library >/dev/null
lua5.4 -e 'require "luv"' 2>/dev/null && have_luv=1 || have_luv=0

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
rate() { sed -n 's/.*round_trips_per_s=\([0-9]*\).*/\1/p'; }

declare -A results=()
for ((round = 1; round <= RUNS; round++)); do
  for load in "16 64" "1 64" "16 1400"; do
    read -r d s <<<"$load"
    for backend in uring epoll; do
      r=$(MOONPORT_BACKEND=$backend timeout 30 "$build/moonport" "$here/udp_pingpong.lua" "$T" "$d" "$s" | rate) || r=0
      results["$load|moonport ($backend)"]+="$r "
    done
    if [ "$have_luv" = 1 ]; then
      r=$(timeout 30 lua5.4 "$here/udp_pingpong_luv.lua" "$T" "$d" "$s" | rate) || r=0
      results["$load|luv"]+="$r "
    fi
  done
done

echo "| in flight × size | implementation | round trips/s (median of $RUNS) |"
echo "|---|---|---|"
for load in "16 64" "1 64" "16 1400"; do
  for impl in "moonport (uring)" "moonport (epoll)" luv; do
    [ -n "${results["$load|$impl"]:-}" ] || continue
    read -r d s <<<"$load"
    m=$(tr ' ' '\n' <<<"${results["$load|$impl"]}" | grep . | median)
    echo "| $d × $s B | $impl | $m |"
  done
done
