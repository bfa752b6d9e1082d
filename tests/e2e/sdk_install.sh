#!/usr/bin/env bash
# Installs the SDK into a temporary prefix, builds the example plugin out of
# tree against it (nothing from the source tree on its include path), and
# runs an experiment that loads it from its plugin_path.
set -eu
assim=$1 source=$2 build=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cp -r "$source/sdk/examples/observation_operator" "$work/example"
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$work/example" -B "$work/example/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/example/build" > "$work/build.log" || { cat "$work/build.log"; exit 1; }
if grep -q -- "-I$source" "$work/example/build/CMakeFiles/example_cubic.dir/flags.make"; then
  echo "FAIL: the out-of-tree build used headers from the source tree"; exit 1
fi
"$work/prefix/bin/assim" run "$work/example/experiment.yaml" --output "$work/runs"
"$work/prefix/bin/assim" plugins --plugin-path "$work/example/build" | grep -q "example.cubic" \
  || { echo "FAIL: assim plugins does not list example.cubic"; exit 1; }
ncdump -h "$work/runs/experiment/seen/observations.nc" | grep -q "operator_type = \"example.cubic\"" \
  || { echo "FAIL: the observations were not made by the example operator"; exit 1; }
echo "out-of-tree plugin built against $work/prefix and run"
