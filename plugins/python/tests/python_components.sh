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
"$python" "$here/same_bits.py" "$work/runs/twin" operator \
  seen_cpp:seen_py:observations.nc:observation,mask,background,truth \
  letkf_cpp:letkf_py:assimilation.nc:mean,spread,rmse var_cpp:var_py:assimilation.nc:mean,spread,rmse || exit 1

"$assim" run "$here/model_twin.yaml" --workers 2 --threads 1 --output "$work/runs" > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: the model twin experiment"; exit 1; }
"$python" "$here/same_bits.py" "$work/runs/model_twin" model truth_cpp:truth_py:data.nc:x \
  letkf_cpp:letkf_py:assimilation.nc:mean,spread,rmse var_cpp:var_py:assimilation.nc:mean,spread,rmse || exit 1

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
