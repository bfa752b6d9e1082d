#!/usr/bin/env bash
# Which BLAS Debian's LibTorch calls, measured side by side in one run: the
# reference BLAS (netlib, what libtorch-dev pulls in) against OpenBLAS built
# for OpenMP (LibTorch's own thread pool) and single-threaded OpenBLAS.
# Each round runs bench/score_sampling's program once per BLAS, chosen by
# LD_LIBRARY_PATH, alternating; the least time per case is kept.
#   bench/blas/compare.sh build/bench/score_sampling/score_sampling_bench [ROUNDS]
set -euo pipefail
bench=$1 rounds=${2:-3}
lib=/usr/lib/$(gcc -print-multiarch)
declare -A dirs=([netlib]=$lib/blas:$lib/lapack [openblas-openmp]=$lib/openblas-openmp [openblas-serial]=$lib/openblas-serial)
for name in "${!dirs[@]}"; do
  [ -e "${dirs[$name]%%:*}/libblas.so.3" ] || { echo "missing ${dirs[$name]%%:*}/libblas.so.3 (scripts/setup installs OpenBLAS)"; exit 1; }
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 0; r < rounds; ++r)); do
  for name in netlib openblas-openmp openblas-serial; do
    LD_LIBRARY_PATH=${dirs[$name]} "$bench" --steps 8 --corrections 0 --members 1,4 --threads 1,2 2> /dev/null |
      sed -n "s/^time /$name /p" >> "$out"
  done
done
# "<blas> <sampler> threads <t> members <m> seconds <s>" -> least seconds per case, ratio to netlib.
awk '{ key = $2 " " $4 " " $6; s = $8; if (!((key, $1) in best) || s < best[key, $1]) best[key, $1] = s; keys[key] = 1 }
     END {
       printf "%-6s %7s %7s %10s %16s %16s %8s %8s\n", "sampler", "threads", "members", "netlib s", "openblas-openmp s",
              "openblas-serial s", "x omp", "x serial"
       for (k in keys) { split(k, f, " ")
         printf "%-6s %7s %7s %10.3f %16.3f %16.3f %8.2f %8.2f\n", f[1], f[2], f[3], best[k, "netlib"],
                best[k, "openblas-openmp"], best[k, "openblas-serial"],
                best[k, "netlib"] / best[k, "openblas-openmp"], best[k, "netlib"] / best[k, "openblas-serial"] } }' \
  "$out" | sort
