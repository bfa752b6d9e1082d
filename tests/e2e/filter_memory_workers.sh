#!/usr/bin/env bash
# A filter's memory check counts the repetitions in flight on the workers:
# an ensemble that takes 0.7 of the machine's memory fits on one worker, and
# two repetitions of it on two workers (1.4 of it) are refused before
# anything runs, at the members key, naming the repetitions in flight.
set -u
assim=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# What assim's check takes for the machine's memory: the physical memory,
# or the address-space limit where one is set.
bytes=$(( $(getconf _PHYS_PAGES) * $(getconf PAGE_SIZE) ))
limit=$(ulimit -v)
[ "$limit" != unlimited ] && [ $(( limit * 1024 )) -lt "$bytes" ] && bytes=$(( limit * 1024 ))
# The check's estimate: 16 copies of each member's state of 4000 float64 sites.
members=$(( bytes * 7 / 10 / (16 * 4000 * 8) ))
cat > "$work/flight.yaml" <<YAML
components:
  l96: {type: model.lorenz96, sites: 4000}
  direct: {type: obs.identity}
  etkf: {type: sampler.enkf}
stages:
  cycled: {run: filter, model: \$l96, sampler: \$etkf, operator: \$direct, members: $members, cycles: 10,
           repetitions: 2}
YAML
fail=0
"$assim" validate "$work/flight.yaml" --workers 1 > "$work/one" 2>&1 \
  || { cat "$work/one"; echo "FAIL: one repetition in flight, 0.7 of the memory, is refused"; fail=1; }
if "$assim" validate "$work/flight.yaml" --workers 2 > "$work/two" 2>&1; then
  echo "FAIL: two repetitions in flight, 1.4 of the memory, are not refused"; fail=1
elif ! grep -Eq "flight\.yaml:[0-9]+:[0-9]+: stages\.cycled\.members: .*2 repetition\(s\) in flight \(--workers\) needs about" "$work/two"; then
  cat "$work/two"; echo "FAIL: the refusal does not name the key and the repetitions in flight"; fail=1
fi
exit $fail
