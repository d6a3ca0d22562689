#!/usr/bin/env bash
# file_copy.sh: examples/file_copy.lua copies files of several sizes (empty,
# one byte, not a multiple of the chunk, 64 MiB) byte for byte (sha256sum),
# keeps the source's mode, bounds its memory, and fails with exit status 1
# and the error's name for a missing source or an unwritable target.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

need sha256sum
need /usr/bin/time

copy() { # copy SRC DST [args...]: file_copy.lua, its peak RSS (KiB) in $work/rss
  timeout 60 /usr/bin/time -o "$work/rss" -f %M "$moonport" "$examples/file_copy.lua" "$@" \
    2>"$work/copy.err" >/dev/null
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
  [ "$(stat -c %a "$work/$name.copy")" = 640 ] || fail "$name: mode $(stat -c %a "$work/$name.copy"), not 640"
  say "$name: $size bytes copied ($*), sha256 equal, peak RSS $(cat "$work/rss") KiB"
  rm -f "$work/$name" "$work/$name.copy"
}

check_copy empty 0
check_copy one 1
check_copy odd $((3 * 1024 * 1024 + 12345)) 64 3
check_copy chunk_sized $((2 * 1024 * 1024)) 1024 2
check_copy big $((64 * 1024 * 1024))
# 64 MiB through 1 MiB chunks, 4 ahead: memory stays far below the file's size.
if [ -z "$sanitizer" ]; then
  [ "$(cat "$work/rss")" -lt 40000 ] || fail "peak RSS $(cat "$work/rss") KiB for a 64 MiB copy"
fi

status=0
copy "$work/missing" "$work/out" || status=$?
[ "$status" -eq 1 ] || fail "a missing source: exit status $status, not 1"
grep -q "ENOENT: open '$work/missing'" "$work/copy.err" || fail "a missing source said: $(cat "$work/copy.err")"
say "missing source: exit 1 with '$(cat "$work/copy.err")'"

head -c 1000 /dev/urandom >"$work/src"
status=0
copy "$work/src" "$work/no/such/dir/out" || status=$?
[ "$status" -eq 1 ] || fail "an unwritable target: exit status $status, not 1"
grep -q "ENOENT: open '$work/no/such/dir/out'" "$work/copy.err" ||
  fail "an unwritable target said: $(cat "$work/copy.err")"
say "unwritable target: exit 1 with '$(cat "$work/copy.err")'"
pass
