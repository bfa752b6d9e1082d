#!/usr/bin/env bash
# The runner's targets (issue 40), side by side in one run: every stage of the
# main job (experiments/bayesian_view/demo.yaml, its fits shortened to
# EPOCHS epochs) and a LETKF filter of 2 repetitions (filter.yaml), each
# alone (--only STAGE --force), then the whole main job (--force), on
# `--workers 1` and on the default workers, on an idle machine and with one
# core held by a busy loop this script starts. Prints each case's least wall
# seconds over the rounds (a stage's from its record) and the ratios the
# targets name: default / 1 worker when idle (speed-up), and default under
# load / 1 worker under load (at most 1.15).
# usage: bench/runner/compare.sh [build/apps/assim/assim] [rounds] [epochs]
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
assim=${1:-build/apps/assim/assim}
rounds=${2:-1}
epochs=${3:-40}
work=$(mktemp -d)
busy=
trap 'rm -rf "$work"; [ -z "$busy" ] || kill "$busy" 2>/dev/null' EXIT
demo=$here/experiments/bayesian_view/demo.yaml
short=()
for fit in fit_state fit_easy fit_fw; do short+=(--set "stages.$fit.epochs=$epochs"); done
"$assim" run "$demo" "${short[@]}" --output "$work/runs" --log-level warning
"$assim" run "$here/bench/runner/filter.yaml" --output "$work/runs" --log-level warning --only letkf_cycles
stages=(truth seen fit_state fit_easy fit_fw by_var4d_strong by_var4d_weak by_letkf by_estimator by_sda by_soad
        letkf_cycles)
file_of() { [ "$1" = letkf_cycles ] && echo "$here/bench/runner/filter.yaml" || echo "$demo"; }
folder_of() { [ "$1" = letkf_cycles ] && echo "$work/runs/bench_runner_filter/$1" || echo "$work/runs/bayesian_view_demo/$1"; }
declare -A best
keep() {  # key seconds
  if [ -z "${best[$1]:-}" ] || awk -v a="$2" -v b="${best[$1]}" 'BEGIN { exit !(a < b) }'; then best[$1]=$2; fi
}
for round in $(seq "$rounds"); do
  for load in idle busy; do
    if [ $load = busy ]; then yes > /dev/null & busy=$!; fi
    for workers in 1 default; do
      flags=()
      [ "$workers" = 1 ] && flags=(--workers 1)
      for stage in "${stages[@]}"; do
        sets=("${short[@]}")
        [ "$stage" = letkf_cycles ] && sets=()
        "$assim" run "$(file_of "$stage")" "${sets[@]}" --output "$work/runs" --only "$stage" --force \
          "${flags[@]}" --log-level warning > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
        keep "$load $workers $stage" "$(sed -n 's/^seconds: //p' "$(folder_of "$stage")/stage.yaml")"
      done
      start=$(date +%s.%N)
      "$assim" run "$demo" "${short[@]}" --output "$work/runs" --force "${flags[@]}" --log-level warning \
        > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
      keep "$load $workers main job" "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
    done
    if [ $load = busy ]; then kill "$busy"; wait "$busy" 2>/dev/null || true; busy=; fi
  done
done
record=$(folder_of truth)/stage.yaml
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; default: $(sed -n 's/^  workers: //p' "$record") worker(s) of $(sed -n 's/^  threads: //p' "$record") tensor thread(s)"
echo
echo "| stage | 1 worker idle s | default idle s | speed-up idle | 1 worker busy s | default busy s | default / 1 worker, busy |"
echo "|---|---|---|---|---|---|---|"
for stage in "${stages[@]}" "main job"; do
  awk -v s="$stage" -v a="${best[idle 1 $stage]}" -v b="${best[idle default $stage]}" \
      -v c="${best[busy 1 $stage]}" -v d="${best[busy default $stage]}" \
    'BEGIN { printf "| %s | %.2f | %.2f | %.2fx | %.2f | %.2f | %.2f |\n", s, a, b, a / b, c, d, d / c }'
done
