#!/bin/bash
# test_stock_lua.sh: the example C module in a stock lua5.4 that loads
# moonport's module (build/lib/moonport/core.so), required after moonport
# and before it (then MP_CHECK_ABI loads moonport itself).
# Usage: test_stock_lua.sh SOURCE_DIR BUILD_DIR [SANITIZER]
# The interpreter is MOONPORT_STOCK_LUA (default lua5.4), run through
# MOONPORT_EMULATOR if set (Windows: the build's lua.exe under Wine, whose
# output ends lines with CR LF); modules end in MOONPORT_MODULE_SUFFIX
# (default .so).
set -u
src=$1 build=$2
if [ -n "${3:-}" ]; then
  # A sanitized module cannot load into an unsanitized lua5.4.
  echo "skipped: $3 sanitizer build"
  exit 77
fi
read -r -a emulator <<<"${MOONPORT_EMULATOR:-}"
stock_lua=("${emulator[@]}" "${MOONPORT_STOCK_LUA:-lua5.4}")
export LUA_CPATH="$build/lib/?${MOONPORT_MODULE_SUFFIX:-.so};;" LUA_PATH="$src/lua/?.lua;$src/lua/?/init.lua;;"
passed=0 failed=0

# check NAME EXPECTED_OUTPUT_REGEX LUA_CODE
check() {
  local out
  out=$("${stock_lua[@]}" -e "$3" 2>&1 | tr -d '\r')
  if [[ $out =~ ^$2$ ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    printf 'FAIL %s\n  expected: %s\n  got:      %s\n' "$1" "$2" "$out"
  fi
}

file=$(mktemp)
trap 'rm -f "$file"' EXIT
printf 'stock lua\n' >"$file"
want=$(sha256sum "$file" | cut -d' ' -f1)

check "hash after require moonport" "$want" "
  local mp = require 'moonport'
  local c = require 'cmodule'
  c.sha256_file('$file', function(err, hex) print(err or hex) end)
  mp.run()"
check "coroutine form and the pipe, cmodule required first" "$want	piped	nil" "
  local c = require 'cmodule'
  local mp = require 'moonport'
  mp.spawn(function()
    local r, w = c.pipe()
    w:write('piped')
    w:close()
    print(c.sha256_file('$file'), r:read(), r:read())
    r:close()
  end)
  mp.run()"
check "ABI mismatch" "cmodule_abi_mismatch: built for moonport ABI 999, this moonport \\([0-9.]+\\) has ABI [0-9]+" "
  local ok, err = pcall(require, 'cmodule_abi_mismatch')
  print(err)"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
