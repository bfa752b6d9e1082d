#!/usr/bin/env bash
# A type under its deprecated name still runs, with a warning naming the file,
# line and the current name.
set -u
assim=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/old.yaml" <<'YAML'
components:
  qg: {type: qg.two_layer, nx: 16}
stages:
  truth: {run: generate, model: $qg, frames: 2}
YAML
"$assim" validate "$work/old.yaml" > "$work/log" 2>&1 || { echo "FAIL: the deprecated name is refused"; cat "$work/log"; exit 1; }
grep -q "old.yaml:2:.*type 'qg.two_layer' is deprecated; it is now 'model.qg'" "$work/log" \
  || { echo "FAIL: no warning naming the file, line and new name:"; cat "$work/log"; exit 1; }
echo "the deprecated name runs and warns"
