#!/usr/bin/env bash
# A library refused for its ABI version, or for being no plugin, runs none of
# its code: the host reads its info record from the file. The test plugins
# leave a mark when their constructors run; an accepted plugin shows that the
# mark works.
set -u
assim=$1 plugins=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
check() {  # check NAME PLUGIN_PATH EXPECT_MARK
  rm -f "$work/mark"
  ASSIM_TEST_LOAD_MARKER="$work/mark" "$assim" plugins --plugin-path "$2" > "$work/log" 2>&1
  if [ "$3" = yes ] && [ ! -e "$work/mark" ]; then echo "FAIL: $1: the accepted plugin left no mark (the check is blind)"; fail=1; fi
  if [ "$3" = no ] && [ -e "$work/mark" ]; then echo "FAIL: $1: code of a refused library ran"; cat "$work/log"; fail=1; fi
}
check "accepted plugin" "$plugins/throwing" yes
check "wrong ABI" "$plugins/wrong_abi" no
grep -q "built for assim ABI version 999" "$work/log" || { cat "$work/log"; echo "FAIL: the ABI refusal is not said"; fail=1; }
check "not a plugin (file)" "$plugins/not_a_plugin/libassim_test_not_a_plugin.so" no
grep -q "not an assim plugin" "$work/log" || { cat "$work/log"; echo "FAIL: the refusal is not said"; fail=1; }
check "not a plugin (in a folder)" "$plugins/not_a_plugin" no
grep -q "skipping .*libassim_test_not_a_plugin.so.*not an assim plugin" "$work/log" \
  || { cat "$work/log"; echo "FAIL: a non-plugin library in a folder is not skipped with a note"; fail=1; }
mkdir "$work/corrupt"
head -c 4096 /dev/urandom > "$work/corrupt/libassim_corrupt.so"
"$assim" plugins --plugin-path "$work/corrupt/libassim_corrupt.so" > "$work/log" 2>&1 && { echo "FAIL: a corrupt library was accepted"; fail=1; }
grep -q "is not a valid shared library" "$work/log" || { cat "$work/log"; echo "FAIL: a corrupt library is not named as such"; fail=1; }
ASSIM_PLUGIN_PATH="$plugins/wrong_abi" "$assim" plugins > "$work/log" 2>&1
grep -q "(from ASSIM_PLUGIN_PATH)" "$work/log" || { cat "$work/log"; echo "FAIL: a library from ASSIM_PLUGIN_PATH is not named as such"; fail=1; }
exit $fail
