#!/usr/bin/env bash
# One experiment with every stage kind on one rank of one worker, on 2 workers, and on two MPI ranks
# (mpirun -n 2, oversubscribed where the machine has fewer cores): the NetCDF
# results must hold the same values bit for bit, with the stages run side by
# side and, one at a time, each spreading stage (generate, filter, assimilate,
# and a fit, whose estimator is then compared) spread over both ranks, 2 ranks of 2 workers, and one cycled window on both ranks at once. Then a rank killed inside a stage: the run fails,
# the stage has no result to reuse, and a rerun finishes it and gets the same
# values. Timings (attributes and variables named *seconds*) are left out of
# the comparison: they are measurements, not results.
set -u
assim=$1 case=$2 mpirun=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
# Open MPI refuses root unless told; CI runs as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
two() { "$mpirun" -n 2 "$assim" "$@"; }

values() {  # ncdump of a file without the lines that hold timings
  ncdump "$1" | awk '/seconds[a-z_]* = /{skip=1} skip{ if ($0 ~ /;[ \t]*$/) skip=0; next } {print}'
}
same() {  # folder, folder, what
  local a=$1 b=$2 files
  files=$(cd "$a" && find . -name '*.nc' | sort)
  [ -n "$files" ] || { echo "FAIL: no NetCDF results in $a"; fail=1; return; }
  [ "$files" = "$(cd "$b" && find . -name '*.nc' | sort)" ] || { echo "FAIL ($3): not the same files"; fail=1; return; }
  for f in $files; do
    if ! diff <(values "$a/$f") <(values "$b/$f") > "$work/diff"; then
      echo "FAIL ($3): $f differs:"; head -8 "$work/diff"; fail=1
    fi
  done
  echo "$3: $(echo "$files" | wc -l) NetCDF files compared"
}

"$assim" run "$case" --workers 1 --threads 1 --output "$work/one" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
two run "$case" --workers 1 --threads 1 --output "$work/two" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
grep -q "rank 1/2: stage .* running" "$work/log" || { echo "FAIL: rank 1 ran no stage"; fail=1; }
grep -q "running on 2 ranks" "$work/log" || { echo "FAIL: no stage spread over both ranks"; fail=1; }
same "$work/one/ranks" "$work/two/ranks" "stages side by side"

# The same on workers: one rank of 2, and 2 ranks of 2 each.
"$assim" run "$case" --workers 2 --threads 1 --output "$work/workers" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
grep -q "2 worker(s) of 1 tensor thread(s)" "$work/log" || { echo "FAIL: not run on 2 workers"; fail=1; }
same "$work/one/ranks" "$work/workers/ranks" "2 workers"
two run "$case" --workers 2 --threads 1 --output "$work/two_by_two" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
same "$work/one/ranks" "$work/two_by_two/ranks" "2 ranks of 2 workers"

for stage in truth etkf_l96 letkf_l96 by_sda by_letkf by_var4d by_fw; do
  two run "$case" --workers 1 --threads 1 --output "$work/two" --only "$stage" --force > "$work/log" 2>&1 \
    || { cat "$work/log"; echo "FAIL: $stage on 2 ranks"; fail=1; }
  grep -q "stage $stage (.*): running on 2 ranks" "$work/log" || { echo "FAIL: $stage did not spread"; fail=1; }
done
# A fit shares each batch's shards among both ranks and takes the steps one
# rank takes: the estimator it fits gives the same numbers.
two run "$case" --workers 1 --threads 1 --output "$work/two" --only fit_fw --only by_fw --force > "$work/log" 2>&1 \
  || { cat "$work/log"; echo "FAIL: fit_fw on 2 ranks"; fail=1; }
grep -q "stage fit_fw (.*): running on 2 ranks" "$work/log" || { echo "FAIL: fit_fw did not spread"; fail=1; }
same "$work/one/ranks" "$work/two/ranks" "each stage spread"

# One window of a LETKF cycled through it: both ranks work on that window
# (members' forecasts and the analysis's regions split between them).
team=(--set stages.by_letkf.windows=1 --set stages.by_letkf.seeds=1)
"$assim" run "$case" --workers 1 --threads 1 --output "$work/one_team" "${team[@]}" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
two run "$case" --workers 1 --threads 1 --output "$work/two_team" "${team[@]}" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
two run "$case" --workers 1 --threads 1 --output "$work/two_team" "${team[@]}" --only by_letkf --force > "$work/log" 2>&1 \
  || { cat "$work/log"; exit 1; }
grep -q "stage by_letkf (assimilate): running on 2 ranks" "$work/log" || { echo "FAIL: by_letkf did not spread"; fail=1; }
same "$work/one_team/ranks" "$work/two_team/ranks" "one window on a team of 2"
# ... and on 2 workers of one rank, which share its forecasts and regions out the same way.
"$assim" run "$case" --workers 2 --threads 1 --output "$work/workers_team" "${team[@]}" > "$work/log" 2>&1 \
  || { cat "$work/log"; exit 1; }
same "$work/one_team/ranks" "$work/workers_team/ranks" "one window on 2 workers"

# Rank 1 runs the long 'test' (stages i mod 2 of the first level); kill it there.
long=(--set "stages.test.spinup=40 years")
two run "$case" --workers 1 --threads 1 --output "$work/killed" "${long[@]}" > "$work/log" 2>&1 &
launcher=$!
victim=
for _ in $(seq 200); do
  if grep -q "rank 1/2: stage test (generate): running" "$work/log" 2>/dev/null; then
    for p in $(pgrep -f "$work/killed"); do
      tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$p
    done
    [ -n "$victim" ] && break
  fi
  sleep 0.05
done
[ -n "$victim" ] || { cat "$work/log"; echo "FAIL: rank 1 never ran stage test"; exit 1; }
kill -9 "$victim"
wait "$launcher" && { echo "FAIL: a run with a killed rank exited 0"; fail=1; }
[ ! -e "$work/killed/ranks/test" ] || { echo "FAIL: the killed stage left a result"; fail=1; }
[ -f "$work/killed/ranks/truth/stage.yaml" ] || [ ! -e "$work/killed/ranks/truth" ] \
  || { echo "FAIL: truth is half-written"; fail=1; }
two run "$case" --workers 1 --threads 1 --output "$work/killed" "${long[@]}" > "$work/log" 2>&1 || { cat "$work/log"; fail=1; }
grep -q "left by an interrupted run" "$work/log" || { echo "FAIL: the killed stage's partial folder was not cleaned"; fail=1; }
grep -q "stage test (generate): running" "$work/log" || { echo "FAIL: the killed stage was not recomputed"; fail=1; }
"$assim" run "$case" --workers 1 --threads 1 --output "$work/one_long" "${long[@]}" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
same "$work/one_long/ranks" "$work/killed/ranks" "after a killed rank"
exit $fail
