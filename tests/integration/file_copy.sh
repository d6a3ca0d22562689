#!/usr/bin/env bash
# file_copy.sh: examples/file_copy.lua copies files of several sizes (empty,
# one byte, not a multiple of the chunk, 64 MiB) byte for byte (sha256sum),
# keeps the source's mode, bounds its memory, and fails with exit status 1
# and the error's name for a missing source or an unwritable target.
# Under Wine (the Windows build) the copier gets its paths on drive Z:, the
# Linux file system; the mode check is skipped with a SKIP line (Windows
# files have only a read-only attribute), and the memory bound applies to
# the peak RSS above that of the empty copy, which is mostly Wine's own.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

need sha256sum
need /usr/bin/time

# The copier's name for a path of $work: as it is, or on Wine's drive Z:.
drive=${emulator:+Z:}
win() { echo "$drive$1"; }

copy() { # copy SRC DST [args...]: file_copy.lua, its peak RSS (KiB) in $work/rss
  local src dst
  src=$(win "$1") dst=$(win "$2")
  shift 2
  timeout 60 /usr/bin/time -o "$work/rss" -f %M "${emulator[@]}" "$moonport" \
    "$examples/file_copy.lua" "$src" "$dst" "$@" 2>"$work/copy.err" >/dev/null
}

skip_check() { # skip_check WHAT WHY: one check skipped under Wine, said on a SKIP line
  echo "SKIP: $test_name: $1: $2"
}

check_copy() { # check_copy NAME SIZE [args...]
  local name=$1 size=$2
  shift 2
  head -c "$size" /dev/urandom >"$work/$name"
  chmod 640 "$work/$name"
  copy "$work/$name" "$work/$name.copy" "$@" || fail "copying $name exited with status $?: $(cat "$work/copy.err")"
  local want got
  want=$(sha256sum <"$work/$name" | cut -d' ' -f1)
  got=$(sha256sum <"$work/$name.copy" | cut -d' ' -f1)
  [ "$want" = "$got" ] || fail "$name ($size bytes, $*): the copy's sha256 differs"
  if [ -z "$drive" ]; then
    [ "$(stat -c %a "$work/$name.copy")" = 640 ] || fail "$name: mode $(stat -c %a "$work/$name.copy"), not 640"
  fi
  say "$name: $size bytes copied ($*), sha256 equal, peak RSS $(cat "$work/rss") KiB"
  rm -f "$work/$name" "$work/$name.copy"
}

check_copy empty 0
base_rss=$(cat "$work/rss")
check_copy one 1
check_copy odd $((3 * 1024 * 1024 + 12345)) 64 3
check_copy chunk_sized $((2 * 1024 * 1024)) 1024 2
check_copy big $((64 * 1024 * 1024))
# 64 MiB through 1 MiB chunks, 4 ahead: memory stays far below the file's size.
if [ -n "$drive" ]; then
  skip_check "the copy's mode" "Windows files have only a read-only attribute, no mode bits"
  grown=$(($(cat "$work/rss") - base_rss))
  [ "$grown" -lt 40000 ] || fail "peak RSS $grown KiB above the empty copy's for a 64 MiB copy"
  say "peak RSS of the 64 MiB copy: $grown KiB above the empty copy's $base_rss KiB (Wine's own)"
elif [ -z "$sanitizer" ]; then
  [ "$(cat "$work/rss")" -lt 40000 ] || fail "peak RSS $(cat "$work/rss") KiB for a 64 MiB copy"
fi

status=0
copy "$work/missing" "$work/out" || status=$?
[ "$status" -eq 1 ] || fail "a missing source: exit status $status, not 1"
grep -q "ENOENT: open '$(win "$work/missing")'" "$work/copy.err" || fail "a missing source said: $(cat "$work/copy.err")"
say "missing source: exit 1 with '$(cat "$work/copy.err")'"

head -c 1000 /dev/urandom >"$work/src"
status=0
copy "$work/src" "$work/no/such/dir/out" || status=$?
[ "$status" -eq 1 ] || fail "an unwritable target: exit status $status, not 1"
grep -q "ENOENT: open '$(win "$work/no/such/dir/out")'" "$work/copy.err" ||
  fail "an unwritable target said: $(cat "$work/copy.err")"
say "unwritable target: exit 1 with '$(cat "$work/copy.err")'"
pass
