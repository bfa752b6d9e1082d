#!/usr/bin/env bash
# An observe stage's observations written as an observation file (export) and
# read back by another observe stage (file) are the same problems: the same
# observations, mask, errors, background and truth, and the LETKF and 4D-Var
# give bit-identical analyses on both. The file has IODA's groups. On the QG
# grid (case_qg: two dims, two channels, normalised) the read problems are the
# drawn ones too.
set -u
assim=$1 case=$2 case_qg=$3
python=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$case" "$work/exp.yaml"
runs=$work/runs/obsfile
# The file the read stage names is the drawn stage's export: made by a first
# run in which the read stage draws too (file empty), then put beside the experiment.
"$assim" run "$work/exp.yaml" --threads 1 --output "$work/runs" --only truth --only drawn \
  --set 'stages.read.file=""' > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: drawing"; exit 1; }
[ -f "$runs/drawn/obs.nc" ] || { echo "FAIL: the drawn stage wrote no obs.nc"; exit 1; }
cp "$runs/drawn/obs.nc" "$work/obs.nc"
"$assim" run "$work/exp.yaml" --threads 1 --output "$work/runs" > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: the experiment with the file"; exit 1; }
"$python" - "$runs" "$work/obs.nc" <<'PY' || exit 1
import sys
import netCDF4
import numpy as np
runs, path = sys.argv[1], sys.argv[2]
fail = False
with netCDF4.Dataset(path) as f:
    for group in ["MetaData", "ObsValue", "ObsError", "PreQC", "Background"]:
        if group not in f.groups:
            print(f"FAIL: {path} has no group {group}"); fail = True
    n = len(f.dimensions["Location"])
    sites = f["MetaData/site"][:]
    times = f["MetaData/time"][:]
    print(f"{n} locations, sites {sites.min()}..{sites.max()}, times {sorted(set(times.tolist()))}")
def variables(stage, names):
    with netCDF4.Dataset(f"{runs}/{stage}/observations.nc") as f:
        return {k: f[k][:] for k in names if k in f.variables}
names = ["observation", "mask", "background", "truth", "observation_error"]
drawn, read = variables("drawn", names), variables("read", names)
if "observation_error" in read:
    print("FAIL: equal errors read back as errors that differ"); fail = True
for k in ["observation", "mask", "background", "truth"]:
    if not np.array_equal(drawn[k], read[k], equal_nan=True):
        print(f"FAIL: {k} differs between the drawn and the read observations"); fail = True
for method in ["letkf", "var"]:
    with netCDF4.Dataset(f"{runs}/{method}_drawn/assimilation.nc") as a, \
         netCDF4.Dataset(f"{runs}/{method}_read/assimilation.nc") as b:
        for k in ["mean", "spread"]:
            x, y = a[k][:], b[k][:]
            if not np.array_equal(x, y, equal_nan=True):
                print(f"FAIL: {method}: {k} differs (max {np.abs(x - y).max()})"); fail = True
        print(f"{method}: mean RMSE {float(np.mean(a['rmse'][:])):.4f} on both, {x.shape}")
sys.exit(1 if fail else 0)
PY
grep -Eq "read [0-9]+ observations in 4 windows from obs.nc" "$work/log" \
  || { cat "$work/log"; echo "FAIL: the read stage did not say what it read"; exit 1; }

cp "$case_qg" "$work/exp.yaml"
runs=$work/runs/obsfile_qg
"$assim" run "$work/exp.yaml" --threads 1 --output "$work/runs" --only truth --only drawn \
  --set 'stages.read.file=""' > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: drawing on QG"; exit 1; }
cp "$runs/drawn/obs.nc" "$work/obs.nc"
"$assim" run "$work/exp.yaml" --threads 1 --output "$work/runs" --only read > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: reading on QG"; exit 1; }
"$python" - "$runs" <<'PY' || exit 1
import sys
import netCDF4
import numpy as np
runs = sys.argv[1]
with netCDF4.Dataset(f"{runs}/drawn/observations.nc") as a, netCDF4.Dataset(f"{runs}/read/observations.nc") as b:
    for k in ["observation", "mask", "background", "truth", "scale"]:
        if not np.array_equal(a[k][:], b[k][:]):
            print(f"FAIL: QG: {k} differs between the drawn and the read observations"); sys.exit(1)
    print(f"QG: observations {a['observation'].shape} read back as drawn")
PY
echo "observations exported and read back: the same problems, bit-identical analyses"
