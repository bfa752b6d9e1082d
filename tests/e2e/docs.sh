#!/usr/bin/env bash
# The documentation cannot drift from the code: every ```yaml block of the
# README validates against the built plugins, and every fenced example in the
# SDK headers compiles (```cpp-body: statements, compiled inside a function)
# or appears line for line in the named source that the build compiles
# (```cpp-from FILE).
set -u
assim=$1 source=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0 blocks=0
awk -v dir="$work" '
  /^```yaml/ { n++; file = dir "/readme_" n ".yaml"; inside = 1; next }
  /^```/ && inside { inside = 0; close(file); next }
  inside { print > file }' "$source/README.md"
for file in "$work"/readme_*.yaml; do
  [ -e "$file" ] || continue
  blocks=$((blocks + 1))
  if ! "$assim" validate "$file" > "$work/log" 2>&1; then
    echo "FAIL: README yaml block $(basename "$file" .yaml) does not validate:"; cat "$file"; cat "$work/log"; fail=1
  fi
done
[ "$blocks" -gt 0 ] || { echo "FAIL: no yaml block found in README.md"; fail=1; }

examples=0
for header in "$source"/sdk/include/assim/*.hpp "$source"/sdk/testing/include/assim/testing/*.hpp; do
  awk -v dir="$work" -v base="$(basename "$header" .hpp)" '
    /^\/\/ ```cpp/ { n++; kind = $2; sub(/^```/, "", kind); from = $3;
                     file = dir "/" base "_" n "." kind; inside = 1;
                     if (from != "") print from > (file ".from"); next }
    /^\/\/ ```/ && inside { inside = 0; close(file); next }
    inside { line = $0; sub(/^\/\/ ?/, "", line); print line > file }' "$header"
done
for file in "$work"/*.cpp-body; do
  [ -e "$file" ] || continue
  examples=$((examples + 1))
  { echo '#include <assim/assim.hpp>'; echo 'void example() {'; cat "$file"; echo '}'; } > "$work/body.cpp"
  if ! c++ -std=c++17 -fsyntax-only -I "$source/sdk/include" -I /usr/include/torch/csrc/api/include "$work/body.cpp" \
       > "$work/log" 2>&1; then
    echo "FAIL: the example $(basename "$file") does not compile:"; cat "$file"; head -30 "$work/log"; fail=1
  fi
done
for file in "$work"/*.cpp-from; do
  [ -e "$file" ] || continue
  examples=$((examples + 1))
  target="$source/$(cat "$file.from")"
  while IFS= read -r line; do
    [ -z "${line// }" ] && continue
    grep -qF -- "$(echo "$line" | sed 's/^ *//')" "$target" \
      || { echo "FAIL: $(basename "$file"): '$line' is not in $target"; fail=1; }
  done < "$file"
done
[ "$examples" -gt 0 ] || { echo "FAIL: no fenced example found in the SDK headers"; fail=1; }
echo "checked $blocks README yaml blocks and $examples SDK examples"
exit $fail
