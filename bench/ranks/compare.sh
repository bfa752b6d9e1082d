#!/usr/bin/env bash
# One stage of each spreading kind (generate, assimilate with SDA, a cycled
# LETKF and 4D-Var, a filter whose members' forecasts are split) timed on
# 1 rank x 1 thread, 1 rank x 2 threads and 2 ranks x 1 thread, one after the
# other in the same run, each stage alone (--only STAGE --force) so that all
# ranks work on it. Prints a markdown table: the stage's wall seconds (its
# record's), the 2-rank speed-ups, and the bytes rank 0 sent.
# usage: bench/ranks/compare.sh [build/apps/assim/assim] [rounds]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
assim=${1:-build/apps/assim/assim}
rounds=${2:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
stages=(truth by_sda by_letkf by_var4d letkf_cycles)
"$assim" run "$here/ranks.yaml" --output "$work/runs" --log-level warning
seconds() { sed -n 's/^seconds: //p' "$work/runs/bench_ranks/$1/stage.yaml"; }
declare -A best
for round in $(seq "$rounds"); do
  for config in 1x1 1x2 2x1; do
    for stage in "${stages[@]}"; do
      case $config in
        1x1) "$assim" run "$here/ranks.yaml" --output "$work/runs" --only "$stage" --force --threads 1 \
               > "$work/log" 2>&1 ;;
        1x2) "$assim" run "$here/ranks.yaml" --output "$work/runs" --only "$stage" --force --threads 2 \
               > "$work/log" 2>&1 ;;
        2x1) mpirun -n 2 "$assim" run "$here/ranks.yaml" --output "$work/runs" --only "$stage" --force --threads 1 \
               > "$work/log" 2>&1 ;;
      esac
      s=$(seconds "$stage")
      key=$config.$stage
      if [ -z "${best[$key]:-}" ] || awk -v a="$s" -v b="${best[$key]}" 'BEGIN { exit !(a < b) }'; then best[$key]=$s; fi
      if [ "$stage" = letkf_cycles ]; then
        for a in forecast_seconds_per_cycle analysis_seconds_per_cycle; do
          v=$(ncdump -h "$work/runs/bench_ranks/letkf_cycles/filter.nc" | sed -n "s/.*:$a = \(.*\) ;/\1/p")
          if [ -z "${best[$config.$a]:-}" ] || awk -v x="$v" -v y="${best[$config.$a]}" 'BEGIN { exit !(x < y) }'; then
            best[$config.$a]=$v
          fi
        done
      fi
      if [ "$config" = 2x1 ]; then
        best[bytes.$stage]=$(sed -n "s/.*rank 0\/2: stage $stage: sent \([0-9]*\) bytes.*/\1/p" "$work/log")
      fi
    done
  done
done
echo "| stage | 1 rank x 1 thread s | 1 rank x 2 threads s | 2 ranks x 1 thread s | 2 ranks / 1x1 | 2 ranks / 1x2 | bytes rank 0 sent |"
echo "|---|---|---|---|---|---|---|"
for stage in "${stages[@]}"; do
  a=${best[1x1.$stage]} b=${best[1x2.$stage]} c=${best[2x1.$stage]}
  awk -v s="$stage" -v a="$a" -v b="$b" -v c="$c" -v n="${best[bytes.$stage]}" \
    'BEGIN { printf "| %s | %.2f | %.2f | %.2f | %.2fx | %.2fx | %s |\n", s, a, b, c, a / c, b / c, n }'
done
echo
echo "| letkf_cycles, per cycle | 1 rank x 1 thread s | 1 rank x 2 threads s | 2 ranks x 1 thread s |"
echo "|---|---|---|---|"
for a in forecast_seconds_per_cycle analysis_seconds_per_cycle; do
  echo "| ${a%_seconds_per_cycle} | ${best[1x1.$a]} | ${best[1x2.$a]} | ${best[2x1.$a]} |"
done
