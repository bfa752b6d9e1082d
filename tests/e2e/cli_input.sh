#!/usr/bin/env bash
# Command lines a careless user types: each is refused with a message that
# says what is wrong, before anything runs, and nothing is written.
set -u
assim=$1 case=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
refused() {  # pattern, what, assim arguments...
  local pattern=$1 what=$2
  shift 2
  (cd "$work" && "$assim" "$@") > "$work/log" 2>&1 && { echo "FAIL ($what): accepted"; fail=1; return; }
  grep -Eq -- "$pattern" "$work/log" || { cat "$work/log"; echo "FAIL ($what): no /$pattern/"; fail=1; }
}
refused "not UTF-8 text" "a non-UTF-8 --set" run "$case" --set "stages.truth.frames=$(printf '\xff\xfe')"
long=$(printf '1%.0s' $(seq 95))
refused "got '1{24}\.\.\. \(95 characters\)'" "a 95-digit number is abbreviated" run "$case" --set "stages.truth.frames=$long"
grep -q "$long" "$work/log" && { echo "FAIL: the 95 digits are in the message"; fail=1; }
refused "--output '': name the folder" "an empty --output" run "$case" --output ''
refused "a variant needs a name" "an empty --variant" run "$case" --variant ''
refused "--adopt computes nothing and --force recomputes" "--adopt with --force" run "$case" --adopt --force
mkdir -p "$work/folder.yaml"
refused "is a folder: name an experiment file" "a folder as the experiment" run "$work/folder.yaml"
printf 'name: only_a_name\n' > "$work/named.yaml"
refused "named\.yaml.*stages: the experiment has no stages: nothing to run" "a file with only a name" run "$work/named.yaml"
: > "$work/empty.yaml"
refused "empty\.yaml.*(must be a map|no stages)" "an empty file" run "$work/empty.yaml"
[ -e "$work/runs" ] && { echo "FAIL: a refused command wrote results"; fail=1; }
(cd "$work" && "$assim" validate "$case" --print) > "$work/log" 2>&1 || { cat "$work/log"; echo "FAIL: validate --print"; fail=1; }
grep -q '^name: reuse' "$work/log" || { cat "$work/log"; echo "FAIL: validate --print does not print the name it runs under"; fail=1; }
sed '/^name:/d' "$case" > "$work/unnamed.yaml"
(cd "$work" && "$assim" validate "$work/unnamed.yaml" --print) > "$work/log" 2>&1
grep -q '^name: unnamed' "$work/log" || { cat "$work/log"; echo "FAIL: an unnamed file's name is not its stem"; fail=1; }
[ "$fail" -eq 0 ] && echo "every careless command line is refused with its reason"
exit $fail
