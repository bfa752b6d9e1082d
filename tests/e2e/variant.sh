#!/usr/bin/env bash
# --variant NAME keeps the results of --set settings beside the base ones:
# the stages the override changes (and those that read them) write to
# <stage>@NAME, the others are reused, and the base results stay as they were.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
runs=$work/runs/sweep
"$assim" run "$case" --output "$work/runs" > "$work/base" 2>&1 || { cat "$work/base"; echo "FAIL: base run"; exit 1; }
before=$(cat "$runs/seen_all_lo/stage.yaml" "$runs/scores/evaluation.nc" | md5sum)
"$assim" run "$case" --output "$work/runs" --set stages.seen_all_lo.noise.sigma=0.3 --variant noisy > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: variant run"; exit 1; }
for made in seen_all_lo@noisy letkf_all_lo@noisy scores@noisy; do
  [ -f "$runs/$made/stage.yaml" ] || { echo "FAIL: no $made"; fail=1; }
done
for shared in seen_all_hi@noisy letkf_cube_lo@noisy truth@noisy; do
  [ -e "$runs/$shared" ] && { echo "FAIL: $shared made, but the override does not change it"; fail=1; }
done
grep -q "stage truth (generate): unchanged, reusing" "$work/log" || { echo "FAIL: truth not reused"; fail=1; }
grep -q "stage letkf_cube_hi (assimilate): unchanged, reusing" "$work/log" || { echo "FAIL: letkf_cube_hi not reused"; fail=1; }
[ "$(cat "$runs/seen_all_lo/stage.yaml" "$runs/scores/evaluation.nc" | md5sum)" == "$before" ] \
  || { echo "FAIL: the base results changed"; fail=1; }
grep -q "variant: noisy" "$runs/seen_all_lo@noisy/stage.yaml" || { echo "FAIL: the record does not name the variant"; fail=1; }
grep -q "sigma: 0.3" "$runs/seen_all_lo@noisy/stage.yaml" || { echo "FAIL: the variant's settings are not recorded"; fail=1; }
"$assim" run "$case" --output "$work/runs" --variant "../x" > "$work/bad" 2>&1 && { echo "FAIL: a variant name with a path accepted"; fail=1; }
# A variant is found by its settings, not its name: another variant name with
# the same --set reads the results noisy computed.
"$assim" run "$case" --output "$work/runs" --set stages.seen_all_lo.noise.sigma=0.3 --variant again \
  --only letkf_all_lo > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: --variant again --only letkf_all_lo"; fail=1; }
grep -q "stage seen_all_lo: reading seen_all_lo@noisy, computed with this run's settings" "$work/log" \
  || { cat "$work/log"; echo "FAIL: seen_all_lo@noisy not found by its settings"; fail=1; }
[ -f "$runs/letkf_all_lo@again/stage.yaml" ] || { echo "FAIL: no letkf_all_lo@again"; fail=1; }
"$assim" run "$case" --output "$work/runs" --variant '' > "$work/bad" 2>&1 && { echo "FAIL: an empty variant name accepted"; fail=1; }
grep -q "a variant needs a name" "$work/bad" || { cat "$work/bad"; echo "FAIL: an empty variant name not explained"; fail=1; }
# A top-level value changes every stage that takes it as its default: with
# --variant they all go beside the base results, which stay as they were.
base=$(cat "$runs"/*/stage.yaml | md5sum)
"$assim" run "$case" --output "$work/runs" --set seed=7 --variant s7 > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: --set seed=7 --variant s7"; exit 1; }
grep -q "no --set changes any stage" "$work/log" && { echo "FAIL: --set seed=7 said to change no stage"; fail=1; }
"$assim" validate "$case" --set seed=7 --variant s7 > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: validate --variant"; fail=1; }
grep -q "^--variant s7 writes: truth@s7 " "$work/log" || { cat "$work/log"; echo "FAIL: validate --variant does not list truth@s7"; fail=1; }
[ -f "$runs/truth@s7/stage.yaml" ] || { echo "FAIL: truth@s7 not made by --set seed=7"; fail=1; }
grep -q "seed: 7" "$runs/truth@s7/stage.yaml" || { echo "FAIL: truth@s7 does not record seed 7"; fail=1; }
[ "$(cat "$runs"/*[^7]/stage.yaml | md5sum)" == "$base" ] || { echo "FAIL: --set seed=7 --variant s7 replaced base results"; fail=1; }
[ "$fail" -eq 0 ] && echo "the variant's results sit beside the base ones, sharing what did not change"
exit $fail
