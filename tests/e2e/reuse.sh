#!/usr/bin/env bash
# Stage results are reused while settings and inputs are unchanged, recomputed
# with --force or when a --set changes them, and downstream stages follow.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
run() { "$assim" run "$case" --output "$work/runs" "$@" > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: run $*"; exit 1; }; }
expect() { grep -Eq -- "$1" "$work/log" || { cat "$work/log"; echo "FAIL: $2"; fail=1; }; }
run
expect "stage truth \(generate\): running" "first run computes truth"
expect "stage seen \(observe\): running" "first run computes seen"
run
expect "stage truth \(generate\): unchanged, reusing" "second run reuses truth"
expect "stage seen \(observe\): unchanged, reusing" "second run reuses seen"
run --set stages.seen.noise.sigma=0.2
expect "stage truth \(generate\): unchanged, reusing" "changing only the observations reuses truth"
expect "stage seen \(observe\): running" "changing sigma recomputes seen"
run --set stages.truth.frames=12 --set stages.seen.noise.sigma=0.2
expect "stage truth \(generate\): running" "changing frames recomputes truth"
expect "stage seen \(observe\): running" "a recomputed input recomputes its readers"
run --set stages.truth.frames=12 --set stages.seen.noise.sigma=0.2 --force --only seen
expect "stage seen \(observe\): running" "--force --only recomputes that stage"
grep -q "stage truth" "$work/log" && { echo "FAIL: --only ran another stage"; fail=1; }
grep -q "sigma: 0.2" "$work/runs/reuse/seen/stage.yaml" || { echo "FAIL: stage.yaml lacks the resolved config"; fail=1; }
run --set stages.truth.frames=12 --set stages.seen.noise.sigma=0.2 --only 's*n' --only seen
expect "stage seen \(observe\): unchanged, reusing" "--only takes glob patterns, repeated"
grep -q "stage truth" "$work/log" && { echo "FAIL: --only 's*n' selected truth"; fail=1; }
"$assim" run "$case" --output "$work/runs" --only 'x*' > "$work/log" 2>&1 && { echo "FAIL: --only 'x*' selected nothing and ran"; fail=1; }
expect "--only x\*: no such stage" "a pattern that selects nothing is an error"
# --only reads an unselected input as it is, and says so when it is out of date.
run --set stages.truth.frames=13 --set stages.seen.noise.sigma=0.2 --only seen
expect "stage truth: its result is out of date" "--only names an out-of-date input it reads"
# Another experiment file of the same name shares the folder: its stage of the
# same name and settings (truth) is reused, its own stage computed.
sed 's/^  seen:/  heard:/' "$case" > "$work/other.yaml"
"$assim" run "$work/other.yaml" --output "$work/runs" --set stages.truth.frames=12 > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: run other.yaml"; exit 1; }
expect "stage truth \(generate\): unchanged, reusing" "an experiment of the same name reuses the other's truth"
expect "stage heard \(observe\): running" "and computes its own stage"
[ -f "$work/runs/reuse/seen/stage.yaml" ] || { echo "FAIL: the other experiment removed seen"; fail=1; }
# The hash reads the settings, not how the file writes them: the same stages
# with their keys reordered, in block or flow style, are reused.
cat > "$work/reordered.yaml" <<'END'
name: reuse
components:
  l96:
    type: model.lorenz96
  direct: {type: obs.identity}
stages:
  truth: {frames: 12, model: $l96, spinup: 10 steps, run: generate}
  seen:
    noise:
      sigma: 0.2
    operator: $direct
    data: $truth
    run: observe
END
"$assim" run "$work/reordered.yaml" --output "$work/runs" > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: run reordered.yaml"; exit 1; }
expect "stage truth \(generate\): unchanged, reusing" "reordered keys reuse truth"
expect "stage seen \(observe\): unchanged, reusing" "block style reuses seen"
exit $fail
