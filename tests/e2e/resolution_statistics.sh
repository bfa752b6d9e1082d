#!/usr/bin/env bash
# experiments/score/resolution_statistics.py on a small QG truth (32 x 32 over
# 500 km, pyqg's physics, five years of spin-up, 12 snapshots): block-averaging by 2
# must lower the neighbour correlation and double the spacing, the peak stays
# at the same wavelength in km (the eddies do not change size) and halves in
# grid points, and the figure is written with one curve per grid.
set -u
assim=$1 script=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/truth.yaml" <<'YAML'
name: resolution_test
seed: 4
components:
  qg: {type: model.qg, nx: 32, L: 500e3, dt: 7200}
stages:
  truth: {run: generate, model: $qg, trajectories: 2, spinup: 5 years, sample_every: 5 days, frames: 6}
YAML
"$assim" run "$work/truth.yaml" --output "$work/runs" --log-level warning > "$work/log" 2>&1 ||
  { cat "$work/log"; echo "FAIL: generate"; exit 1; }
"$script" "$work/runs/resolution_test/truth/data.nc" 1,2 "$work/spectra.svg" > "$work/table" 2>&1 ||
  { cat "$work/table"; echo "FAIL: the script"; exit 1; }
cat "$work/table"
row() { grep "^| $1 x $1 |" "$work/table" | tr -d ' ' ; }
fine=$(row 32) coarse=$(row 16)
[ -n "$fine" ] && [ -n "$coarse" ] || { echo "FAIL: a grid's row is missing"; exit 1; }
field() { echo "$1" | awk -F'|' -v i="$2" '{ print $i }'; }
fail=0
[ "$(field "$fine" 3)" = 15.6 ] && [ "$(field "$coarse" 3)" = 31.2 ] || { echo "FAIL: spacings"; fail=1; }
awk -v f="$(field "$fine" 4 | cut -d/ -f1)" -v c="$(field "$coarse" 4 | cut -d/ -f1)" \
  'BEGIN { exit !(f > c && c > 0 && f < 1) }' || { echo "FAIL: coarsening did not lower the neighbour correlation"; fail=1; }
[ "$(field "$fine" 5)" = "$(field "$coarse" 5)" ] || { echo "FAIL: the peak wavelength in km changed"; fail=1; }
awk -v f="$(field "$fine" 6)" -v c="$(field "$coarse" 6)" 'BEGIN { exit !(f == 2 * c) }' ||
  { echo "FAIL: the peak in grid points did not halve"; fail=1; }
[ "$(grep -c '<polyline' "$work/spectra.svg")" = 2 ] || { echo "FAIL: the figure has not one curve per grid"; fail=1; }
exit $fail
