#!/usr/bin/env bash
# DAPPER's EnKF_N and PartFilt on its Lorenz-96 (mods/Lorenz96/sakov2008.py: dt_obs 0.05,
# every site observed, R = I, X0 = N(x0, 0.001 I)) beside ours. EnKF_N: the enkf_n_* stages
# of lorenz96_sakov2008.yaml: N = 24 with rotation, xN = 1 and 2. DAPPER's
# EnKF_N defaults to its primal form (dual=False); it is run in both forms,
# which should agree to Monte-Carlo error since they share their stationary
# point.
#
#   DAPPER_PATH=/path/to/DAPPER experiments/enkf/dapper_side_by_side.sh
#
# DAPPER runs from its source on Debian's python3-numpy and python3-scipy
# (PYTHON, default /usr/bin/python3); its optional imports (plotting,
# progress bars, parallel maps) are replaced at run time by the inert modules
# of experiments/dapper_stubs.py. Nothing of DAPPER
# is copied into the repository or edited.
#
# ROWS="enkf_n particle" picks the rows. The particle row: DAPPER's PartFilt
# N = 3000 at each NER:reg of PF_SETTINGS (default "0.5:0.7 1:0.7": NER 0.5
# reg 0.7 is sakov2008.py's best listed, 0.26), beside
# build/plugins/particle/particle_l96 (our core with the weights carried
# across cycles, same settings, its own truth and seed) and the
# particle_n3000 stage (sampler.particle, reg 0.7, which resamples every
# analysis: NER 1), all PF_CYCLES long (default 1400) with the same 400
# cycles of burn-in.
#
# Lengths (environment): CYCLES=5000 BURN=400 SEEDS="3 4" (DAPPER, one run per
# seed and setting); OURS_CYCLES=20000 OURS_REPETITIONS=5 (the yaml's);
# ONLY=both|dapper|ours; ASSIM=build/apps/assim/assim.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${DAPPER_PATH:?give DAPPER_PATH=/path/to/DAPPER (its source: the folder holding dapper/)}"
CYCLES=${CYCLES:-5000} BURN=${BURN:-400} SEEDS=${SEEDS:-"3 4"}
OURS_CYCLES=${OURS_CYCLES:-20000} OURS_REPETITIONS=${OURS_REPETITIONS:-5}
ASSIM=${ASSIM:-$root/build/apps/assim/assim} PYTHON=${PYTHON:-/usr/bin/python3} ONLY=${ONLY:-both}
ROWS=${ROWS:-"enkf_n particle"} PF_CYCLES=${PF_CYCLES:-1400} PF_SETTINGS=${PF_SETTINGS:-"0.5:0.7 1:0.7"}
row() { [[ " $ROWS " == *" $1 "* ]]; }
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 DAPPER_LIVEPLOTTING=false
[ -d "$DAPPER_PATH/dapper" ] || { echo "no dapper/ package under DAPPER_PATH=$DAPPER_PATH"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "$ONLY" != ours ] && row enkf_n; then
  "$PYTHON" - "$DAPPER_PATH" "$CYCLES" "$BURN" "$SEEDS" "$here/.." <<'EOF'
import sys, time

dapper_path, cycles, burn, seeds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
sys.path.insert(0, sys.argv[5])
import dapper_stubs  # noqa: F401  (before dapper)
sys.path.insert(0, dapper_path)
import dapper as dpr
import dapper.da_methods as da
import dapper.mods as modelling
from dapper.mods.Lorenz96 import sakov2008

for xn in (1.0, 2.0):
    for dual in (False, True):
        values = []
        for seed in seeds:
            HMM = sakov2008.HMM.copy()
            HMM.tseq = modelling.Chronology(0.05, dko=1, Ko=cycles, BurnIn=burn * 0.05)
            xp = da.EnKF_N(N=24, rot=True, xN=xn, dual=dual)
            dpr.set_seed(int(seed))
            xx, yy = HMM.simulate()
            start = time.process_time()
            xp.assimilate(HMM, xx, yy)
            seconds = time.process_time() - start
            xp.stats.average_in_time()
            values.append(xp.avrgs.rmse.a.val)
            print(f"dapper EnKF_N N=24 rot xN={xn:g} {'dual' if dual else 'primal'} seed {seed}: "
                  f"rmse.a {xp.avrgs.rmse.a.val:.4f} spread.a (rms) {xp.avrgs.spread.rms.a.val:.4f} "
                  f"infl {xp.avrgs.infl.a.val:.4f} ({seconds:.1f} s)", flush=True)
        print(f"dapper EnKF_N N=24 rot xN={xn:g} {'dual' if dual else 'primal'}: mean rmse.a "
              f"{sum(values) / len(values):.4f} over {len(values)} seed(s) of {cycles} cycles", flush=True)
