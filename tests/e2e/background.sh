#!/usr/bin/env bash
# The two kinds of background: truth plus N(0, sigma_b^2) has error std
# sigma_b; a one-frame forecast of the perturbed previous state starts its
# windows at frame 1 and has a smaller, nonzero error (the model damps the
# grid-scale part of the perturbation).
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$assim" run "$case" --output "$work/runs" > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: run"; exit 1; }
. "$(dirname "$0")/netcdf_values.sh"
error_std() {  # background minus frame 0 of the truth, over all windows, layers and points
  local f=$work/runs/bg/$1/observations.nc
  paste <(values "$f" background) <(values "$f" truth | awk -v n=$((9 * 2 * 32 * 32)) -v m=$((2 * 32 * 32)) \
    '{ if ((NR - 1) % n < m) print }') | awk '{ d = $1 - $2; s += d; ss += d * d; n++ } END { printf "%.4f", sqrt(ss / n - (s / n) ^ 2) }'
}
fail=0
plain=$(error_std plain) forecast=$(error_std forecast)
echo "background error std: truth + noise $plain, forecast $forecast"
awk -v v="$plain" 'BEGIN { exit !(v > 0.097 && v < 0.103) }' || { echo "FAIL: truth + N(0, 0.1^2) has error std $plain"; fail=1; }
awk -v v="$forecast" 'BEGIN { exit !(v > 0.02 && v < 0.097) }' || { echo "FAIL: forecast background error std $forecast"; fail=1; }
[ "$(values "$work/runs/bg/forecast/observations.nc" window_start | tr -d ' ' | paste -sd,)" = "1,10,1,10" ] \
  || { echo "FAIL: forecast-background windows do not start at frame 1"; fail=1; }
exit $fail
