#!/usr/bin/env bash
# `initial: $stage` (the README's example, which names this test): generate
# stages that start where another generate stage of the experiment ends. Each
# continuation's first state is the source's last state of the same
# trajectory, bit for bit; the source's bytes are in the continuation's hash,
# so a source recomputed into other states recomputes it, and an unchanged one
# reuses it. (Refusals at validate: tests/e2e/bad/initial_*.yaml.)
set -u
assim=$1 readme=$2
python=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
awk '/^```yaml/ { inside = 1; block = ""; next }
     /^```/ && inside { inside = 0; if (block ~ /tests\/e2e\/initial_stage.sh/) { printf "%s", block; exit } next }
     inside { block = block $0 "\n" }' "$readme" > "$work/exp.yaml"
[ -s "$work/exp.yaml" ] || { echo "FAIL: no yaml block of README.md names tests/e2e/initial_stage.sh"; exit 1; }
run() { OMP_NUM_THREADS=1 "$assim" run "$work/exp.yaml" --output "$work/runs" --workers 1 --threads 1 "$@" > "$work/log" 2>&1 \
          || { cat "$work/log"; echo "FAIL: run $*"; exit 1; }; }
expect() { grep -Eq -- "$1" "$work/log" || { cat "$work/log"; echo "FAIL: $2"; fail=1; }; }
name=$(basename "$work/exp.yaml" .yaml)
# Each continuation's frame 0 against its source's last frame, per trajectory.
continues() {
  "$python" - "$work/runs/$name" <<'PY' || fail=1
import sys, netCDF4, numpy as np
runs = sys.argv[1]
def states(stage):
    with netCDF4.Dataset(f"{runs}/{stage}/data.nc") as f:
        return np.asarray(f["x"][:]), np.asarray(f["trajectory"][:])
source, source_trajectory = states("spun")
bad = 0
for stage in ("truth", "fine"):
    x, trajectory = states(stage)
    for s in range(x.shape[0]):
        last = source[source_trajectory == trajectory[s]][-1, -1]
        if not np.array_equal(x[s, 0], last):
            print(f"FAIL: {stage} sample {s} starts at {x[s, 0][:3]}..., not at spun's last state {last[:3]}...")
            bad = 1
    # Not a trivial equality: the trajectories differ, and the states move.
    if np.array_equal(x[0, 0], x[1, 0]) or np.array_equal(x[0, 0], x[0, -1]):
        print(f"FAIL: {stage}'s trajectories do not differ or do not move")
        bad = 1
print(f"truth and fine start at spun's last states ({source.shape[0]} trajectories)")
sys.exit(bad)
PY
}
run
continues
run
expect "stage truth \(generate\): unchanged, reusing" "an unchanged source reuses its continuation"
# Another seed of the source: other last states, so its continuations recompute.
run --set stages.spun.seed=7
expect "stage spun \(generate\): running" "the source with another seed recomputes"
expect "stage truth \(generate\): running" "a continuation of a recomputed source recomputes"
expect "stage fine \(generate\): running" "every continuation of a recomputed source recomputes"
continues
[ $fail = 0 ] && echo "continuations start bit for bit where their source ends and recompute with it"
exit $fail
