#!/usr/bin/env bash
# Ranks started with different settings, or with different files of one
# name, stop before anything runs, with a message that says which rank
# differs in what; nothing is written.
set -u
assim=$1 case=$2 mpirun=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
check() {  # what: the run must fail, name rank 1 and what differs, and leave no result
  local what=$1 differs=$2
  [ "$status" -ne 0 ] || { echo "FAIL ($what): exit status 0"; fail=1; }
  grep -q "rank 1 of 2: its experiment differs from rank 0's: the $differs" "$work/log" \
    || { cat "$work/log"; echo "FAIL ($what): no message naming rank 1 and its $differs"; fail=1; }
  if find "$work/runs" -name stage.yaml 2>/dev/null | grep -q .; then echo "FAIL ($what): results written"; fail=1; fi
}
"$mpirun" -n 1 "$assim" run "$case" --threads 1 --output "$work/runs" : \
          -n 1 "$assim" run "$case" --threads 1 --output "$work/runs" --set stages.seen.noise.sigma=0.3 \
          > "$work/log" 2>&1
status=$?
check "another --set" "settings"
# Two files of one experiment name (as two copies on a cluster that differ).
sed 's/frames: 8/frames: 9/' "$case" > "$work/copy.yaml"
"$mpirun" -n 1 "$assim" run "$case" --threads 1 --output "$work/runs" : \
          -n 1 "$assim" run "$work/copy.yaml" --threads 1 --output "$work/runs" > "$work/log" 2>&1
status=$?
check "another copy of the file" "settings"
[ "$fail" -eq 0 ] && echo "ranks that run different experiments stop before anything runs"
exit $fail
