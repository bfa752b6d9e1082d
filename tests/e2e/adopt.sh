#!/usr/bin/env bash
# `run --adopt` keeps results that an earlier build of a plugin computed: a
# rebuilt plugin (here the same library with a byte appended: another
# digest, the same code) recomputes every stage that uses it, and --adopt
# instead re-stamps them, computing nothing, after which a plain run reuses
# them and their records keep the build that computed them. A changed
# setting is never adopted, and neither is a result whose input was
# recomputed into something else.
set -u
assim=$1 case=$2 plugins=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A host of its own beside a copy of the plugins (<build>/apps/assim and <build>/plugins).
mkdir -p "$work/build/apps/assim" "$work/build/plugins"
cp "$assim" "$work/build/apps/assim/assim"
cp "$plugins"/*.so "$work/build/plugins/"
host=$work/build/apps/assim/assim
fail=0
run() { "$host" run "$case" --output "$work/runs" "$@" > "$work/log" 2>&1; }
expect() { grep -Eq -- "$1" "$work/log" || { cat "$work/log"; echo "FAIL: $2"; fail=1; }; }
run || { cat "$work/log"; echo "FAIL: first run"; exit 1; }
before=$(md5sum "$work/runs/reuse/seen/"*.nc)
printf 'x' >> "$work/build/plugins/libassim_lorenz.so"          # a rebuild of model.lorenz96's plugin
run --adopt || { cat "$work/log"; echo "FAIL: --adopt after a rebuild"; exit 1; }
expect "stage truth \(generate\): adopted from" "truth is adopted"
expect "stage truth: recomputing it with pieces 1 to compare" "a generate stage is checked on its first piece"
expect "stage seen \(observe\): adopted from" "seen, which reads truth, is adopted"
grep -q "running" "$work/log" && { echo "FAIL: --adopt computed something"; cat "$work/log"; fail=1; }
[ "$before" = "$(md5sum "$work/runs/reuse/seen/"*.nc)" ] || { echo "FAIL: --adopt touched the outputs"; fail=1; }
grep -q "^adopted:" "$work/runs/reuse/truth/stage.yaml" || { echo "FAIL: truth's record does not say it was adopted"; fail=1; }
grep -A4 "^adopted:" "$work/runs/reuse/truth/stage.yaml" | grep -q "lorenz:" ||
  { echo "FAIL: truth's record does not keep the build of lorenz that computed it"; fail=1; }
run || { cat "$work/log"; echo "FAIL: run after --adopt"; exit 1; }
expect "stage truth \(generate\): unchanged, reusing" "an adopted result is up to date"
expect "stage seen \(observe\): unchanged, reusing" "so is its reader"
# A changed setting is not adopted, and its reader is skipped: --adopt fails and computes nothing.
run --adopt --set stages.truth.frames=9 && { echo "FAIL: --adopt took a changed setting"; fail=1; }
expect "stage truth \(generate\): not adopted: a setting changed, stages\.truth\.frames: 8 then, 9 now" \
  "a changed setting is named"
expect "'seen' skipped \(needs 'truth'\)" "the reader of a stage not adopted is skipped"
grep -q "running" "$work/log" && { echo "FAIL: --adopt computed something"; fail=1; }
# A recomputed input that differs is not what the reader read.
run --only truth --set stages.truth.seed=5 > /dev/null || { cat "$work/log"; echo "FAIL: recompute truth"; exit 1; }
printf 'x' >> "$work/build/plugins/libassim_lorenz.so"
run --adopt --set stages.truth.seed=5 --only seen && { echo "FAIL: --adopt took seen over another truth"; fail=1; }
expect "stage seen \(observe\): not adopted: its input stage 'truth' is not the result it read" \
  "an input recomputed into another result is named"
# The check rests on nobody's word: a kept result whose numbers today's build
# does not recompute (here a value of truth changed, its record made to
# match, as an older build that computed otherwise would have left it) is
# not adopted, and the difference is named.
ncdump -p 9,17 "$work/runs/reuse/truth/data.nc" > "$work/truth.cdl"
python3 - "$work/truth.cdl" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
head, data = text.split("\ndata:\n", 1)
start = data.index(" x =")
number = re.compile(r"-?[0-9]+\.[0-9]+(e[-+]?[0-9]+)?")
m = number.search(data, start)
data = data[:m.start()] + repr(float(m.group(0)) + 0.5) + data[m.end():]
open(sys.argv[1], "w").write(head + "\ndata:\n" + data)
PY
ncgen -4 -o "$work/runs/reuse/truth/data.nc" "$work/truth.cdl"
python3 - "$work/runs/reuse/truth" <<'PY'
import os, re, sys
folder = sys.argv[1]
b = open(os.path.join(folder, "data.nc"), "rb").read()
h = 1469598103934665603
for c in b:
    h = ((h ^ c) * 1099511628211) % 2**64
record = os.path.join(folder, "stage.yaml")
text = re.sub(r"(\n  data\.nc: )[^\n]*", lambda m: m.group(1) + "%d fnv1a:%016x" % (len(b), h), open(record).read())
open(record, "w").write(text)
PY
printf 'x' >> "$work/build/plugins/libassim_lorenz.so"
run --adopt --set stages.truth.seed=5 --only truth && { echo "FAIL: --adopt kept numbers today's build does not compute"; fail=1; }
expect "stage truth \(generate\): not adopted: today's build does not compute the same: data.nc: x differs" \
  "a result today's build does not recompute is named"
# An assimilate stage is checked on its cheapest part: its first window and seed.
cat > "$work/windows.yaml" <<'END'
name: windows
components:
  l96: {type: model.lorenz96, sites: 12}
  direct: {type: obs.identity}
  letkf: {type: sampler.enkf, method: letkf, localisation: {radius: 2}}
stages:
  truth: {run: generate, model: $l96, spinup: 10, frames: 40}
  seen: {run: observe, data: $truth, operator: $direct, window: 5, every: 1, noise: {sigma: 0.5}, background: {sigma: 1}}
  by_letkf: {run: assimilate, observations: $seen, sampler: $letkf, model: $l96, members: 6, windows: 4, seeds: 2}
  cycled: {run: filter, model: $l96, sampler: $letkf, operator: $direct, members: 6, cycles: 30, burn_in: 5, repetitions: 2}
END
"$host" run "$work/windows.yaml" --output "$work/runs" > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: windows.yaml"; exit 1; }
printf 'x' >> "$work/build/plugins/libassim_enkf.so"
"$host" run "$work/windows.yaml" --output "$work/runs" --adopt > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: --adopt by_letkf"; fail=1; }
expect "stage by_letkf: recomputing it with seeds 1, windows 1" "the first window and seed alone are recomputed"
expect "stage by_letkf \(assimilate\): adopted from" "by_letkf adopted after its first window matched"
expect "stage cycled: recomputing it with repetitions 1" "a filter stage is checked on its first repetition"
expect "stage cycled \(filter\): adopted from" "cycled adopted after its first repetition matched"
grep -Eq "check: \"?recomputed with seeds 1, windows 1: [1-9][0-9]* variables" "$work/runs/windows/by_letkf/stage.yaml" \
  || { echo "FAIL: the record does not keep the check"; fail=1; }
exit $fail
