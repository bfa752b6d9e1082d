#!/usr/bin/env bash
# The Lorenz-96 EnKF benchmark at CI length (3000 cycles, 2 repetitions):
# each filter's (the EnKF-N's too) rmse.a must land in a band around the published value, no
# repetition may diverge, each repetition's rmse.a and their standard error
# are in the result, and a filter with a far too small ensemble and no
# inflation must be reported as diverged (its rmse.a above the truth's std,
# by default), not averaged.
# Cost: 58 s wall, 22 s CPU (2026-12-07, AMD EPYC, 2 cores at load 9, OMP_NUM_THREADS=1). It was
# 137 s alone and 260 s in CI because the filter stage scored every cycle with the CRPS and energy
# score, whose M x M member pairs made the particle filter's 700 cycles of 3000 members take 639 s
# (same machine and load; the stages' CPU 307 s) against 15 s of forecasts and analyses; the
# stage now scores the mean's RMSE and the spread only (scores::of_mean), 17 s for that stage,
# which gives the same rmse.a to the last digit (particle_n3000 0.258625 both ways), so the
# lengths below are kept: cutting the EnKF stages' 2600 averaged cycles would widen their
# standard errors (0.003-0.007 now) while their rmse.a lie at least 0.016 inside their bands.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
short=()
for s in etkf_n40 pertobs_n40 letkf_n10 enkf_n_n24 enkf_n_xn2_n24 etkf_additive_n24; do short+=(--set stages.$s.cycles=3000 --set stages.$s.repetitions=2); done
# The particle filter's 3000 particles cost 20 ms a cycle (10 forecast, 10 analysis): one short repetition.
short+=(--set stages.particle_n3000.cycles=700 --set stages.particle_n3000.repetitions=1)
"$assim" run "$case" --output "$work/runs" "${short[@]}" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
attribute() { ncdump -h "$work/runs/lorenz96_sakov2008/$1/filter.nc" | sed -n "s/.*:$2 = \(.*\) ;/\1/p"; }
check() {  # stage, low, high (published value in the middle)
  local value; value=$(attribute "$1" rmse_a)
  echo "$1: rmse.a = $value (band $2 .. $3), diverged repetitions: $(attribute "$1" diverged_repetitions)"
  awk -v v="$value" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }' || { echo "FAIL: $1 out of band"; fail=1; }
  [ "$(attribute "$1" diverged_repetitions)" = "0." ] || { echo "FAIL: $1 diverged"; fail=1; }
  local dump; dump=$(ncdump -v rmse_a_repetition,rmse_a_standard_error "$work/runs/lorenz96_sakov2008/$1/filter.nc")
  echo "$dump" | grep -Eq "rmse_a_repetition = 0\.[12][0-9]*, 0\.[12][0-9]* ;" || { echo "FAIL: $1 lacks each repetition's rmse.a"; fail=1; }
  echo "$dump" | grep -Eq "rmse_a_standard_error = [0-9.e-]+ ;" || { echo "FAIL: $1 lacks the standard error"; fail=1; }
  echo "$dump" | grep -q 'rmse_a_standard_error:units = "1"' || { echo "FAIL: $1's standard error has no units"; fail=1; }
  grep -q "filter repetition 1: rmse.a 0\.[12]" "$work/log" || { echo "FAIL: the log lacks each repetition's rmse.a"; fail=1; }
}
check etkf_n40 0.16 0.20      # published 0.18
check pertobs_n40 0.20 0.24   # published 0.22
check letkf_n10 0.18 0.22     # published 0.20
check enkf_n_n24 0.19 0.24    # DAPPER's comment 0.21, its rerun 0.217 (experiments/enkf/README.md)
check enkf_n_xn2_n24 0.16 0.20  # DAPPER's comment 0.18, its rerun 0.176
check etkf_additive_n24 0.24 0.31  # ours 0.274 at 20,000 x 5 (experiments/enkf/README.md); no published value
# sampler.particle resamples every analysis (NER 1); ours 0.25 at 1400 cycles, DAPPER's PartFilt
# NER 1 beside it (experiments/enkf/README.md).
pf=$(attribute particle_n3000 rmse_a)
echo "particle_n3000: rmse.a = $pf (band 0.18 .. 0.35), diverged repetitions: $(attribute particle_n3000 diverged_repetitions)"
awk -v v="$pf" 'BEGIN { exit !(v >= 0.18 && v <= 0.35) }' || { echo "FAIL: particle_n3000 out of band"; fail=1; }
[ "$(attribute particle_n3000 diverged_repetitions)" = "0." ] || { echo "FAIL: particle_n3000 diverged"; fail=1; }
"$assim" run "$case" --output "$work/runs" --only etkf_n40 --set stages.etkf_n40.members=3 \
  --set components.etkf.inflation.posterior_anomalies=1 --set stages.etkf_n40.cycles=2000 > "$work/log" 2>&1
status=$?
grep -Eq "diverged: rmse.a [0-9.]+ over cycles 400..2000 is above divergence_factor x the truth's std" "$work/log" ||
  { cat "$work/log"; echo "FAIL: a collapsed filter was not reported as diverged"; fail=1; }
[ $status -ne 0 ] || { echo "FAIL: a run whose every repetition diverged exited 0"; fail=1; }
exit $fail
