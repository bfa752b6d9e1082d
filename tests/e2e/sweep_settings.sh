#!/usr/bin/env bash
# Sweeping a component's settings (the README's example, which names this
# test): a LETKF written once over radius and inflation expands into one
# component and one run per combination, named from the values, the numbers
# reach the component as numbers, and the evaluate stage collects the runs
# into one NetCDF over the sweep's dimensions.
set -u
assim=$1 readme=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
awk '/^```yaml/ { inside = 1; block = ""; next }
     /^```/ && inside { inside = 0; if (block ~ /tests\/e2e\/sweep_settings.sh/) { printf "%s", block; exit } next }
     inside { block = block $0 "\n" }' "$readme" > "$work/sweep.yaml"
[ -s "$work/sweep.yaml" ] || { echo "FAIL: no yaml block of README.md names tests/e2e/sweep_settings.sh"; exit 1; }
"$assim" validate "$work/sweep.yaml" --print > "$work/print" 2>&1 || { cat "$work/print"; echo "FAIL: validate"; exit 1; }
runs="run_radius2_infl1p0 run_radius2_infl1p1 run_radius4_infl1p0 run_radius4_infl1p1 run_radius8_infl1p0 run_radius8_infl1p1"
grep -q "stages in order: truth seen $runs scores" "$work/print" \
  || { echo "FAIL: not one run per combination, in order:"; tail -1 "$work/print"; fail=1; }
# The values reach the components as YAML numbers (unquoted), one component each.
for r in 2 4 8; do
  for i in 1.0 1.1; do
    name=letkf_radius${r}_infl${i/./p}
    grep -Eq "^  $name: \{type: sampler\.enkf, method: letkf, localisation: \{radius: $r[,}].*inflation: \{posterior_anomalies: $i[,}]" "$work/print" \
      || { echo "FAIL: component $name does not hold radius $r and inflation $i as numbers:"; grep "$name:" "$work/print"; fail=1; }
    grep -q "^  run_radius${r}_infl${i/./p}: {run: assimilate, .*sampler: \$$name," "$work/print" \
      || { echo "FAIL: run_radius${r}_infl${i/./p} does not use $name"; fail=1; }
  done
done
grep -q '^  letkf_radius<' "$work/print" && { echo "FAIL: the component template is left in the experiment"; fail=1; }
grep -q 'scores: {run: evaluate, .*sweep: {dims: \[radius, infl\], values: \[2, 1.0, 2, 1.1, 4, 1.0, 4, 1.1, 8, 1.0, 8, 1.1\], templates: \[run_radius<radius>_infl<infl>, ' "$work/print" \
  || { echo "FAIL: the evaluate stage was not given the runs' coordinates:"; grep "scores:" "$work/print"; fail=1; }

OMP_NUM_THREADS=1 "$assim" run "$work/sweep.yaml" --output "$work/runs" --workers 1 --threads 1 > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: run"; exit 1; }
# The numbers reached the component that ran: its record's settings.
record=$(find "$work/runs" -path "*run_radius8_infl1p1*" -name stage.yaml | head -1)
[ -n "$record" ] || { echo "FAIL: no record of run_radius8_infl1p1"; ls -R "$work/runs" | head -40; exit 1; }
grep -Eq "radius: 8$" "$record" && grep -Eq "posterior_anomalies: 1\.1$" "$record" \
  || { echo "FAIL: the record of run_radius8_infl1p1 lacks radius 8 and inflation 1.1:"; cat "$record"; fail=1; }

# A variable's values in a CDL text, without spaces and the final ';'.
values() { awk -v v="$2" '/^data:/ { data = 1 } data && $1 == v && $2 == "=" { on = 1; sub(/^.*= */, "") }
                          on { printf "%s", $0 } on && /;/ { exit }' "$1" | tr -d ' ;'; }
nc=$(find "$work/runs" -path "*scores*" -name sweep.nc | head -1)
[ -n "$nc" ] || { echo "FAIL: the evaluate stage wrote no sweep.nc"; ls -R "$work/runs" | head -40; exit 1; }
ncdump "$nc" > "$work/cdl"
grep -q "radius = 3 ;" "$work/cdl" && grep -q "infl = 2 ;" "$work/cdl" \
  || { echo "FAIL: the dims are not sized by the sweep:"; sed -n '/^dimensions/,/^variables/p' "$work/cdl"; fail=1; }
grep -q "double radius(radius) ;" "$work/cdl" && grep -q "double infl(infl) ;" "$work/cdl" \
  || { echo "FAIL: the coordinates are not numbers:"; grep "radius\|infl" "$work/cdl" | head; fail=1; }
grep -Eq "^ radius = 2, 4, 8 ;" "$work/cdl" && grep -Eq "^ infl = 1, 1.1 ;" "$work/cdl" \
  || { echo "FAIL: the coordinates are not the swept values:"; grep -E "^ (radius|infl) =" "$work/cdl"; fail=1; }
for score in rmse_sample rmse rmse_se spread spread_se crps crps_se calibration; do
  grep -q "double $score(radius, infl) ;" "$work/cdl" || { echo "FAIL: no $score over (radius, infl)"; fail=1; }
  # Every cell holds a run: no NaN where a score exists.
  cells=$(values "$work/cdl" "$score")
  [ -n "$cells" ] || { echo "FAIL: no values of $score"; fail=1; continue; }
  [ "$(echo "$cells" | tr ',' '\n' | grep -c .)" -eq 6 ] || { echo "FAIL: $score has not 6 cells: $cells"; fail=1; }
  echo "$cells" | grep -qi "nan\|_" && { echo "FAIL: $score has NaN or fill values: $cells"; fail=1; }
done
[ "$(values "$work/cdl" run_index)" == "0,1,2,3,4,5" ] || { echo "FAIL: run_index is not the runs in order"; grep -A3 "^ run_index =" "$work/cdl"; fail=1; }
# The same numbers as the evaluation of the six runs, cell by cell.
ncdump "$(dirname "$nc")/evaluation.nc" > "$work/evaluation"
for score in rmse crps spread; do
  [ "$(values "$work/cdl" $score)" == "$(values "$work/evaluation" $score)" ] \
    || { echo "FAIL: $score over the sweep is not the evaluation's: $(values "$work/cdl" $score) vs $(values "$work/evaluation" $score)"; fail=1; }
done

# A run not made over a dimension is at its setting there: the radius the
# file gives it (6), the inflation's default (1, the same value as 1.0).
{ sed -n '1,/^components:/p' "$work/sweep.yaml"
  echo '  letkf_plain: {type: sampler.enkf, method: letkf, localisation: {radius: 6}}'
  sed -n '/^components:/,$p' "$work/sweep.yaml" | tail -n +2
  echo '  plain: {run: assimilate, observations: $seen, sampler: $letkf_plain, model: $l96, members: 8, windows: 4}'
  echo '  scores_all: {run: evaluate, of: [$run_radius<radius>_infl<infl>, $plain]}'
  echo '  report: {run: report, of: [$scores_all]}'; } > "$work/defaults.yaml"
"$assim" validate "$work/defaults.yaml" --print > "$work/print" 2>&1 || { cat "$work/print"; echo "FAIL: validate"; exit 1; }
grep -q 'scores_all: .*values: \[2, 1.0, 2, 1.1, 4, 1.0, 4, 1.1, 8, 1.0, 8, 1.1, 6, 1\]' "$work/print" \
  || { echo "FAIL: the run without the sweep's settings is not at them:"; grep "scores_all:" "$work/print"; fail=1; }
OMP_NUM_THREADS=1 "$assim" run "$work/defaults.yaml" --output "$work/runs" --workers 1 --threads 1 > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: run"; exit 1; }
ncdump "$(find "$work/runs" -path "*scores_all*" -name sweep.nc | head -1)" > "$work/all" \
  || { echo "FAIL: no sweep.nc of scores_all"; exit 1; }
[ "$(values "$work/all" radius)" == "2,4,6,8" ] && [ "$(values "$work/all" infl)" == "1,1.1" ] \
  && [ "$(values "$work/all" run_index)" == "0,1,2,3,6,-1,4,5" ] \
  || { echo "FAIL: the plain run is not at radius 6, inflation 1:"; sed -n '/^data/,/rmse_sample =/p' "$work/all"; fail=1; }
values "$work/all" rmse | cut -d, -f6 | grep -qx "NaN" \
  || { echo "FAIL: the cell without a run (radius 6, inflation 1.1) is not empty: $(values "$work/all" rmse)"; fail=1; }
# The report draws the RMSE against the radius, a line per inflation, with
# an error bar (3 strokes) at each of the 7 cells that hold a run.
page=$(find "$work/runs" -path "*report*" -name "*.html" | head -1)
[ -n "$page" ] || { echo "FAIL: no report page"; exit 1; }
grep -q "<h2>Scores over the sweep</h2>" "$page" && grep -q "RMSE of the mean against radius" "$page" \
  || { echo "FAIL: the report has no panel of the RMSE against the radius"; fail=1; }
[ "$(grep -o 'class="error"' "$page" | wc -l)" -eq 21 ] \
  || { echo "FAIL: not 7 error bars: $(grep -o 'class="error"' "$page" | wc -l) strokes"; fail=1; }
grep -q ">infl 1.1<" "$page" || { echo "FAIL: no line for inflation 1.1 in the legend"; fail=1; }
# Labelled numbers that are one number (1.1, 1.10) are coordinates by their labels.
sed 's/^  infl:   \[1.0, 1.1\]$/  infl:   {lo: 1.1, also_lo: 1.10}/' "$work/sweep.yaml" > "$work/labels.yaml"
"$assim" validate "$work/labels.yaml" --print > "$work/print" 2>&1 || { cat "$work/print"; echo "FAIL: validate"; exit 1; }
grep -q 'scores: .*values: \[2, lo, 2, also_lo, 4, lo,' "$work/print" \
  || { echo "FAIL: equal labelled numbers are not told apart by their labels:"; grep "scores:" "$work/print"; fail=1; }
[ "$fail" -eq 0 ] && echo "the sweep over the LETKF's settings expanded, ran and was collected"
exit $fail
