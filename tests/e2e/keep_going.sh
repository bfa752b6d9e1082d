#!/usr/bin/env bash
# Without --keep-going the first failure stops the run; with it, stages that
# do not need the failed one still run, the ones that do are skipped, and the
# run still fails, naming both. With an mpirun as third argument, the same on
# two ranks, where the failing stage runs on rank 0 and the independent one,
# of the same level, on rank 1 at the same time: there the run stops at the
# end of that level, not before the independent stage.
set -u
assim=$1 case=$2 mpirun=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
launch=()
if [ -n "$mpirun" ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  launch=("$mpirun" -n 2)
fi
"${launch[@]}" "$assim" run "$case" --output "$work/a" > "$work/log" 2>&1 && { echo "FAIL: a failing stage exited 0"; fail=1; }
if [ -z "$mpirun" ]; then
  [ ! -e "$work/a/keep_going/independent" ] || { echo "FAIL: the run went on after a failure without --keep-going"; fail=1; }
else
  [ "$(grep -c "assim: error:" "$work/log")" = 1 ] || { cat "$work/log"; echo "FAIL: the error is not printed once"; fail=1; }
  [ ! -e "$work/a/keep_going/needs_broken" ] || { echo "FAIL: a stage after the failed level ran"; fail=1; }
fi
"${launch[@]}" "$assim" run "$case" --output "$work/b" --keep-going > "$work/log" 2>&1 && { echo "FAIL: --keep-going hid the failure"; fail=1; }
cat "$work/log"
[ -f "$work/b/keep_going/independent/stage.yaml" ] || { echo "FAIL: the independent stage did not run"; fail=1; }
[ ! -e "$work/b/keep_going/needs_broken" ] || { echo "FAIL: a stage whose input failed ran"; fail=1; }
grep -q "2 stage(s) failed or were skipped" "$work/log" || { echo "FAIL: no summary"; fail=1; }
grep -q "'needs_broken' skipped (needs 'broken')" "$work/log" || { echo "FAIL: the skipped stage is not named"; fail=1; }
grep -q "stage 'broken' (generate) failed (components: l96 = model.lorenz96 from plugin lorenz" "$work/log" \
  || { echo "FAIL: the failure is not named with its components and plugin"; fail=1; }
grep -q "keep_going.sh: is not a NetCDF file" "$work/log" || { echo "FAIL: the cause is not named"; fail=1; }
exit $fail
