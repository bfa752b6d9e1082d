#!/usr/bin/env bash
# DAPPER's Lorenz-96 3D-Var benchmark (published rmse.a 0.41) at CI length:
# 2,000 cycles x 2 repetitions of experiments/variational/lorenz96_dapper.yaml's
# var3d stage must land in 0.39 .. 0.44 without a divergence.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$assim" run "$case" --output "$work/runs" --only var3d --set stages.var3d.cycles=2000 \
  --set stages.var3d.repetitions=2 > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
attribute() { ncdump -h "$work/runs/lorenz96_dapper/var3d/filter.nc" | sed -n "s/.*:$1 = \(.*\) ;/\1/p"; }
value=$(attribute rmse_a)
echo "var3d: rmse.a = $value (band 0.39 .. 0.44), diverged repetitions: $(attribute diverged_repetitions)"
awk -v v="$value" 'BEGIN { exit !(v >= 0.39 && v <= 0.44) }' || { echo "FAIL: 3D-Var out of band"; exit 1; }
[ "$(attribute diverged_repetitions)" = "0." ] || { echo "FAIL: 3D-Var diverged"; exit 1; }
