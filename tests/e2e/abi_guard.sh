#!/usr/bin/env bash
# The plugin contract cannot change unnoticed: the declarations of
# sdk/include/assim/*.hpp must be the ones sdk/abi.digest records for this
# ASSIM_ABI_VERSION. A change of them fails here until the version is bumped
# (a plugin built against the old headers is then refused, not loaded into a
# segfault) or, for a change every built plugin survives, recorded again.
set -u
source=$1
cd "$source" || exit 1
now=$(scripts/abi_digest) || { echo "FAIL: scripts/abi_digest did not run"; exit 1; }
recorded=$(cat sdk/abi.digest)
if [ "$now" != "$recorded" ]; then
  echo "FAIL: the SDK headers are not the ones recorded for their ABI version"
  echo "  recorded: $recorded"
  echo "  now:      $now"
  if [ "${now#abi * }" != "${recorded#abi * }" ] && [ "$(echo "$now" | cut -d' ' -f2)" = "$(echo "$recorded" | cut -d' ' -f2)" ]; then
    echo "  the declarations changed under the same ASSIM_ABI_VERSION: bump it in sdk/include/assim/abi.hpp if a"
    echo "  plugin built against the old headers could misbehave (a virtual, a struct's layout), then run"
  else
    echo "  run"
  fi
  echo "  scripts/abi_digest --record"
  exit 1
fi
echo "the SDK headers are the ones recorded for ABI $(echo "$now" | cut -d' ' -f2)"
