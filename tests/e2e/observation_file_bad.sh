#!/usr/bin/env bash
# Bad observation files are refused at validate, before anything runs, naming the
# file and the variable, and nothing of the stage is left: each case is a copy of a good
# file (an observe stage's export) with one fault. Observations flagged by
# PreQC are skipped and counted instead, also in one window only (windows are
# then observed at other places: each has its own mask, which the LETKF
# takes and which is written back as it was read); errors that differ, on the QG grid
# (case_qg), are taken by 4D-Var and the LETKF and refused, naming the sampler, by SDA,
# which takes one sigma for all.
set -u
assim=$1 case=$2 case_qg=$3
python=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$case" "$work/exp.yaml"
runs=$work/runs/obsfile
"$assim" run "$work/exp.yaml" --threads 1 --output "$work/runs" --only truth --only drawn \
  --set 'stages.read.file=""' > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: drawing"; exit 1; }
cp "$runs/drawn/obs.nc" "$work/good.nc"
cp "$runs/drawn/obs.nc" "$work/good_l96.nc"
fail=0
# fault CASE: writes $work/obs.nc, the good file with fault CASE.
fault() {
  "$python" - "$work/good.nc" "$work/obs.nc" "$1" <<'PY'
import shutil, sys
import netCDF4
import numpy as np
good, path, case = sys.argv[1:]
shutil.copy(good, path)
with netCDF4.Dataset(path, "a") as f:
    meta, value, error, flag = f["MetaData"], f["ObsValue/observation"], f["ObsError/observation"], f["PreQC/observation"]
    frame = float(np.unique(meta["time"][:])[1])  # the second observed frame's time: 2 frames in
    if case == "no_error_group":
        f.renameGroup("ObsError", "Errors")
    elif case == "outside_domain":
        meta["site"][3] = 12.5
    elif case == "outside_window":
        meta["time"][3] = 100.0
    elif case == "between_frames":
        meta["time"][3] = meta["time"][3] + frame / 4
    elif case == "no_such_window":
        meta["window"][3] = 9
    elif case == "zero_error":
        error[3] = 0.0
    elif case == "nan_value":
        value[3] = np.nan
    elif case == "same_place_twice":
        meta["site"][3], meta["time"][3] = meta["site"][2], meta["time"][2]
    elif case == "flagged_nan":
        # The same place and time flagged in every window: skipped, counted.
        w, t, s = meta["window"][:], meta["time"][:], meta["site"][:]
        same = (t == t[0]) & (s == s[0])
        v = value[:]; v[same] = np.nan; value[:] = v
        q = flag[:]; q[same] = 1; flag[:] = q
    elif case == "one_channel":
        q = flag[:]; q[0, 1] = 1; flag[:] = q  # channel 1 of a place whose channel 0 is kept
    elif case == "one_window_less":
        q = flag[:]; q[3] = 1; flag[:] = q  # window 0 only
    elif case == "errors_differ":
        e = error[:]; e[:] = 0.1 + 0.05 * (np.arange(e.size).reshape(e.shape) % 3); error[:] = e
PY
}
# refused CASE REGEX: the read stage fails with stderr matching REGEX and leaves no result.
refused() {
  fault "$1" || { echo "FAIL: $1: could not write the case"; fail=1; return; }
  rm -rf "$runs/read"
  if "$assim" run "$work/exp.yaml" --threads 1 --output "$work/runs" --only read > "$work/out" 2> "$work/err"; then
    echo "FAIL: $1: the file was read"; fail=1; return
  fi
  grep -Eq -- "$2" "$work/err" || { echo "FAIL: $1: stderr lacks /$2/:"; cat "$work/err"; fail=1; return; }
  [ -e "$runs/read/stage.yaml" ] && { echo "FAIL: $1: a result was left"; fail=1; return; }
  echo "$1: refused: $(grep -Eo -- "$2" "$work/err" | head -1)"
}
file="exp\.yaml:[0-9]+:[0-9]+: stages\.read\.file: .*obs\.nc"
refused no_error_group "$file: ObsError/observation: missing"
refused outside_domain "$file: MetaData/site: location 3 at 12\.5 is outside the domain \[0, 12\)"
refused outside_window "$file: MetaData/time: location 3 at time 100 is outside the window"
refused between_frames "$file: MetaData/time: location 3 at time [0-9.]+ is between frames"
refused no_such_window "$file: MetaData/window: location 3 is in window 9, not one of the data's windows 0 to 3"
refused zero_error "$file: ObsError/observation: location 3: the error standard deviation 0 is not a positive"
refused nan_value "$file: ObsValue/observation: location 3 is nan and not flagged by PreQC/observation"
refused same_place_twice "$file: ObsValue/observation: location 3 observes the same place and time"

fault flagged_nan
"$assim" run "$work/exp.yaml" --threads 1 --output "$work/runs" --only read > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: flagged observations were not skipped"; fail=1; }
grep -Eq "\(4 flagged by PreQC, skipped\)" "$work/log" \
  && echo "flagged_nan: 4 flagged observations skipped and counted" \
  || { cat "$work/log"; echo "FAIL: the flagged observations were not counted"; fail=1; }

