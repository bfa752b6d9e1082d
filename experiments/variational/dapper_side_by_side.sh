#!/usr/bin/env bash
# DAPPER's Var3D and Var4D on its Lorenz-96 (mods/Lorenz96/sakov2008.py) beside
# lorenz96_dapper.yaml's stages, with both background covariances: DAPPER's
# default since its commit 07386226 (2019-10), xB x the climatological
# covariance, and the one its sakov2008 comments were run with (2019-06),
# B = xB I.
#
#   DAPPER_PATH=/path/to/DAPPER experiments/variational/dapper_side_by_side.sh
#
# DAPPER runs from its source on Debian's python3-numpy and python3-scipy
# (PYTHON, default /usr/bin/python3). Its optional imports (matplotlib,
# mpl_tools, tqdm, tabulate, dill, pathos, threadpoolctl, IPython) are
# replaced at run time by the inert modules of experiments/dapper_stubs.py;
# the plotting they serve is off. Its files are not edited in place: the
# dapper package is copied to a temporary folder, and the copy gets one fix.
# Since its commit a14fbb2a (2023-05, time-dependent observation operators)
# Var4D calls the operator of HMM.Obs(ko) once more (`Obs(ko).linear(x)`,
# `Obs(ko)(x)` where Obs = HMM.Obs(ko) already; dapper/da_methods/
# variational.py, lines 348-349 at ae89b30d), which fails; the copy reads
# `Obs.linear(x)` and `Obs(x)`, what the method meant. The script says whether
# it applied that fix.
#
# Lengths (environment; the defaults are the yaml's, one repetition):
#   CYCLES4D=1000 BURN4D=100   4D-Var: analysis cycles, observations every 4 steps (dto 0.2),
#                              the first BURN4D left out (20 time units, DAPPER's BurnIn)
#   CYCLES3D=5000 BURN3D=400   3D-Var: observations every step (dto 0.05), same burn-in
#   LAGS="1 2 4"  SEED=3  REPETITIONS=1 (ours; DAPPER runs one seed)
#   ASSIM=build/apps/assim/assim  ONLY=both|dapper|ours
# DAPPER's Ko is the cycles (Ko + 1 observation times) and its BurnIn the
# burn-in's time; its climatological B is np.cov of the truth it simulated
# (burn-in included), ours that of an independent free run of 10,000 states.
# lorenz96_dapper.yaml has no 3D-Var stage with B = xB I: with xB 0.02, tuned
# to the climatology's variance (about 13 per site), 0.02 I is 13 times too
# small, and DAPPER's Var3D and ours both lose the truth (rmse.a 3.96 and
# 3.98, a repetition assim reports as diverged); DAPPER's is printed, ours "-".
# Everything runs on one thread. At the defaults, on 2 vCPUs of an AMD EPYC
# shared with other jobs (2026-12-07), DAPPER took 9 min (548 s of process
# time) and assim 9.5 min; the numbers are in experiments/variational/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${DAPPER_PATH:?give DAPPER_PATH=/path/to/DAPPER (its source: the folder holding dapper/)}"
CYCLES4D=${CYCLES4D:-1000} BURN4D=${BURN4D:-100} CYCLES3D=${CYCLES3D:-5000} BURN3D=${BURN3D:-400}
LAGS=${LAGS:-"1 2 4"} SEED=${SEED:-3} REPETITIONS=${REPETITIONS:-1}
ASSIM=${ASSIM:-$root/build/apps/assim/assim} PYTHON=${PYTHON:-/usr/bin/python3} ONLY=${ONLY:-both}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 DAPPER_LIVEPLOTTING=false
[ -d "$DAPPER_PATH/dapper" ] || { echo "no dapper/ package under DAPPER_PATH=$DAPPER_PATH"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

commit=$(git -C "$DAPPER_PATH" log -1 --format='%h %cs' 2>/dev/null || echo "unknown (not a git checkout)")
xb() { case $1 in 1) echo 0.2 ;; 2) echo 0.1 ;; 4) echo 0.02 ;; *) echo "no xB for Lag $1 in sakov2008's comments" >&2; exit 1 ;; esac; }

