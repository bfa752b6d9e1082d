#!/usr/bin/env bash
# A learned estimator x = F_w(y) from YAML: the train stage fits it on pairs
# drawn through the observe stage's design, the assimilate stage loads it,
# and its estimate is far better than the climatology (half of it at most)
# though not as good as 4D-Var with the true model on the same observations;
# its one member has no spread (absent, not zero, and printed as absent), and
# the table's columns line up whatever the sampler's name; the fit's loss curve has a
# held-out column; the stage record names the design it was trained through.
# Trained through a design with a forecast background, it draws its pairs'
# backgrounds so and learns as well. Trained over masks of 1 and 1/4 of the
# sites, it learns and estimates the windows observed on half of them.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$assim" run "$case" --output "$work/runs" > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: run"; exit 1; }
. "$(dirname "$0")/netcdf_values.sh"
mean() { values "$work/runs/fw/$1/assimilation.nc" "$2" | awk '{ s += $1; n++ } END { printf "%.4f", s / n }'; }
fail=0
fw=$(mean by_fw rmse_sample) var=$(mean by_var rmse_sample)
clim=$(values "$work/runs/fw/scores/evaluation.nc" climatology | head -1)
echo "F_w RMSE $fw, 4D-Var $var, climatology $clim (normalised units)"
awk -v f="$fw" -v c="$clim" 'BEGIN { exit !(f < 0.5 * c) }' || { echo "FAIL: F_w does not learn"; fail=1; }
awk -v f="$fw" -v v="$var" 'BEGIN { exit !(v < f) }' || { echo "FAIL: F_w beats 4D-Var with the true model"; fail=1; }
values "$work/runs/fw/by_fw/assimilation.nc" ensemble_spread | grep -qv NaN && { echo "FAIL: F_w's one member has a spread"; fail=1; }
# The printed table shows the absent spread as absent: "-" in by_fw's spread column, no "nan" anywhere.
table="$work/runs/fw/scores/evaluation.txt"
awk '$1 == "run" { for (i = 1; i <= NF; i++) if ($i == "spread") col = i }
     $1 == "by_fw" { found = 1; exit ($col != "-") } END { if (!found) exit 1 }' "$table" ||
  { echo "FAIL: by_fw's spread is not printed as absent"; cat "$table"; fail=1; }
grep -qi "nan" "$table" && { echo "FAIL: evaluation.txt prints nan"; fail=1; }
# Each column as wide as its widest cell: every row's numbers end where their
# header does, after a sampler name longer than the others (sampler.estimator).
awk 'NF == 0 { exit }
     { s = $0; at = 0; ends = ""
       for (k = 1; match(s, /[^ ]+/); ++k) { at += RSTART + RLENGTH - 1; if (k > 2) ends = ends " " at; s = substr(s, RSTART + RLENGTH) }
       if (NR == 1) header = ends; else if (ends != header) bad = 1 }
     END { exit bad }' "$table" || { echo "FAIL: the columns of evaluation.txt do not line up"; cat "$table"; fail=1; }
fc=$(mean by_fw_fc rmse_sample)
echo "F_w through the forecast-background design: RMSE $fc"
awk -v f="$fc" -v c="$clim" 'BEGIN { exit !(f < 0.5 * c) }' || { echo "FAIL: F_w does not learn with a forecast background"; fail=1; }
grep -q "through stage 'obs_fc'.*a forecast background" "$work/log" || { echo "FAIL: the pairs of fit_fc have no forecast background"; fail=1; }
dens=$(mean by_fw_densities rmse_sample)
echo "F_w trained over masks of 1 and 1/4 of the sites, on half of them: RMSE $dens"
awk -v f="$dens" -v c="$clim" 'BEGIN { exit !(f < 0.5 * c) }' || { echo "FAIL: F_w over several densities does not learn"; fail=1; }
grep -q "through stage 'obs'.*a fresh random mask per pair of 1, 0.25 of the points" "$work/log" ||
  { echo "FAIL: fit_densities does not draw its masks from 1 and 0.25"; fail=1; }
csv="$work/runs/fw/fit/training.csv"
[ "$(head -1 "$csv")" = "epoch,train_loss,validation_loss,seconds" ] || { echo "FAIL: no loss curve"; fail=1; }
awk -F, 'NR > 1 && $3 == "" { bad = 1 } END { exit bad }' "$csv" || { echo "FAIL: no held-out loss"; fail=1; }
grep -q "design: \$obs" "$work/runs/fw/fit/stage.yaml" || { echo "FAIL: the record does not name the design"; fail=1; }
exit $fail
