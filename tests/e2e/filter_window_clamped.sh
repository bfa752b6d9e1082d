#!/usr/bin/env bash
# A filter's sliding 4D-Var window longer than its cycles never fills: the
# run says so in its log, at the window key, and records the window it used
# next to the one asked for (window_used, window) in filter.nc.
set -u
assim=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/clamped.yaml" <<'YAML'
components:
  l96: {type: model.lorenz96}
  direct: {type: obs.identity}
  var: {type: sampler.var4d, background_covariance: climatology, background_scale: 0.02, iterations: 3}
stages:
  cycled: {run: filter, model: $l96, sampler: $var, operator: $direct, members: 1, cycles: 3, window: 5,
           climatology_samples: 50}
YAML
"$assim" run "$work/clamped.yaml" --threads 1 --output "$work/runs" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
attribute() { ncdump -h "$work/runs/clamped/cycled/filter.nc" | sed -n "s/.*:$1 = \(.*\) ;/\1/p"; }
fail=0
grep -Eq "clamped\.yaml:[0-9]+:[0-9]+: stages\.cycled\.window: a window of 5 observation times never fills in 3 cycles; it is clamped to 3" "$work/log" \
  || { cat "$work/log"; echo "FAIL: the clamped window is not logged at its key"; fail=1; }
[ "$(attribute window)" = "5." ] && [ "$(attribute window_used)" = "3." ] \
  || { echo "FAIL: filter.nc records window $(attribute window), window_used $(attribute window_used); expected 5 and 3"; fail=1; }
exit $fail
