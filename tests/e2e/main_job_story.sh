#!/usr/bin/env bash
# The main job (experiments/bayesian_view/demo.yaml, whole, on its fixed seeds)
# tells the papers' two stories: with the truth's own model 4D-Var's RMSE of
# one sample is below SOAD's (the classical methods win when the dynamics are
# known), and with the wrong model the best learned method (F_w, SDA or SOAD)
# is below the LETKF (they win when the dynamics are wrong).
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$assim" run "$case" --output "$work/runs" --log-level warning > "$work/log" 2>&1 ||
  { cat "$work/log"; echo "FAIL: run"; exit 1; }
scores="$work/runs/bayesian_view_demo/scores"
cat "$scores/evaluation.txt"
# run NAME -> its rmse_sample, from the evaluation product.
ncdump -v run,rmse_sample "$scores/evaluation.nc" | sed -n '/^data:/,$p' | tr -d '\n' |
  sed 's/.*run = \([^;]*\);.*rmse_sample = \([^;]*\);.*/\1\n\2/' | tr -d ' "' > "$work/columns"
rmse() {
  awk -F, -v run="$1" 'NR == 1 { for (i = 1; i <= NF; i++) at[$i] = i } NR == 2 { print $at[run] }' "$work/columns"
}
var4d=$(rmse by_var4d_strong) soad=$(rmse by_soad) letkf_wrong=$(rmse by_letkf_wrong_model)
learned=$(printf '%s\n' "$(rmse by_estimator)" "$(rmse by_sda)" "$(rmse by_soad)" | sort -g | head -1)
echo "true model: 4D-Var strong $var4d, SOAD $soad; wrong model: LETKF $letkf_wrong, best learned $learned"
fail=0
awk -v a="$var4d" -v b="$soad" 'BEGIN { exit !(a > 0 && a < b) }' ||
  { echo "FAIL: with the true model 4D-Var ($var4d) is not below SOAD ($soad)"; fail=1; }
awk -v a="$learned" -v b="$letkf_wrong" 'BEGIN { exit !(a > 0 && a < b) }' ||
  { echo "FAIL: with the wrong model no learned method ($learned) is below the LETKF ($letkf_wrong)"; fail=1; }
exit $fail
