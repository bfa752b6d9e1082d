#!/usr/bin/env bash
# The thread policy on a shared machine: a small prior fit (tests/e2e/pipeline.yaml's fit_x, 15 epochs)
# with 1 and 2 LibTorch threads, OpenMP's default wait policy, OMP_WAIT_POLICY=passive and
# GOMP_SPINCOUNT, on an idle machine and with one core held by another process (`yes`). Prints the
# least stage seconds over the rounds for each case, one case after the other in the same run.
# usage: bench/threads/contention.sh [build/apps/assim/assim] [rounds]
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
assim=${1:-build/apps/assim/assim}
rounds=${2:-2}
work=$(mktemp -d)
busy=
trap 'rm -rf "$work"; [ -z "$busy" ] || kill "$busy" 2>/dev/null' EXIT
"$assim" run "$here/tests/e2e/pipeline.yaml" --output "$work/runs" --only truth --log-level warning
cases=("1 default" "2 default" "2 passive" "2 spin10000" "2 spin1000000")
declare -A best
for round in $(seq "$rounds"); do
  for load in idle busy; do
    if [ $load = busy ]; then yes > /dev/null & busy=$!; fi
    for c in "${cases[@]}"; do
      read -r threads policy <<< "$c"
      (
        unset OMP_WAIT_POLICY GOMP_SPINCOUNT OMP_NUM_THREADS
        case $policy in passive) export OMP_WAIT_POLICY=passive ;; spin*) export GOMP_SPINCOUNT=${policy#spin} ;; esac
        "$assim" run "$here/tests/e2e/pipeline.yaml" --output "$work/runs" --only fit_x --force \
          --set stages.fit_x.epochs=15 --threads "$threads" --log-level warning
      )
      s=$(sed -n 's/^seconds: //p' "$work/runs/pipeline/fit_x/stage.yaml")
      key="$load $c"
      if [ -z "${best[$key]:-}" ] || awk -v a="$s" -v b="${best[$key]}" 'BEGIN { exit !(a < b) }'; then best[$key]=$s; fi
    done
    if [ $load = busy ]; then kill "$busy"; wait "$busy" 2>/dev/null || true; busy=; fi
  done
done
echo "| threads | OpenMP wait | idle s | one core busy s | busy / idle |"
echo "|---|---|---|---|---|"
for c in "${cases[@]}"; do
  read -r threads policy <<< "$c"
  awk -v t="$threads" -v p="$policy" -v a="${best[idle $c]}" -v b="${best[busy $c]}" \
    'BEGIN { printf "| %s | %s | %.2f | %.2f | %.2fx |\n", t, p, a, b, b / a }'
done
