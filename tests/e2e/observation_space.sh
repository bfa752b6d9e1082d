#!/usr/bin/env bash
# Observation-space diagnostics of an ETKF on Lorenz-96 (observation_space.yaml):
# told the true R, Desroziers's R ratio E[d_oa d_ob] / sigma_o^2 is within 5 %
# of 1 and the B ratio and chi^2 / N are near 1; told twice the drawn
# variance, the R ratio shows it (about (HBH^T + R) / (HBH^T + 2R)). Every
# diagnostic is in evaluation.nc with units and a long name, and in the table.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$assim" run "$case" --output "$work/runs" > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: run"; exit 1; }
file="$work/runs/observation_space/scores/evaluation.nc"
table="$work/runs/observation_space/scores/evaluation.txt"
sed -n '/In observation space/,$p' "$table"
fail=0
# The values of a (run, obs_channel) variable, one run a line.
values() { ncdump -v "$1" "$file" | sed -n "/^ $1 =/,/;/p" | tr -d ' ;' | sed "s/^$1=//" | tr ',' '\n' | grep -v '^$'; }
within() {  # name, run index, low, high
  local v; v=$(values "$1" | sed -n "$(($2 + 1))p")
  echo "$1[run $2] = $v (expected $3 .. $4)"
  awk -v v="$v" -v lo="$3" -v hi="$4" 'BEGIN { exit !(v + 0 == v && v >= lo && v <= hi) }' ||
    { echo "FAIL: $1 of run $2 is $v, not in $3 .. $4"; fail=1; }
}
within desroziers_r 0 0.95 1.05   # R as drawn: consistent
within desroziers_r 1 0.45 0.60   # R told twice the drawn: (HBH^T + R) / (HBH^T + 2R), near 0.5
within desroziers_b 0 0.7 1.3
within chi2 0 0.8 1.2
within dfs_fraction 0 0.01 0.5    # tr(HK) / N = HBH^T / (HBH^T + R) per observation, small for a good forecast
within count_oa 0 24000 24000     # 40 sites x 600 frames
for v in count_oa oma_bias oma_rms oma_rms_member count_ob omb_bias omb_rms desroziers_r desroziers_b chi2 dfs \
         dfs_fraction oma_rms_per_frame omb_rms_per_frame obs_rank_histogram_a obs_rank_histogram_b obs_spread_b \
         obs_calibration_b; do
  ncdump -h "$file" | grep -q "$v:long_name = " || { echo "FAIL: $v has no long_name"; fail=1; }
  ncdump -h "$file" | grep -q "$v:units = " || { echo "FAIL: $v has no units"; fail=1; }
done
grep -q "^etkf_true_r  *0 " "$table" || { echo "FAIL: the table has no row of etkf_true_r's channel 0"; fail=1; }
if grep -Eiw -- '-?(nan|inf)' "$table"; then echo "FAIL: the table prints nan or inf for an absent number"; fail=1; fi
exit $fail
