#!/usr/bin/env bash
# How long `assim validate` takes on a sweep that makes N stages: a generated
# file with an observe and an assimilate stage over two dimensions (a: 10
# values, b: N / 20) and an evaluate stage listing every assimilate stage, so
# N + 2 stages in all (N a multiple of 20). Prints the least wall and CPU
# seconds over the rounds per size.
# usage: bench/sweeps/validate_time.sh [build/apps/assim/assim] [rounds] [N ...]
set -eu
assim=${1:-build/apps/assim/assim}
rounds=${2:-1}
shift $(( $# < 2 ? $# : 2 ))
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 40000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for n in "${sizes[@]}"; do
  file=$work/sweep_$n.yaml
  {
    echo "seed: 1"
    echo "components:"
    echo "  l96: {type: model.lorenz96, sites: 40}"
    echo "  easy: {type: obs.arctan, scale: 3}"
    echo "  letkf: {type: sampler.enkf, method: letkf, localisation: {radius: 4}}"
    echo "sweeps:"
    echo "  a: {$(seq -s, 1 10 | sed 's/\([0-9]*\)/a\1: 0.\1/g; s/,/, /g')}"
    echo "  b: [$(seq -s, 1 $((n / 20)) | sed 's/,/, /g')]"
    echo "stages:"
    echo "  truth: {run: generate, model: \$l96, spinup: 20, frames: 200}"
    echo "  seen_<a>_<b>: {run: observe, over: [a, b], data: \$truth, operator: \$easy, window: 10,"
    echo "                 noise: {sigma: <a>}, background: {sigma: 0.5}}"
    echo "  enkf_<a>_<b>: {run: assimilate, over: [a, b], observations: \$seen_<a>_<b>, sampler: \$letkf,"
    echo "                 model: \$l96, windows: 4}"
    echo "  scores: {run: evaluate, of: [\$enkf_<a>_<b>]}"
  } > "$file"
  best= best_cpu=
  for _ in $(seq "$rounds"); do
    # wall and CPU (user + system) seconds: on a shared machine the CPU time is the steadier
    TIMEFORMAT='%R %U %S'
    { time OMP_NUM_THREADS=1 "$assim" validate "$file" --threads 1 > "$work/log" 2>&1; } 2> "$work/time" \
      || { cat "$work/log"; exit 1; }
    read -r wall user sys < "$work/time"
    cpu=$(echo "$user + $sys" | bc)
    if [ -z "$best" ] || [ "$(echo "$wall < $best" | bc)" -eq 1 ]; then best=$wall; fi
    if [ -z "$best_cpu" ] || [ "$(echo "$cpu < $best_cpu" | bc)" -eq 1 ]; then best_cpu=$cpu; fi
  done
  printf '%s stages: %.2f s wall, %.2f s CPU\n' "$((n + 2))" "$best" "$best_cpu"
done
