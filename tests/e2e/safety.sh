#!/usr/bin/env bash
# The run folder's promises: a folder assim did not write is never replaced
# or deleted, a damaged result is recomputed instead of reused, a changed or
# deleted input file recomputes its stage, leftovers other than the host's own
# are left alone, and a lock that cannot be taken is reported as what it is.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
fail=0
runs="$work/runs"
run() { "$assim" run "$work/exp.yaml" --output "$runs" "$@" > "$work/log" 2>&1; }
expect() { grep -Eq -- "$1" "$work/log" || { cat "$work/log"; echo "FAIL: $2"; fail=1; }; }
cp "$case" "$work/exp.yaml"

# 1. A folder in a stage's place without a stage record is refused, untouched.
mkdir -p "$runs/safety/truth"
echo "precious" > "$runs/safety/truth/notes.txt"
run && { echo "FAIL: ran over a folder assim did not write"; fail=1; }
expect "truth.* exists but holds no stage record" "a foreign folder is named"
[ "$(cat "$runs/safety/truth/notes.txt" 2>/dev/null)" = precious ] || { echo "FAIL: the foreign folder was changed"; fail=1; }
[ ! -e "$runs/safety/seen" ] || { echo "FAIL: a stage ran although the run was refused"; fail=1; }
rm -rf "$runs/safety/truth"

# 2. Hidden folders that only look like leftovers are not the host's to delete.
mkdir -p "$runs/safety/.mine.partial-1" "$runs/safety/.truth.partial-x"
run || { cat "$work/log"; echo "FAIL: first run"; exit 1; }
[ -d "$runs/safety/.mine.partial-1" ] && [ -d "$runs/safety/.truth.partial-x" ] \
  || { echo "FAIL: a folder that is not a leftover of this experiment's stages was removed"; fail=1; }
grep -q "outputs:" "$runs/safety/truth/stage.yaml" || { echo "FAIL: the record lists no output digests"; fail=1; }

# 3. A damaged result is recomputed, not reused.
run; expect "stage truth \(generate\): unchanged, reusing" "an intact result is reused"
printf 'X' | dd of="$runs/safety/truth/data.nc" bs=1 seek=2000 conv=notrunc status=none
run || { cat "$work/log"; echo "FAIL: run after damage"; fail=1; }
expect "stage truth \(generate\): its result is damaged \(data.nc differs" "damage is detected and named"
expect "stage truth \(generate\): running" "a damaged result is recomputed"
rm "$runs/safety/seen/observations.nc"
run; expect "stage seen \(observe\): its result is damaged \(observations.nc is missing" "a missing output is damage"

# 4. A restart file is part of the hash: changed or deleted, the stage reruns.
"$assim" run "$work/exp.yaml" --output "$runs" --set stages.again.restart=truth_copy.nc > "$work/log" 2>&1
expect "stages.again.restart: file .*truth_copy.nc does not exist" "a missing restart is refused before running"
cp "$runs/safety/truth/data.nc" "$work/truth_copy.nc"
run --set stages.again.restart=truth_copy.nc || { cat "$work/log"; echo "FAIL: restart from a copy"; fail=1; }
expect "stage again \(generate\): running" "a restart stage runs"
run --set stages.again.restart=truth_copy.nc
expect "stage again \(generate\): unchanged, reusing" "the same restart file reuses the stage"
cp "$runs/safety/again/data.nc" "$work/truth_copy.nc"
run --set stages.again.restart=truth_copy.nc
expect "stage again \(generate\): running" "a changed restart file recomputes the stage"

# 5. A mask file: only 0 and 1 count; its bytes are in the hash.
mask() {  # mask FILE VALUE_OF_SITE_0: 40 sites, the rest observed
  { echo "netcdf m { dimensions: site = 40 ; variables: double mask(site) ; data: mask = $2"
    for _ in $(seq 2 40); do printf ', 1'; done; echo ' ; }'; } > "$work/mask.cdl"
  ncgen -4 -o "$1" "$work/mask.cdl"
}
mask "$work/mask.nc" 0.5
run --set stages.seen.mask.file=mask.nc && { echo "FAIL: a mask of 0.5 was taken"; fail=1; }
expect "stages.seen.mask.file: .*mask.nc: variable 'mask' has 1 values that are neither 0 \\(unobserved\\) nor 1" "a mask value other than 0 or 1 is refused"
mask "$work/mask.nc" 0
run --set stages.seen.mask.file=mask.nc || { cat "$work/log"; echo "FAIL: a 0/1 mask"; fail=1; }
expect "stage seen \(observe\): running" "a mask file recomputes observe"
mask "$work/mask.nc" 1
run --set stages.seen.mask.file=mask.nc
expect "stage seen \(observe\): running" "a changed mask file recomputes observe"
"$assim" validate "$work/exp.yaml" --threads 100000 > "$work/log" 2>&1 && { echo "FAIL: --threads 100000 accepted"; fail=1; }
expect "--threads 100000 is more than 4 threads per core" "an absurd thread count is refused"

# 6. A lock that is a folder, and an experiment folder that cannot be written.
mkdir -p "$work/lockruns/safety/.lock"
"$assim" run "$work/exp.yaml" --output "$work/lockruns" > "$work/log" 2>&1 && { echo "FAIL: ran with a folder as lock"; fail=1; }
expect "cannot open the lock file .*\.lock: Is a directory \(a folder is in its place" "a folder lock is named"
grep -q "another assim run" "$work/log" && { echo "FAIL: a folder lock is reported as another run"; fail=1; }
if [ "$(id -u)" -ne 0 ]; then
  mkdir -p "$work/ro"; chmod a-w "$work/ro"
  "$assim" run "$work/exp.yaml" --output "$work/ro" > "$work/log" 2>&1 && { echo "FAIL: ran in a read-only folder"; fail=1; }
  expect "cannot make the experiment's folder" "an unwritable output is named"
fi
exit $fail
