#!/usr/bin/env bash
# Python components under the C++ kernel, run by the host `assim`:
# - obs.arctan and its Python twin (arctan.py, twin.yaml) give the same
#   observations, and the LETKF and 4D-Var the same analyses, bit for bit, on
#   2 workers (the Python operator called from both, each call taking the GIL);
# - model.lorenz96 and its Python twin (sdk/examples/python_model/lorenz96.py, model_twin.yaml) give the
#   same truth, and the LETKF and 4D-Var (its adjoint by autograd through the
#   Python step) the same analyses, bit for bit, on 2 workers;
# - the SDK's Python example (sdk/examples/python_operator) runs, is reused
#   while its file is unchanged and recomputed once it is edited, and a wrong
#   value of its class's parameter from --set is named.
# The bad-input cases are tests/e2e/bad/python_*.yaml.
set -u
assim=$1 source=$2
python=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
here=$source/plugins/python/tests
"$assim" run "$here/twin.yaml" --workers 2 --threads 1 --output "$work/runs" > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: the twin experiment"; exit 1; }
"$python" - "$work/runs/twin" <<'PY' || exit 1
import sys
import netCDF4
import numpy as np
runs = sys.argv[1]
fail = False
def variables(path, names):
    with netCDF4.Dataset(path) as f:
        return {k: np.asarray(f[k][:]) for k in names}
obs = ["observation", "mask", "background", "truth"]
cpp, py = variables(f"{runs}/seen_cpp/observations.nc", obs), variables(f"{runs}/seen_py/observations.nc", obs)
for k in obs:
    if not np.array_equal(cpp[k], py[k], equal_nan=True):
        print(f"FAIL: {k} differs between obs.arctan and its Python twin"); fail = True
for method in ["letkf", "var"]:
    names = ["mean", "spread", "rmse"]
    a = variables(f"{runs}/{method}_cpp/assimilation.nc", names)
    b = variables(f"{runs}/{method}_py/assimilation.nc", names)
    for k in names:
        if not np.array_equal(a[k], b[k], equal_nan=True):
            print(f"FAIL: {method}: {k} differs (max {np.nanmax(np.abs(a[k] - b[k]))})"); fail = True
    print(f"{method}: mean RMSE {float(np.mean(b['rmse'])):.6f} with the Python operator, the same bits as C++'s, "
          f"{b['mean'].shape}")
sys.exit(1 if fail else 0)
PY

"$assim" run "$here/model_twin.yaml" --workers 2 --threads 1 --output "$work/runs" > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: the model twin experiment"; exit 1; }
"$python" - "$work/runs/model_twin" <<'PY' || exit 1
import sys
import netCDF4
import numpy as np
runs = sys.argv[1]
fail = False
def variables(path, names):
    with netCDF4.Dataset(path) as f:
        return {k: np.asarray(f[k][:]) for k in names}
cpp, py = variables(f"{runs}/truth_cpp/data.nc", ["x"]), variables(f"{runs}/truth_py/data.nc", ["x"])
if not np.array_equal(cpp["x"], py["x"]):
    print(f"FAIL: the truth differs between model.lorenz96 and its Python twin (max {np.max(np.abs(cpp['x'] - py['x']))})")
    fail = True
for method in ["letkf", "var"]:
    names = ["mean", "spread", "rmse"]
    a = variables(f"{runs}/{method}_cpp/assimilation.nc", names)
    b = variables(f"{runs}/{method}_py/assimilation.nc", names)
    for k in names:
        if not np.array_equal(a[k], b[k], equal_nan=True):
            print(f"FAIL: {method}: {k} differs (max {np.nanmax(np.abs(a[k] - b[k]))})"); fail = True
    print(f"{method}: mean RMSE {float(np.mean(b['rmse'])):.6f} with the Python model, the same bits as C++'s, "
          f"{b['mean'].shape}")
sys.exit(1 if fail else 0)
PY

cp -r "$source/sdk/examples/python_operator" "$work/example"
"$assim" run "$work/example/experiment.yaml" --threads 1 --output "$work/runs" > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: the Python example"; exit 1; }
grep -q "sampler.var4d" "$work/runs/example_python/scores/evaluation.txt" \
  || { echo "FAIL: the example's runs were not evaluated"; exit 1; }
# The Python file's bytes are in the hash: unchanged, every stage is reused;
# edited, the stages that use the operator are recomputed.
"$assim" run "$work/example/experiment.yaml" --threads 1 --output "$work/runs" > "$work/log" 2>&1
[ "$(grep -c "unchanged, reusing" "$work/log")" = 5 ] || { cat "$work/log"; echo "FAIL: a second run recomputed"; exit 1; }
echo "# edited" >> "$work/example/blur.py"
"$assim" run "$work/example/experiment.yaml" --threads 1 --output "$work/runs" > "$work/log" 2>&1
grep -q "stage seen (observe): running" "$work/log" && grep -q "stage truth (generate): unchanged, reusing" "$work/log" \
  || { cat "$work/log"; echo "FAIL: an edited Python file did not recompute the stages that use it"; exit 1; }
"$assim" validate "$work/example/experiment.yaml" --print | grep -Eq "width: 2" \
  || { echo "FAIL: validate --print does not show the class's parameter"; exit 1; }
"$assim" validate "$work/example/experiment.yaml" --set components.blur.width=1.5 > "$work/log" 2>&1 \
  && { echo "FAIL: a real width was accepted"; exit 1; }
grep -q "components.blur.width" "$work/log" || { cat "$work/log"; echo "FAIL: the wrong width not named"; exit 1; }
"$assim" plugins --verbose | grep -q "obs.python" || { echo "FAIL: assim plugins does not list obs.python"; exit 1; }
"$assim" plugins --verbose | grep -q "model.python" || { echo "FAIL: assim plugins does not list model.python"; exit 1; }
echo "obs.python, model.python: the twins of obs.arctan and model.lorenz96 give the same bits under the LETKF and 4D-Var; the example runs"