fault one_window_less
"$assim" run "$work/exp.yaml" --threads 1 --output "$work/runs" --only read --only letkf_read \
  --set stages.read.export=again.nc > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: a window observed at fewer places was not taken"; fail=1; }
"$python" - "$runs/read" "$work/obs.nc" <<'PY' || fail=1
import sys
import netCDF4
import numpy as np
folder, path = sys.argv[1:]
with netCDF4.Dataset(f"{folder}/observations.nc") as f, netCDF4.Dataset(path) as given, \
     netCDF4.Dataset(f"{folder}/again.nc") as again:
    if "window_mask" not in f.variables:
        print("FAIL: windows observed at other places have no window_mask"); sys.exit(1)
    masks = f["window_mask"][:]
    if masks[0].sum() != masks[1].sum() - 1:
        print(f"FAIL: window 0 should lack one observation: {masks[0].sum()} against {masks[1].sum()}"); sys.exit(1)
    keep = given["PreQC/observation"][:] == 0
    for name in ["ObsValue/observation", "ObsError/observation", "MetaData/window", "MetaData/time", "MetaData/site"]:
        if not np.array_equal(given[name][:][keep], again[name][:]):
            print(f"FAIL: {name} written back is not the file's unflagged observations"); sys.exit(1)
    print(f"one_window_less: window masks of {masks[0].sum()} and {masks[1].sum()} observations, written back as read")
PY

cp "$case_qg" "$work/exp.yaml"
runs=$work/runs/obsfile_qg
"$assim" run "$work/exp.yaml" --threads 1 --output "$work/runs" --only truth --only drawn \
  --set 'stages.read.file=""' > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: drawing on QG"; exit 1; }
cp "$runs/drawn/obs.nc" "$work/good.nc"
refused one_channel "$file: ObsValue/observation: window 0, frame 0: a place is observed in channel 1 and not in channel 0"
fault errors_differ
"$assim" run "$work/exp.yaml" --threads 1 --output "$work/runs" --only read --only var_read --only letkf_read \
  --set stages.read.export=again.nc > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: 4D-Var or the LETKF did not take errors that differ"; fail=1; }
"$python" - "$runs/read/observations.nc" "$work/obs.nc" <<'PY' || fail=1
import sys
import netCDF4
import numpy as np
with netCDF4.Dataset(sys.argv[1]) as f, netCDF4.Dataset(sys.argv[2]) as g:
    if "observation_error" not in f.variables:
        print("FAIL: errors that differ were not kept per observation"); sys.exit(1)
    kept = f["observation_error"][:]
    mask = f["mask"][:]
    read = np.sort(kept[:, :, :, mask[0] != 0].ravel())
    written = np.sort(g["ObsError/observation"][:].ravel())
    if not np.array_equal(read, written):
        print("FAIL: the errors kept are not the file's"); sys.exit(1)
with netCDF4.Dataset(sys.argv[2]) as g, netCDF4.Dataset(sys.argv[1].replace("observations.nc", "again.nc")) as again:
    if not np.array_equal(g["ObsError/observation"][:], again["ObsError/observation"][:]):
        print("FAIL: the errors exported are not the file's"); sys.exit(1)
PY
if "$assim" run "$work/exp.yaml" --threads 1 --output "$work/runs" --only sda_read > "$work/out" 2> "$work/err"; then
  echo "FAIL: SDA took errors that differ"; fail=1
elif grep -Eq "stages\.sda_read\.sampler: stage 'read' holds observations whose errors differ .*sampler 'sda' takes one sigma for all" "$work/err"; then
  echo "errors_differ: kept per observation and exported as read, taken by 4D-Var and the LETKF, refused by SDA"
else
  cat "$work/err"; echo "FAIL: SDA's refusal does not say why"; fail=1
fi

# A learned estimator's design draws new pairs: a stage that reads a file has
# none to draw. (The file, read at validate, is a good one of the Lorenz-96 case.)
cp "$work/good_l96.nc" "$work/obs.nc"
cat > "$work/train.yaml" <<'YAML'
components:
  l96: {type: model.lorenz96, sites: 12}
  direct: {type: obs.identity}
  fw: {type: sampler.estimator, state_shape: [12], operator: $direct, channels: [8]}
stages:
  truth: {run: generate, model: $l96, frames: 24}
  read: {run: observe, data: $truth, operator: $direct, window: 6, file: obs.nc}
  fit: {run: train, sampler: $fw, data: $truth, design: $read}
YAML
if "$assim" validate "$work/train.yaml" > "$work/out" 2> "$work/err"; then
  echo "FAIL: a design that reads a file was taken"; fail=1
elif grep -Eq "train\.yaml:[0-9]+:[0-9]+: stages\.fit\.design: stage 'read' reads its observations from file obs\.nc" "$work/err"; then
  echo "estimator design: a stage that reads a file is refused"
else
  cat "$work/err"; echo "FAIL: the design's refusal does not say why"; fail=1
fi
exit $fail
