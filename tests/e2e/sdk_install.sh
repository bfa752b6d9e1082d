#!/usr/bin/env bash
# Installs the SDK into a temporary prefix, builds the example plugins (an
# observation operator and a model) out of tree against it (nothing from the
# source tree on their include path), runs their contract tests
# (AssimSDK::testing) and an experiment that loads each from its plugin_path.
set -eu
assim=$1 source=$2 build=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
for example in observation_operator model; do
  cp -r "$source/sdk/examples/$example" "$work/$example"
  cmake -S "$work/$example" -B "$work/$example/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
  cmake --build "$work/$example/build" > "$work/build.log" || { cat "$work/build.log"; exit 1; }
  if grep -rq --include=flags.make -e "-I$source" "$work/$example/build/CMakeFiles"; then
    echo "FAIL: the out-of-tree build of $example used headers from the source tree"; exit 1
  fi
  "$work/$example/build/contract_test"
  "$work/prefix/bin/assim" run "$work/$example/experiment.yaml" --output "$work/runs"
done
"$work/prefix/bin/assim" plugins --plugin-path "$work/observation_operator/build" | grep -q "example.cubic" \
  || { echo "FAIL: assim plugins does not list example.cubic"; exit 1; }
ncdump -h "$work/runs/experiment/seen/observations.nc" | grep -q "operator_type = \"example.cubic\"" \
  || { echo "FAIL: the observations were not made by the example operator"; exit 1; }
"$work/prefix/bin/assim" plugins "$work/model/experiment.yaml" | grep -q "model.example_advection" \
  || { echo "FAIL: assim plugins EXPERIMENT.yaml does not list what its plugin_path loads"; exit 1; }
grep -q "sampler.enkf" "$work/runs/example_model/scores/evaluation.txt" \
  || { echo "FAIL: the example model was not assimilated"; exit 1; }
echo "out-of-tree plugins built against $work/prefix, their contracts checked, and run"
