#!/usr/bin/env bash
# kill -9 at seeded random moments of a run, then a rerun to completion: the
# results are the same bytes as those of a run never killed, and no partial
# stage is ever reused. The data products (truth, observations, assimilation
# means) are compared; records and tables hold wall times and may differ.
set -u
assim=$1 case=$2 kills=${3:-4}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
data() {  # the bytes that must not depend on kills: digests of the data files
  for f in truth/data.nc seen/observations.nc; do sha256sum < "$1/kill_anywhere/$f"; done
  ncdump -v mean,rmse "$1/kill_anywhere/enkf/assimilation.nc" | sed -n '/^data:/,$p' | sha256sum
}
"$assim" run "$case" --output "$work/reference" > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: reference run"; exit 1; }
reference=$(data "$work/reference")
total=$(awk '/done in/ {s += $(NF-3)} END {print s}' "$work/log")
echo "reference run: ${total} s of stages"
RANDOM=7
for k in $(seq 1 "$kills"); do
  out="$work/killed_$k"
  for attempt in 1 2; do  # two kills in a row before the rerun
    delay=$(awk -v r=$RANDOM -v t="$total" 'BEGIN {printf "%.2f", 0.8 + t * r / 32767}')
    "$assim" run "$case" --output "$out" > "$work/kill.log" 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    echo "kill $k.$attempt after ${delay} s: during $(grep -o "stage [a-z]* ([a-z]*): running" "$work/kill.log" | tail -1)"
  done
  "$assim" run "$case" --output "$out" > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: rerun after kill $k"; fail=1; continue; }
  [ "$(data "$out")" = "$reference" ] || { echo "FAIL: after kill $k the results differ from the reference"; fail=1; }
  left=$(find "$out/kill_anywhere" -maxdepth 1 -name '.*.partial-*' -o -maxdepth 1 -name '.*.old-*')
  [ -z "$left" ] || { echo "FAIL: leftovers after the rerun: $left"; fail=1; }
done
exit $fail