# --- DAPPER -------------------------------------------------------------------
run_dapper() {
  cp -r "$DAPPER_PATH/dapper" "$work/dapper"
  "$PYTHON" - "$work/dapper/da_methods/variational.py" <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
broken = "                    Y = Obs(ko).linear(x) @ X\n                    xo = Obs(ko)(x)\n"
fixed = "                    Y = Obs.linear(x) @ X\n                    xo = Obs(x)\n"
if text.count(broken) == 1:
    open(path, "w").write(text.replace(broken, fixed))
    print("DAPPER: applied to the temporary copy: Var4D's Obs(ko).linear(x) / Obs(ko)(x) -> Obs.linear(x) / Obs(x)")
else:
    print("DAPPER: Var4D's Obs(ko)(x) call not found: the copy runs as DAPPER has it")
EOF
  "$PYTHON" - "$work" "$SEED" "$CYCLES3D" "$BURN3D" "$CYCLES4D" "$BURN4D" "$LAGS" "$here/.." <<'EOF'
import sys, time
work, seed, cycles3, burn3, cycles4, burn4, lags, experiments = sys.argv[1:9]
sys.path.insert(0, work)
sys.path.insert(0, experiments)
import dapper_stubs  # noqa: F401  (before dapper)
import dapper as dpr
import dapper.da_methods as da
import dapper.mods as modelling
from dapper.mods.Lorenz96 import sakov2008

xbs = {1: 0.2, 2: 0.1, 4: 0.02}
rows = [("var3d", 1, 0, 0.02, int(cycles3), int(burn3))]
rows += [(f"var4d_window{lag}", 4, lag, xbs[lag], int(cycles4), int(burn4)) for lag in map(int, lags.split())]
for name, dko, lag, xb, cycles, burn in rows:
    HMM = sakov2008.HMM.copy()
    HMM.tseq = modelling.Chronology(0.05, dko=dko, Ko=cycles, BurnIn=burn * dko * 0.05)
    for B, label in ((None, "climatology"), ("eye", "identity")):
        xp = da.Var3D(xB=xb, B=B) if lag == 0 else da.Var4D(Lag=lag, xB=xb, B=B)
        dpr.set_seed(int(seed))
        xx, yy = HMM.simulate()
        start = time.process_time()
        xp.assimilate(HMM, xx, yy)
        seconds = time.process_time() - start
        xp.stats.average_in_time()
        print(f"dapper {name} {label} {xp.avrgs.rmse.a.val:.4f} {seconds:.1f}", flush=True)
EOF
}

# --- assim ----------------------------------------------------------------------
run_ours() {
  local stage cycles burn value
  for stage in var3d $(for l in $LAGS; do echo var4d_window$l var4d_identity_window$l; done); do
    case $stage in var3d*) cycles=$CYCLES3D burn=$BURN3D ;; *) cycles=$CYCLES4D burn=$BURN4D ;; esac
    local start=$SECONDS
    "$ASSIM" run "$here/lorenz96_dapper.yaml" --threads 1 --workers 1 --output "$work/runs_$stage" --only "$stage" \
      --set seed="$SEED" --set stages.$stage.cycles="$cycles" --set stages.$stage.burn_in="$burn" \
      --set stages.$stage.repetitions="$REPETITIONS" > "$work/assim.log" 2>&1 || { cat "$work/assim.log"; exit 1; }
    value=$(ncdump -h "$work/runs_$stage/lorenz96_dapper/$stage/filter.nc" | sed -n 's/.*:rmse_a = \(.*\) ;/\1/p')
    case $stage in *identity*) label=identity ;; *) label=climatology ;; esac
    echo "ours ${stage/_identity/} $label $value $((SECONDS - start))"
  done
}

: > "$work/results"
if [ "$ONLY" != ours ]; then run_dapper | tee -a "$work/results"; fi
if [ "$ONLY" != dapper ]; then run_ours | tee -a "$work/results"; fi

echo
echo "rmse.a, seed $SEED, one thread; 3D-Var: $CYCLES3D cycles (burn-in $BURN3D), observations every step;"
echo "4D-Var: $CYCLES4D cycles (burn-in $BURN4D), observations every 4 steps; ours: $REPETITIONS repetition(s)"
echo "DAPPER $commit ($DAPPER_PATH), assim $(git -C "$root" log -1 --format=%h 2>/dev/null || echo unknown)"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p')"
"$PYTHON" - "$work/results" "$LAGS" <<'EOF'
import sys
results = {}
for line in open(sys.argv[1]):
    words = line.split()
    if len(words) == 5 and words[0] in ("dapper", "ours"):
        results[tuple(words[:3])] = float(words[3])
xbs = {1: 0.2, 2: 0.1, 4: 0.02}
rows = [("var3d", "3D-Var", "-", 0.02)] + [(f"var4d_window{l}", "4D-Var", l, xbs[l]) for l in map(int, sys.argv[2].split())]
def cell(key):
    return f"{results[key]:.3f}" if key in results else "-"
print(f"{'row':15} {'Lag':>3} {'xB':>5} | {'B = xB clim':^17} | {'B = xB I':^17}")
print(f"{'':15} {'':>3} {'':>5} | {'DAPPER':>8} {'ours':>8} | {'DAPPER':>8} {'ours':>8}")
for name, method, lag, xb in rows:
    cells = [cell((who, name, b)) for b in ("climatology", "identity") for who in ("dapper", "ours")]
    print(f"{name:15} {lag!s:>3} {xb:>5} | {cells[0]:>8} {cells[1]:>8} | {cells[2]:>8} {cells[3]:>8}")
EOF
