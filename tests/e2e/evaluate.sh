#!/usr/bin/env bash
# The evaluation table describes 3D-Var (sampler.var4d on one-frame windows)
# and a filter on one-frame windows as they run: from the background, with no
# model and no adjoint, and 0 model steps per window. Absent numbers are "-":
# the spread over seeds of runs of one seed, 3D-Var's ensemble spread.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$assim" run "$case" --output "$work/runs" > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: run"; exit 1; }
table="$work/runs/evaluate/scores/evaluation.txt"
cat "$table"
fail=0
for run in by_3dvar by_letkf; do
  grep -q "^$run: background (one-frame window: no model)$" "$table" ||
    { echo "FAIL: $run is not described as taking a background and no model"; fail=1; }
  awk -v run=$run '$1 == "run" { for (i = 1; i <= NF; i++) if ($i == "steps/w") col = i }
                   $1 == run { found = 1; exit ($col != 0) } END { if (!found) exit 1 }' "$table" ||
    { echo "FAIL: $run's model steps per window are not 0"; fail=1; }
done
# Every run has one seed: its spread over seeds is absent, not 0 (the first
# table, the scores; the observation-space tables follow it).
awk '$1 == "run" { width = NF; for (i = 1; i <= NF; i++) if ($i == "+-seeds") col = i; next }
     width && NF == width { n++; if ($col != "-") bad = 1 } NF == 0 && width { exit } END { exit !(col && n == 2 && !bad) }' "$table" ||
  { echo "FAIL: the +-seeds column of runs with one seed is not '-'"; fail=1; }
awk '$1 == "run" { for (i = 1; i <= NF; i++) if ($i == "spread") col = i; next }
     $1 == "by_3dvar" { exit ($col != "-") }' "$table" ||
  { echo "FAIL: the ensemble spread of one-member 3D-Var is not '-'"; fail=1; }
if grep -Eiw -- '-?(nan|inf)' "$table"; then echo "FAIL: the table prints nan or inf for an absent number"; fail=1; fi
exit $fail
