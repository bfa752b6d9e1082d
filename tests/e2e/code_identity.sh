#!/usr/bin/env bash
# A result is reused only when the code and the bytes that made it are
# today's: a host or an SDK with other bytes recomputes every stage, a reader
# recomputes when the result it reads was recomputed into other bytes under
# the same settings, a record whose hash was edited is not reused, and two
# spellings of one number are one setting.
set -u
assim=$1 case=$2
build=$(cd "$(dirname "$assim")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
runs=$work/runs/reuse
run() { local exe=$1; shift; "$exe" run "$case" --output "$work/runs" "$@" > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: run $*"; exit 1; }; }
expect() { grep -Eq -- "$1" "$work/log" || { cat "$work/log"; echo "FAIL: $2"; fail=1; }; }

run "$assim"
run "$assim"
expect "stage seen \(observe\): unchanged, reusing" "an unchanged run reuses"

# Another host: the same code with one more byte, where it finds the same plugins.
mkdir -p "$work/other/apps/assim"
ln -s "$build/plugins" "$work/other/plugins"
cp "$assim" "$work/other/apps/assim/assim" && printf '\0' >> "$work/other/apps/assim/assim"
run "$work/other/apps/assim/assim"
expect "stage truth \(generate\): running" "a host with other bytes recomputes truth"
expect "stage seen \(observe\): running" "a host with other bytes recomputes seen"
grep -q "$work/other/apps/assim/assim" "$runs/truth/stage.yaml" || { echo "FAIL: the record does not name the host"; fail=1; }
run "$work/other/apps/assim/assim"
expect "stage seen \(observe\): unchanged, reusing" "the other host reuses its own results"

# Another libassim_sdk: a copy with one more byte, found first by the loader.
sdk=$(ldd "$assim" | awk '/libassim_sdk/ {print $3}')
mkdir -p "$work/sdk" && cp "$sdk" "$work/sdk/$(basename "$sdk")" && printf '\0' >> "$work/sdk/$(basename "$sdk")"
LD_LIBRARY_PATH="$work/sdk" run "$assim"
expect "stage truth \(generate\): running" "an SDK with other bytes recomputes truth"
grep -q "$work/sdk/" "$runs/truth/stage.yaml" || { echo "FAIL: the record does not name the SDK it ran"; fail=1; }

# --adopt keeps results when the build is all that differs, and records it.
run "$assim" --adopt
expect "stage truth \(generate\): adopted from" "--adopt keeps a result of another SDK build"
grep -q "sdk:" "$runs/truth/stage.yaml" || { echo "FAIL: the adoption does not name the SDK build"; fail=1; }
run "$assim"
expect "stage seen \(observe\): unchanged, reusing" "adopted results are reused"

# A reader hashes the bytes it reads: truth recomputed into other bytes under
# the same settings (as a fit on another thread count is) recomputes seen.
python3 - "$runs/truth" <<'PY'
import os, sys
folder = sys.argv[1]
extra = b"written by a second computation\n"
open(os.path.join(folder, "extra.txt"), "wb").write(extra)
h = 1469598103934665603
for c in extra:
    h = ((h ^ c) * 1099511628211) % 2**64
record = os.path.join(folder, "stage.yaml")
text = open(record).read().replace("\noutputs:\n", "\noutputs:\n  extra.txt: %d fnv1a:%016x\n" % (len(extra), h), 1)
open(record, "w").write(text)
PY
run "$assim"
expect "stage truth \(generate\): unchanged, reusing" "truth with other bytes and a true record is reused"
expect "stage seen \(observe\): running" "its reader recomputes"

# A hash edited to today's is not today's result.
run "$assim" --set stages.seen.noise.sigma=0.2
hash02=$(sed -n 's/^hash: //p' "$runs/seen/stage.yaml")
run "$assim"
sed -i "s/^hash: .*/hash: $hash02/" "$runs/seen/stage.yaml"
run "$assim" --set stages.seen.noise.sigma=0.2
expect "stage seen \(observe\): its record does not reproduce its hash" "an edited hash is refused"
expect "stage seen \(observe\): running" "and the stage recomputed"

# Numbers by value: 0.2, 2e-1 and 0.20 are one setting.
run "$assim" --set stages.seen.noise.sigma=2e-1
expect "stage seen \(observe\): unchanged, reusing" "2e-1 is 0.2"
run "$assim" --set stages.seen.noise.sigma=0.20
expect "stage seen \(observe\): unchanged, reusing" "0.20 is 0.2"
[ "$fail" -eq 0 ] && echo "results follow the code and the bytes that made them"
exit $fail
