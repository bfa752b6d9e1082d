#!/usr/bin/env bash
# A 32 x 32 prior's fit (bench/runner/train.yaml's stage fit) on 1 and on 2
# workers of one tensor thread each, one after the other in the same run,
# `rounds` times alternating. Prints each case's least mean epoch seconds
# (training.csv's seconds column, validation included), the speed-up of 2
# workers over 1, and whether the loss columns (train and validation) of
# every run are the same as the first one's, digit for digit.
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
for round in $(seq "$rounds"); do
  for workers in 1 2; do
    "$assim" run "$here/train.yaml" --output "$work/runs" --only fit --force --workers "$workers" --threads 1 \
      "${set_shards[@]}" --log-level warning
    csv="$work/runs/bench_train/fit/training.csv"
    cut -d, -f1-3 "$csv" > "$work/losses.$workers.$round"
    cmp -s "$work/losses.1.1" "$work/losses.$workers.$round" || same=no
    s=$(awk -F, 'NR > 1 { sum += $4; n++ } END { printf "%.3f", sum / n }' "$csv")
    echo "round $round, $workers worker(s): $s s per epoch"
    if [ -z "${best[$workers]:-}" ] || awk -v a="$s" -v b="${best[$workers]}" 'BEGIN { exit !(a < b) }'; then
      best[$workers]=$s
    fi
  done
done
echo
echo "| shards | 1 worker s/epoch | 2 workers s/epoch | speed-up | loss columns identical |"
echo "|---|---|---|---|---|"
awk -v k="$shards" -v a="${best[1]}" -v b="${best[2]}" -v same="$same" \
  'BEGIN { printf "| %s | %.2f | %.2f | %.2fx | %s |\n", k, a, b, a / b, same }'
echo
echo "losses (epoch, train, validation):"
cat "$work/losses.1.1"
