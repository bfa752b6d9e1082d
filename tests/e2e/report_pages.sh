#!/usr/bin/env bash
# The report pages of a sweep and of a run on observations read from a file,
# looked at in headless Chromium with the checks every report page passes
# (report_page.sh: images drawn as stated, no clipped plot text, no page wider
# than the window, "-" and never nan for an absent number, no path of the
# machine, provenance once each), and what each page must show:
# - report_sweep.yaml: the scores over the sweep, one error-bar plot of the
#   RMSE against the first swept setting with a line per value of the other,
#   and no heatmap (the runs share one observation design);
# - report_obsfile.yaml: the runs on the file's observations, whose observe
#   stage names the file relative to the experiment, and no heatmap either.
set -u
assim=$1 case=$2
name=$(sed -n 's/^name: *//p' "$case")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/report_page.sh"
cp "$case" "$work/$name.yaml"
run() { OMP_NUM_THREADS=1 "$assim" run "$work/$name.yaml" --output "$work/runs" --workers 1 --threads 1 "$@" \
          > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: run $*"; exit 1; }; }
if grep -q 'file: obs.nc' "$case"; then
  # The file the read stage names is the drawn stage's export: made by a first
  # run of the drawing stages (the read stage drawing too), then put beside the experiment.
  run --only truth --only drawn --set 'stages.read.file=""'
  cp "$work/runs/$name/drawn/obs.nc" "$work/obs.nc"
fi
run
page=$work/runs/$name/report/report
shots=${REPORT_SCREENSHOT_DIR:-$work}
repo=$(cd "$(dirname "$case")/../.." && pwd) build=$(cd "$(dirname "$assim")/../.." && pwd)
report_page_check "$page" "$shots/$name.png" "$work" "$repo" "$build" || exit 1
html=$page/index.html
heatmaps=$(report_page_heatmaps "$page")
[ "$heatmaps" = 0 ] || { echo "FAIL: $heatmaps heatmap(s) of a single observation design"; exit 1; }
fail=0
has() { grep -qF -- "$1" "$html" || { echo "FAIL: the page lacks $2 ('$1')"; fail=1; }; }
# One seed: the spread of the RMSE over seeds is absent, shown as "-" in every run's row.
seed_std=$(report_page_column "$page" rmse_seed_std | sort -u | tr '\n' ' ')
[ "$seed_std" = "- " ] || { echo "FAIL: rmse_seed_std over one seed is '$seed_std', not '-' in every row"; fail=1; }
case $name in
  report_sweep)
    has '<h2>Scores over the sweep</h2>' "the sweep's section"
    # The sweep's plot right below the scores, before the observation-space section.
    [ "$(grep -o '<h2>[^<]*</h2>' "$html" | head -2 | tail -1)" = '<h2>Scores over the sweep</h2>' ] \
      || { echo "FAIL: the sweep's section is not the second:"; grep -o '<h2>[^<]*</h2>' "$html"; fail=1; }
    # One line per inflation, three radii each, with error bars.
    for infl in 1 1.1; do has ">infl $infl<" "the line of inflation $infl"; done
    has '>radius<' "the swept setting on the x axis"
    # An error bar is three strokes (the bar and its two ends): one bar per run.
    strokes=$(sed -n '/<h2>Scores over the sweep/,/<h2>/p' "$html" | grep -o '<line class="error"' | wc -l)
    [ "$strokes" = 18 ] || { echo "FAIL: $strokes error-bar strokes over the sweep, not 3 for each of 6 runs"; fail=1; }
    for r in 2 4 8; do for i in 1p0 1p1; do has "run_radius${r}_infl${i}" "run radius $r inflation $i"; done; done ;;
  report_obsfile)
    for run in letkf_read var_read; do has ">$run, frame 0<" "the lines of $run"; done
    has 'obs.nc' "the observation file's name"
    # One operator channel: its Desroziers's ratios in the table, not as two markers on a plot's border.
    ! grep -q "Desroziers's ratios (1: consistent" "$html" || { echo "FAIL: Desroziers's ratios drawn against one channel"; fail=1; }
    has '<h2>Observation space</h2>' "the observation-space section" ;;
  *) echo "FAIL: no checks for experiment '$name'"; exit 1 ;;
esac
[ $fail = 0 ] && echo "the $name page reads in Chromium"
exit $fail
