#!/usr/bin/env bash
# Forecasts from each analysis (forecast.yaml): an analysis equal to the
# truth to 1e-4 forecasts it to 1e-2 at every lead (a forecast scored
# against the wrong frames of the truth would miss it by the truth's change
# over a frame, about 0.5), a perturbed one's error grows with lead, lead 0
# scores the analysis itself (the RMSE of its last frame), and evaluation.nc
# holds the scores over a `lead` coordinate with units that xarray reads.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$assim" run "$case" --output "$work/runs" > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: run"; exit 1; }
table="$work/runs/forecast/scores/evaluation.txt"
sed -n '/Free forecasts/,/^$/p' "$table"
fail=0
/usr/bin/python3 - "$work/runs/forecast/scores/evaluation.nc" <<'PY' || fail=1
import sys
import numpy as np
import xarray as xr
ds = xr.open_dataset(sys.argv[1])
ok = True
def expect(what, cond):
    global ok
    if not cond:
        print("FAIL:", what)
        ok = False
lead = ds["lead"]
expect("lead is a coordinate of forecast_rmse", "lead" in ds["forecast_rmse"].coords)
expect("lead has the truth's time units '1'", lead.attrs.get("units") == "1")
expect("lead runs 0, 0.05, ..., 1", np.allclose(lead.values, np.arange(21) * 0.05))
rmse = ds["forecast_rmse"].values
crps = ds["forecast_crps"].values
print("forecast_rmse exact:    ", np.array2string(rmse[0], precision=5))
print("forecast_rmse perturbed:", np.array2string(rmse[1], precision=4))
expect("the exact analysis forecasts the truth at every lead (RMSE < 0.01)", np.all(rmse[0] < 1e-2))
expect("the exact analysis's CRPS < 0.01 at every lead", np.all(crps[0] < 1e-2))
expect("the perturbed analysis misses (RMSE > 0.05 at lead 0)", rmse[1, 0] > 0.05)
expect("the perturbed forecast's error grows: RMSE at lead 1 > 2 x lead 0", rmse[1, -1] > 2 * rmse[1, 0])
expect("the perturbed forecast's CRPS grows", crps[1, -1] > 2 * crps[1, 0])
last = ds["rmse_per_frame"].values[:, -1]
expect("lead 0 of the mean's forecast is the analysis's RMSE at the last frame",
       abs(rmse[1, 0] - last[1]) <= 1e-12 * last[1])
expect("lead 0 of the members' forecast is it to float32 rounding", abs(rmse[0, 0] - last[0]) < 1e-5)
expect("members forecast: 60 kept, 1 (the mean)", list(ds["forecast_members"].values) == [60, 1])
sys.exit(0 if ok else 1)
PY
grep -q "^perturbed  *rmse_mean  *1 " "$table" || { echo "FAIL: the table has no forecast row of perturbed"; fail=1; }
grep -qF '<h2>Forecasts</h2>' "$work/runs/forecast/report/report/index.html" ||
  { echo "FAIL: the report has no forecasts section"; fail=1; }
exit $fail
