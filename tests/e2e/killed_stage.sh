#!/usr/bin/env bash
# A run killed in the middle of a stage leaves no result that looks complete,
# and the next run recomputes the stage instead of reusing the partial one.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"; kill -9 $pid 2>/dev/null' EXIT
"$assim" run "$case" --output "$work/runs" > "$work/first" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  compgen -G "$work/runs/*/.slow.partial-*" > /dev/null && break
  sleep 0.05
done
sleep 0.3
kill -9 $pid
wait $pid 2>/dev/null
fail=0
compgen -G "$work/runs/*/.slow.partial-*" > /dev/null || { echo "FAIL: no partial folder was seen while running"; fail=1; }
[ ! -e "$work/runs/killed/slow" ] || { echo "FAIL: a killed stage left runs/killed/slow"; fail=1; }
"$assim" run "$case" --output "$work/runs" > "$work/second" 2>&1 || { cat "$work/second"; echo "FAIL: rerun failed"; fail=1; }
cat "$work/second"
grep -q "removing .*\.slow\.partial-" "$work/second" || { echo "FAIL: the partial folder was not cleaned"; fail=1; }
grep -q "stage slow (generate): running" "$work/second" || { echo "FAIL: the rerun did not recompute the stage"; fail=1; }
[ -f "$work/runs/killed/slow/stage.yaml" ] || { echo "FAIL: no complete result after the rerun"; fail=1; }
exit $fail
