#!/usr/bin/env bash
# A sweep expands into one stage per combination, with the values and labels
# put in, lists expanded in the declared order (the first dimension slowest)
# and each element over its own dimensions,
# and runs; an override reaches one expanded stage only.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
"$assim" validate "$case" --print > "$work/print" 2>&1 || { cat "$work/print"; echo "FAIL: validate"; exit 1; }
grep -q "stages in order: truth seen_all_lo seen_all_hi seen_cube_lo seen_cube_hi letkf_all_lo" "$work/print" \
  || { echo "FAIL: not one stage per combination, in order:"; tail -1 "$work/print"; fail=1; }
grep -q 'seen_cube_hi: {run: observe, data: $truth, operator: $cube,.*noise: {sigma: 0.5' "$work/print" \
  || { echo "FAIL: values not put in:"; grep seen_cube_hi "$work/print"; fail=1; }
grep -q 'scores: {run: evaluate, of: \[$letkf_all_lo, $letkf_all_hi, $letkf_cube_lo, $letkf_cube_hi\]' "$work/print" \
  || { echo "FAIL: the list did not expand in order:"; grep "scores:" "$work/print"; fail=1; }
# Each element of a list expands over its own dimensions, none repeated:
# 2 + 2 references, not 2 x 2 x 2.
{ cat "$case"; echo '  both: {run: report, of: [$letkf_<op>_hi, $letkf_all_<sigma>]}'; } > "$work/lists.yaml"
"$assim" validate "$work/lists.yaml" --print > "$work/lists" 2>&1 || { cat "$work/lists"; fail=1; }
grep -q 'both: {run: report, of: \[$letkf_all_hi, $letkf_cube_hi, $letkf_all_lo, $letkf_all_hi\]' "$work/lists" \
  || { echo "FAIL: the elements of a list did not expand each over its own dimensions:"; grep "both:" "$work/lists"; fail=1; }
"$assim" validate "$case" --print --set stages.seen_all_lo.noise.sigma=0.3 > "$work/set" 2>&1 || { cat "$work/set"; fail=1; }
grep -q 'seen_all_lo: .*noise: {sigma: 0.3' "$work/set" && grep -q 'seen_all_hi: .*noise: {sigma: 0.5' "$work/set" \
  && grep -q 'seen_cube_lo: .*noise: {sigma: 0.1' "$work/set" \
  || { echo "FAIL: --set on one expanded stage changed others (or not it)"; grep "seen_" "$work/set"; fail=1; }
"$assim" run "$case" --output "$work/runs" > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: run"; exit 1; }
[ "$(grep -c "sampler.enkf" "$work/runs/sweep/scores/evaluation.txt")" -eq 4 ] \
  || { echo "FAIL: the evaluation does not hold the four runs"; cat "$work/runs/sweep/scores/evaluation.txt"; fail=1; }
# The runs collected over the sweep: labels where the values are not numbers
# (operators), numbers where they are (the label map's sigmas).
ncdump "$work/runs/sweep/scores/sweep.nc" > "$work/sweep.cdl" 2>&1 || { cat "$work/sweep.cdl"; fail=1; }
grep -q "string op(op) ;" "$work/sweep.cdl" && grep -q "double sigma(sigma) ;" "$work/sweep.cdl" \
  && grep -q '^ op = "all", "cube" ;' "$work/sweep.cdl" && grep -q "^ sigma = 0.1, 0.5 ;" "$work/sweep.cdl" \
  && grep -q "double rmse(op, sigma) ;" "$work/sweep.cdl" \
  || { echo "FAIL: sweep.nc is not over op (labels) and sigma (numbers):"; head -40 "$work/sweep.cdl"; fail=1; }
# States of one dim are drawn as time (6 frames) by space (12 sites), scaled by a whole factor.
picture=$work/runs/sweep/report/report/letkf_cube_hi_w0_s0_truth.png
[ -f "$picture" ] || { echo "FAIL: no time-by-space picture of the Lorenz-96 window"; fail=1; }
size=$(python3 -c "import struct,sys; d=open(sys.argv[1],'rb').read(24); w,h=struct.unpack('>II',d[16:24]); print(w % 12, h % 6, w // 12 == h // 6)" "$picture")
[ "$size" == "0 0 True" ] || { echo "FAIL: the picture is not 12 sites by 6 frames scaled alike ($size)"; fail=1; }
[ "$fail" -eq 0 ] && echo "the sweep expanded as declared and ran"
exit $fail
