#!/usr/bin/env bash
# Readers find their inputs through the producing stage's out:, not by a file
# name they assume: with every out: renamed, the whole chain runs.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$assim" run "$case" --output "$work/runs" > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: run"; exit 1; }
fail=0
for f in truth/x.nc seen/y.nc enkf/z.nc scores/e.nc report/page/index.html; do
  [ -f "$work/runs/renamed_outputs/$f" ] || { echo "FAIL: no $f"; fail=1; }
done
grep -q "sampler.enkf" "$work/runs/renamed_outputs/scores/e.txt" || { echo "FAIL: the evaluation lacks the run"; fail=1; }
[ "$fail" -eq 0 ] && echo "every reader found its input under the producer's out:"
exit $fail
