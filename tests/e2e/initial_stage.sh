#!/usr/bin/env bash
# `initial: $stage` (the README's example, which names this test): generate
# stages that start where another stage of the experiment ends. The truth's
# first state is the spin-up's last state of the same trajectory, and the
# forecast's trajectory w x seeds + s starts at the LETKF's analysis mean of
# window w, seed s, at its last frame, bit for bit; the source's bytes are in
# the hash, so a source recomputed into other states recomputes what starts
# from it, and an unchanged one reuses it. A forecast of another number of
# trajectories than analyses is refused when it starts. (Refusals at
# validate: tests/e2e/bad/initial_*.yaml.)
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
# The truth's frame 0 against the spin-up's last frame per trajectory, and the
# forecast's against the analyses' last frame.
continues() {
  "$python" - "$work/runs/$name" <<'PY' || fail=1
import sys, netCDF4, numpy as np
runs = sys.argv[1]
def read(stage, product, *names):
    with netCDF4.Dataset(f"{runs}/{stage}/{product}") as f:
        return [np.asarray(f[n][:]) for n in names]
bad = 0
spun, spun_trajectory = read("spun", "data.nc", "x", "trajectory")
truth, trajectory = read("truth", "data.nc", "x", "trajectory")
for s in range(truth.shape[0]):
    last = spun[spun_trajectory == trajectory[s]][-1, -1]
    if not np.array_equal(truth[s, 0], last):
        print(f"FAIL: truth sample {s} starts at {truth[s, 0][:3]}..., not at spun's last state {last[:3]}...")
        bad = 1
mean, = read("enkf", "assimilation.nc", "mean")  # (window, seed, time, site)
forecast, = read("forecast", "data.nc", "x")
windows, seeds = mean.shape[:2]
if forecast.shape[0] != windows * seeds:
    print(f"FAIL: {forecast.shape[0]} forecasts of {windows} x {seeds} analyses"); bad = 1
for w in range(windows):
    for s in range(seeds):
        if not np.array_equal(forecast[w * seeds + s, 0], mean[w, s, -1]):
            print(f"FAIL: forecast {w * seeds + s} does not start at the analysis of window {w}, seed {s}"); bad = 1
# Not a trivial equality: the starts differ, and the states move.
for x, what in ((truth, "truth"), (forecast, "forecast")):
    if np.array_equal(x[0, 0], x[1, 0]) or np.array_equal(x[0, 0], x[0, -1]):
        print(f"FAIL: {what}'s trajectories do not differ or do not move"); bad = 1
print(f"truth starts at spun's last states ({spun.shape[0]} trajectories), forecast at the {windows} x {seeds} analyses")
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
expect "stage forecast \(generate\): running" "a forecast from recomputed analyses recomputes"
continues
# One forecast per analysis, or none: 3 trajectories of 4 analyses are refused, naming the key.
OMP_NUM_THREADS=1 "$assim" run "$work/exp.yaml" --output "$work/runs" --threads 1 --set stages.forecast.trajectories=3 \
  > "$work/log" 2>&1 && { echo "FAIL: 3 forecasts of 4 analyses ran"; fail=1; }
expect "stages\.forecast\.initial: stage 'enkf' holds 2 windows x 2 seeds of analyses; trajectories is 3" \
  "a forecast of another number of trajectories is refused, naming the key"
[ $fail = 0 ] && echo "generate stages start bit for bit where their source ends and recompute with it"
exit $fail
