#!/usr/bin/env bash
# A full disk fails the stage it happens in, and only that: the host exits
# non-zero naming the file and the reason, never crashes (HDF5 flushing a file
# whose close failed at exit), and commits nothing (no stage folder, no empty
# stage.yaml, no temporary folder). Two disks: (a) the NetCDF data does not
# fit; (b) the data fits but the stage record does not.
# Small tmpfs mounts stand for the full disk: the test runs as root where mount
# is permitted (as CI does) and skips otherwise.
set -u
assim=$1 case=$2
if [ "$(id -u)" -ne 0 ]; then echo "skipped: mounting a small tmpfs needs root"; exit 0; fi
work=$(mktemp -d)
disk="$work/disk"
mkdir "$disk"
trap 'umount "$disk" 2>/dev/null; rm -rf "$work"' EXIT
if ! mount -t tmpfs -o size=64k tmpfs "$disk" 2>/dev/null; then echo "skipped: cannot mount a tmpfs here"; exit 0; fi
umount "$disk"
fail=0
page=$(getconf PAGESIZE)
# One stage, generate: its data.nc and its stage.yaml are all it writes.
run() { OMP_NUM_THREADS=1 "$assim" run "$case" --output "$disk" --threads 1 --only truth "$@" > "$work/log" 2>&1; }
fresh_disk() { umount "$disk" 2>/dev/null; mount -t tmpfs -o "size=$1" tmpfs "$disk"; }
free_bytes() { df --output=avail -B1 "$disk" | tail -1 | tr -d ' '; }
used_bytes() { df --output=used -B1 "$disk" | tail -1 | tr -d ' '; }

# A failed run: non-zero, not a signal, the file and the reason named, nothing committed.
failed_cleanly() {  # failed_cleanly STATUS WHAT
  local status=$1 what=$2
  if [ "$status" -eq 0 ]; then echo "FAIL ($what): exit status 0 on a full disk"; fail=1; fi
  if [ "$status" -ge 128 ] || grep -Eqi "segmentation|core dumped|aborted" "$work/log"; then
    cat "$work/log"; echo "FAIL ($what): the host crashed (exit status $status)"; fail=1
  fi
  grep -Eq "$disk/reuse/\.truth\.partial-[0-9]+/(data\.nc|stage\.yaml).*No space left on device" "$work/log" \
    || { cat "$work/log"; echo "FAIL ($what): the message does not name the file and 'No space left on device'"; fail=1; }
  if [ -n "$(find "$disk" -name stage.yaml -size 0)" ]; then echo "FAIL ($what): an empty stage.yaml was left"; fail=1; fi
  if [ -e "$disk/reuse/truth" ]; then echo "FAIL ($what): a stage folder was committed"; fail=1; fi
  if compgen -G "$disk/reuse/.truth.partial-*" > /dev/null; then echo "FAIL ($what): the temporary folder was left"; fail=1; fi
}

# (a) Data that cannot fit: 1000 frames of 40 sites in doubles are 320 kB a trajectory.
fresh_disk 64k
run --set stages.truth.frames=1000
failed_cleanly $? "data does not fit"

# (b) The data fits, the record does not. What the stage writes besides its
# record is measured on a roomy disk, then a filler leaves room for that and
# one page more at a time: the first runs fail on the data or on the record,
# until there is room for both.
fresh_disk 16m
before=$(used_bytes)
run || { cat "$work/log"; echo "FAIL: the run on a roomy disk"; exit 1; }
record=$(du -B "$page" "$disk/reuse/truth/stage.yaml" | cut -f1)
data=$(( $(used_bytes) - before - record * page ))
record_named=0
for extra in 0 1 2 3 4 5 6 7; do
  fresh_disk 16m
  mkdir -p "$disk/reuse"
  fallocate -l $(( $(free_bytes) - data - extra * page )) "$disk/filler"
  run
  status=$?
  if [ "$status" -eq 0 ]; then
    [ -s "$disk/reuse/truth/stage.yaml" ] || { echo "FAIL (record does not fit): exit status 0 with an empty stage.yaml"; fail=1; }
    break
  fi
  failed_cleanly "$status" "data fits, $extra pages to spare"
  grep -Eq "stage\.yaml.*No space left on device" "$work/log" && record_named=1
done
[ "$record_named" -eq 1 ] || { echo "FAIL: no run failed on writing the record"; fail=1; }
exit $fail
