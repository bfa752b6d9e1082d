#!/usr/bin/env bash
# The Lorenz-96 EnKF benchmark at CI length (3000 cycles, 2 repetitions):
# each filter's rmse.a must land in a band around the published value, no
# repetition may diverge, and a filter with a far too small ensemble and no
# inflation must be reported as diverged, not averaged.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
short=()
for s in etkf_n40 pertobs_n40 letkf_n10; do short+=(--set stages.$s.cycles=3000 --set stages.$s.repetitions=2); done
"$assim" run "$case" --output "$work/runs" "${short[@]}" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
attribute() { ncdump -h "$work/runs/lorenz96_sakov2008/$1/filter.nc" | sed -n "s/.*:$2 = \(.*\) ;/\1/p"; }
check() {  # stage, low, high (published value in the middle)
  local value; value=$(attribute "$1" rmse_a)
  echo "$1: rmse.a = $value (band $2 .. $3), diverged repetitions: $(attribute "$1" diverged_repetitions)"
  awk -v v="$value" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }' || { echo "FAIL: $1 out of band"; fail=1; }
  [ "$(attribute "$1" diverged_repetitions)" = "0." ] || { echo "FAIL: $1 diverged"; fail=1; }
}
check etkf_n40 0.16 0.20      # published 0.18
check pertobs_n40 0.20 0.24   # published 0.22
check letkf_n10 0.18 0.22     # published 0.20
"$assim" run "$case" --output "$work/runs" --only etkf_n40 --set stages.etkf_n40.members=3 \
  --set components.etkf.inflation.posterior_anomalies=1 --set stages.etkf_n40.cycles=2000 \
  --set stages.etkf_n40.divergence_rmse=2 > "$work/log" 2>&1
status=$?
grep -q "diverged at cycle" "$work/log" || { cat "$work/log"; echo "FAIL: a collapsed filter was not reported as diverged"; fail=1; }
[ $status -ne 0 ] || { echo "FAIL: a run whose every repetition diverged exited 0"; fail=1; }
exit $fail
