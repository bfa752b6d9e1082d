#!/usr/bin/env bash
# Every experiment file in experiments/ validates against the plugins as built
# (a renamed parameter or type breaks no shipped experiment unnoticed), and the
# generated experiments/score/*_cpu.yaml are what their generator writes now.
set -u
assim=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
count=0
while IFS= read -r file; do
  count=$((count + 1))
  "$assim" validate "$file" > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: $file does not validate"; fail=1; }
done < <(find "$root/experiments" -name '*.yaml' | sort)
[ "$count" -ge 10 ] || { echo "FAIL: found only $count experiment files under $root/experiments"; fail=1; }
python3 "$root/experiments/score/cpu_experiments.py" "$work" || { echo "FAIL: the generator failed"; exit 1; }
for generated in "$work"/*.yaml; do
  diff -q "$generated" "$root/experiments/score/$(basename "$generated")" > /dev/null \
    || { echo "FAIL: experiments/score/$(basename "$generated") differs from what cpu_experiments.py writes; rerun it"; fail=1; }
done
echo "validated $count experiment files"
exit $fail
