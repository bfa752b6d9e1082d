#!/usr/bin/env bash
# experiments/ensf/lorenz96_arctan.yaml at CI length: the experiment validates,
# and 200 cycles of its joint EnSF and its LETKF run without a divergence,
# each rmse.a below the truth's std (3.6) by far. The bands are the
# measured 200-cycle values (plugins/ensf/README.md) with room for other
# seeds' noise: EnSF 1.73, LETKF 0.068.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$assim" validate "$case" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
short=()
for s in ensf_n20 letkf_n20; do short+=(--only $s --set stages.$s.cycles=200 --set stages.$s.burn_in=50); done
"$assim" run "$case" --threads 1 --output "$work/runs" "${short[@]}" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
attribute() { ncdump -h "$work/runs/lorenz96_arctan/$1/filter.nc" | sed -n "s/.*:$2 = \(.*\) ;/\1/p"; }
fail=0
check() {  # stage, high
  local value; value=$(attribute "$1" rmse_a)
  echo "$1: rmse.a = $value (below $2), diverged repetitions: $(attribute "$1" diverged_repetitions)"
  awk -v v="$value" -v hi="$2" 'BEGIN { exit !(v <= hi) }' || { echo "FAIL: $1 above $2"; fail=1; }
  [ "$(attribute "$1" diverged_repetitions)" = "0." ] || { echo "FAIL: $1 diverged"; fail=1; }
}
check ensf_n20 2.5
check letkf_n20 0.15
exit $fail
