#!/usr/bin/env bash
# Runs `assim run CASE.yaml` and checks that it fails the way the case says:
#   # expect: REGEX   (each line of stderr evidence that must appear; grep -E)
#   # leaves: STAGE   (a stage that ran to completion before the failure)
#   # args: ARGS      (more arguments to `assim run`, split at spaces: --set ...)
# and that no other stage result was left behind, complete or half-written.
# @PLUGINS@ in the case is replaced by the build's test-plugin folder, @CASES@
# by the case's own folder (for files beside it: tests/e2e/bad/python/).
set -u
assim=$1 case=$2 plugins=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
name=$(basename "$case")
sed "s|@PLUGINS@|$plugins|g; s|@CASES@|$(cd "$(dirname "$case")" && pwd)|g" "$case" > "$work/$name"
read -ra args <<< "$(sed -n 's/^# args: //p' "$case")"
"$assim" run "$work/$name" --output "$work/runs" "${args[@]}" > "$work/out" 2> "$work/err"
status=$?
cat "$work/err"
if [ "$status" -eq 0 ]; then echo "FAIL: exit status 0, expected an error"; exit 1; fi
fail=0
while IFS= read -r pattern; do
  if ! grep -Eq -- "$pattern" "$work/err"; then echo "FAIL: stderr lacks /$pattern/"; fail=1; fi
done < <(sed -n 's/^# expect: //p' "$case")
[ -n "$(sed -n 's/^# expect: //p' "$case")" ] || { echo "FAIL: the case has no '# expect:' line"; fail=1; }
if [ -d "$work/runs" ]; then
  left=$(find "$work/runs" -mindepth 2 -maxdepth 2 ! -name .lock | while read -r d; do
    grep -qx "# leaves: $(basename "$d")" "$case" && [ -f "$d/stage.yaml" ] || echo "$d"; done)
  if [ -n "$left" ]; then echo "FAIL: results left behind: $left"; fail=1; fi
fi
exit $fail
