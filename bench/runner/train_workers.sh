#!/usr/bin/env bash
# A 32 x 32 prior's fit (bench/runner/train.yaml's stage fit) on 1 and on 2
# workers of one tensor thread each, and on 2 MPI ranks of 1 worker each
# where mpirun is found, one after the other in the same run, `rounds` times
# alternating. Prints each case's least mean epoch seconds (training.csv's
# seconds column, validation included), the speed-ups over 1 worker, and
# whether the loss columns (train and validation) of every run are the same
# as the first one's, digit for digit.
# usage: bench/runner/train_workers.sh [build/apps/assim/assim] [rounds] [shards]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
assim=${1:-build/apps/assim/assim}
rounds=${2:-2}
shards=${3:-4}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
set_shards=(--set "components.prior.shards=$shards")
"$assim" run "$here/train.yaml" --output "$work/runs" --only truth --workers 2 --log-level warning
declare -A best
same=yes
cases="1 2"
mpirun=$(command -v mpirun || true)
[ -n "$mpirun" ] && cases="1 2 ranks"
# Open MPI refuses root unless told.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
for round in $(seq "$rounds"); do
  for case in $cases; do
    fit=(run "$here/train.yaml" --output "$work/runs" --only fit --force --threads 1 "${set_shards[@]}" --log-level warning)
    if [ "$case" = ranks ]; then "$mpirun" -n 2 "$assim" "${fit[@]}" --workers 1; else "$assim" "${fit[@]}" --workers "$case"; fi
    csv="$work/runs/bench_train/fit/training.csv"
    cut -d, -f1-3 "$csv" > "$work/losses.$case.$round"
    cmp -s "$work/losses.1.1" "$work/losses.$case.$round" || same=no
    s=$(awk -F, 'NR > 1 { sum += $4; n++ } END { printf "%.3f", sum / n }' "$csv")
    echo "round $round, $case: $s s per epoch"
    if [ -z "${best[$case]:-}" ] || awk -v a="$s" -v b="${best[$case]}" 'BEGIN { exit !(a < b) }'; then
      best[$case]=$s
    fi
  done
done
echo
echo "| shards | 1 worker s/epoch | 2 workers s/epoch | speed-up | 2 ranks of 1 worker s/epoch | speed-up | loss columns identical |"
echo "|---|---|---|---|---|---|---|"
awk -v k="$shards" -v a="${best[1]}" -v b="${best[2]}" -v r="${best[ranks]:-}" -v same="$same" \
  'BEGIN { printf "| %s | %.2f | %.2f | %.2fx | %s | %s | %s |\n", k, a, b, a / b,
           r == "" ? "-" : sprintf("%.2f", r), r == "" ? "-" : sprintf("%.2fx", a / r), same }'
echo
echo "losses (epoch, train, validation):"
cat "$work/losses.1.1"