EOF
fi

if [ "$ONLY" != dapper ] && row enkf_n; then
  for stage in enkf_n_n24 enkf_n_xn2_n24; do
    start=$SECONDS
    "$ASSIM" run "$here/lorenz96_sakov2008.yaml" --threads 1 --workers 1 --output "$work/runs" --only "$stage" \
      --set stages.$stage.cycles="$OURS_CYCLES" --set stages.$stage.repetitions="$OURS_REPETITIONS" \
      > "$work/assim.log" 2>&1 || { cat "$work/assim.log"; exit 1; }
    header=$(ncdump -h "$work/runs/lorenz96_sakov2008/$stage/filter.nc")
    value() { echo "$header" | sed -n "s/.*:$1 = \(.*\) ;/\1/p"; }
    echo "ours $stage: rmse.a $(value rmse_a) spread.a $(value spread_a) diverged $(value diverged_repetitions)" \
         "($OURS_REPETITIONS x $OURS_CYCLES cycles, $((SECONDS - start)) s)"
  done
fi
if [ "$ONLY" != ours ] && row particle; then
  "$PYTHON" - "$DAPPER_PATH" "$PF_CYCLES" "$BURN" "$here/.." "$PF_SETTINGS" <<'EOF'
import sys, time

dapper_path, cycles, burn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
settings = [tuple(float(v) for v in pair.split(":")) for pair in sys.argv[5].split()]
sys.path.insert(0, sys.argv[4])
import dapper_stubs  # noqa: F401  (before dapper)
sys.path.insert(0, dapper_path)
import dapper as dpr
import dapper.da_methods as da
import dapper.mods as modelling
from dapper.mods.Lorenz96 import sakov2008

for ner, reg in settings:
    HMM = sakov2008.HMM.copy()
    HMM.tseq = modelling.Chronology(0.05, dko=1, Ko=cycles, BurnIn=burn * 0.05)
    xp = da.PartFilt(N=3000, NER=ner, reg=reg)
    dpr.set_seed(3)
    xx, yy = HMM.simulate()
    start = time.process_time()
    xp.assimilate(HMM, xx, yy)
    seconds = time.process_time() - start
    xp.stats.average_in_time()
    print(f"dapper PartFilt N=3000 NER={ner:g} reg={reg:g} seed 3: rmse.a {xp.avrgs.rmse.a.val:.4f} "
          f"spread.a (rms) {xp.avrgs.spread.rms.a.val:.4f} ({cycles} cycles, {seconds:.1f} s)", flush=True)
EOF
fi

if [ "$ONLY" != dapper ] && row particle; then
  for pair in $PF_SETTINGS; do
    "$root/build/plugins/particle/particle_l96" --particles 3000 --ner "${pair%:*}" --reg "${pair#*:}" \
      --cycles "$PF_CYCLES"
  done
  start=$SECONDS
  stage=particle_n3000
  "$ASSIM" run "$here/lorenz96_sakov2008.yaml" --threads 1 --workers 1 --output "$work/runs" --only $stage \
    --set stages.$stage.cycles="$PF_CYCLES" > "$work/assim.log" 2>&1 || { cat "$work/assim.log"; exit 1; }
  header=$(ncdump -h "$work/runs/lorenz96_sakov2008/$stage/filter.nc")
  value() { echo "$header" | sed -n "s/.*:$1 = \(.*\) ;/\1/p"; }
  echo "ours $stage (sampler.particle, NER 1): rmse.a $(value rmse_a) spread.a $(value spread_a)" \
       "diverged $(value diverged_repetitions) ($PF_CYCLES cycles, $((SECONDS - start)) s)"
fi
echo "DAPPER $(git -C "$DAPPER_PATH" log -1 --format='%h %cs' 2>/dev/null || echo unknown), assim $(git -C "$root" log -1 --format=%h)"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p')"
