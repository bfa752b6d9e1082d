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
exit $fail
