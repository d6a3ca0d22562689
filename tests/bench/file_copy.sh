#!/usr/bin/env bash
# file_copy.sh: copying a large file: examples/file_copy.lua on each Linux
# backend against cp (and cat, a copy through user space); prints a Markdown
# table of MB/s, the ratio to cp and the peak RSS.
#
#   tests/bench/file_copy.sh
#
# Environment (all optional):
#   SIZE_MIB=1024   size of the file copied
#   RUNS=4          rounds; every cell is the median over them
#   CHUNK_KIB=1024 WINDOW=4   file_copy.lua's chunk size and read-ahead
#   BUILD_DIR=...   build tree with the moonport runner (default: build/)
#   TMPDIR=...      where the files go (the file system measured)
#
# Page cache, without root: the source is read once before measuring, so
# that every copier reads it from memory; each copy is removed and `sync`
# run before the next, so that no copier pays for the write-back of the
# one before. Nobody fsyncs: each measures copying into the page cache.
# Rounds interleave the copiers (cp, cat, uring, epoll; then cat, uring,
# epoll, cp; ...), so that a slow phase of the machine hits all alike and
# each follows each other once: a copy right after another 1 GiB copy was
# up to 3 times slower here, whoever made it. A ratio cell is the median of
# the per-round ratios. Every copy is compared with the source (cmp),
# outside the timed part.
#
# Note: GNU cp 9 copies with copy_file_range(2), in the kernel (on a
# file system with reflinks, such as btrfs or XFS, it may share the blocks
# and copy nothing at all); file_copy.lua moves every byte through user
# space twice (the read into a buffer, the Lua string it becomes). cat is
# the fair user-space reference.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build}
moonport=$build/moonport
size_mib=${SIZE_MIB:-1024}
runs=${RUNS:-4}
chunk=${CHUNK_KIB:-1024}
window=${WINDOW:-4}

[ -x "$moonport" ] || {
  echo "no runner at $moonport: build first (cmake --build build)" >&2
  exit 1
}
[ -x /usr/bin/time ] || {
  echo "needs /usr/bin/time (package time)" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=$work/src
dst=$work/dst

load_start=$(cut -d' ' -f1 /proc/loadavg)
echo "making a $size_mib MiB file in $work ..." >&2
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$src"
cat "$src" >/dev/null # into the page cache
bytes=$(stat -c %s "$src")

copiers=(cp cat uring epoll)

run_copier() { # run_copier NAME: copy src to dst, print "ns rss_kib"
  local t0 t1
  rm -f "$dst"
  sync
  t0=$(date +%s%N)
  case $1 in
  cp) /usr/bin/time -o "$work/rss" -f %M cp "$src" "$dst" ;;
  cat) /usr/bin/time -o "$work/rss" -f %M sh -c "cat '$src' >'$dst'" ;;
  *) MOONPORT_BACKEND=$1 /usr/bin/time -o "$work/rss" -f %M \
    "$moonport" "$root/examples/file_copy.lua" "$src" "$dst" "$chunk" "$window" 2>/dev/null ;;
  esac
  t1=$(date +%s%N)
  cmp -s "$src" "$dst" || {
    echo "$1: the copy differs from the source" >&2
    exit 1
  }
  echo "$((t1 - t0)) $(tail -n 1 "$work/rss")"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A rates rss ratios
for ((round = 1; round <= runs; round++)); do
  declare -A this=()
  # Each round starts with another copier: what ran just before changes
  # the next one's speed (page cache and reclaim after a 1 GiB copy).
  order=("${copiers[@]:$(((round - 1) % ${#copiers[@]}))}" "${copiers[@]:0:$(((round - 1) % ${#copiers[@]}))}")
  for c in "${order[@]}"; do
    read -r ns kib < <(run_copier "$c")
    this[$c]=$(awk -v b="$bytes" -v ns="$ns" 'BEGIN { printf "%.1f", b / 1e6 / (ns / 1e9) }')
    rates[$c]+="${this[$c]} "
    rss[$c]+="$kib "
    echo "round $round: $c ${this[$c]} MB/s, peak RSS $kib KiB" >&2
  done
  for c in "${copiers[@]}"; do
    ratios[$c]+="$(awk -v a="${this[$c]}" -v b="${this[cp]}" 'BEGIN { printf "%.2f", a / b }') "
  done
  unset this
done

echo
echo "Copying a $size_mib MiB file ($runs rounds, medians; file_copy.lua: ${chunk} KiB chunks, $window ahead):"
echo
echo "| copier | MB/s | ratio to cp | peak RSS (MiB) |"
echo "|---|---:|---:|---:|"
for c in "${copiers[@]}"; do
  case $c in
  cp) name="cp (copy_file_range)" ;;
  cat) name="cat (user space)" ;;
  *) name="moonport file_copy.lua, $c" ;;
  esac
  r=$(tr ' ' '\n' <<<"${rates[$c]}" | grep . | median)
  q=$(tr ' ' '\n' <<<"${ratios[$c]}" | grep . | median)
  m=$(tr ' ' '\n' <<<"${rss[$c]}" | grep . | sort -g | tail -n 1)
  printf '| %s | %.0f | %.2f | %.1f |\n' "$name" "$r" "$q" "$(awk -v k="$m" 'BEGIN { print k / 1024 }')"
done
echo
echo "(peak RSS: the largest of the rounds; Linux $(uname -r), $(nproc) CPUs, load average $load_start at the start and $(cut -d' ' -f1 /proc/loadavg) at the end; $(df -T "$work" | awk 'NR == 2 { print $2 }') at $work)"
