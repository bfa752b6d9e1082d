#!/usr/bin/env bash
# 4D-Var by autograd through Lorenz-96 on windows of 5 frames, half the
# sites observed with unit noise and a background of unit error: strong and
# weak constraint (and strong with B from a climatology) end well below both
# errors, in every frame including 0;
# one member has no spread (absent, not zero); an ensemble of data
# assimilations has a spread that matches its error; J per iteration is in
# the result and falls. The stage record and
# the log name the BLAS, CPU capability and threads.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$assim" run "$case" --output "$work/runs" > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: run"; exit 1; }
. "$(dirname "$0")/netcdf_values.sh"
mean() { values "$work/runs/var/$1/assimilation.nc" "$2" | awk '{ s += $1; n++ } END { printf "%.4f", s / n }'; }
frame0() {  # RMSE of frame 0: every 5th value of (window, seed, time)
  values "$work/runs/var/$1/assimilation.nc" rmse | awk '(NR - 1) % 5 == 0 { s += $1; n++ } END { printf "%.4f", s / n }'
}
fail=0
for stage in strong4d weak4d clim4d; do
  rmse=$(mean $stage rmse) first=$(frame0 $stage)
  echo "$stage: RMSE $rmse (frame 0: $first) against background and observation errors of 1"
  awk -v v="$rmse" -v f="$first" 'BEGIN { exit !(v < 0.8 && f < 0.9) }' || { echo "FAIL: $stage does not reduce the error"; fail=1; }
  values "$work/runs/var/$stage/assimilation.nc" ensemble_spread | grep -qv NaN && { echo "FAIL: $stage's one member has a spread"; fail=1; }
done
rmse=$(mean eda rmse) spread=$(mean eda ensemble_spread)
echo "eda (6 members): RMSE of the mean $rmse, spread $spread"
awk -v r="$rmse" -v s="$spread" 'BEGIN { c = sqrt(7 / 6) * s / r; exit !(r < 0.8 && c > 0.7 && c < 1.4) }' \
  || { echo "FAIL: the ensemble of data assimilations is not calibrated"; fail=1; }
# J after each L-BFGS iteration is in the result, and falls monotonically (window 0).
n=$(ncdump -h "$work/runs/var/strong4d/assimilation.nc" | awk '$1 == "iteration" && $2 == "=" { print $3 }')
[ -n "$n" ] && values "$work/runs/var/strong4d/assimilation.nc" cost | head -n "$n" | grep -v NaN |
  awk 'NR > 1 && $1 > last * (1 + 1e-12) { bad = 1 } { last = $1; count++ } END { exit bad || count < 3 }' \
  || { echo "FAIL: no monotone J per iteration in the result (iterations: ${n:-none})"; fail=1; }
values "$work/runs/var/strong4d/assimilation.nc" gradient_norm > /dev/null || { echo "FAIL: no |grad J| per iteration"; fail=1; }
# The record says what the numbers ran on.
for key in blas cpu_capability threads; do
  grep -Eq "^  $key: [^ ]" "$work/runs/var/strong4d/stage.yaml" || { echo "FAIL: stage.yaml has no machine $key"; fail=1; }
done
grep -q "machine: .*BLAS" "$work/log" || { echo "FAIL: the run's log does not say which BLAS it uses"; fail=1; }
exit $fail
