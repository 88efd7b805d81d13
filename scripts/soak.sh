#!/usr/bin/env bash
# soak.sh: a long stress soak, not part of `npm test`.  Runs `lwkt-sim stress` over every
# workload, with swarm faults, WITNESS and invariants, in both engines and both dispatch
# models, SOAK_SECONDS each (default 600), collecting every failure (--all); each
# deterministic failure prints the command that reruns it.  Exit status 1 if any run failed.
#   npm run soak                  # 4 x 10 minutes
#   SOAK_SECONDS=60 npm run soak  # 4 x 1 minute
set -u
cd "$(dirname "$0")/.."
secs=${SOAK_SECONDS:-600}
first=${SOAK_FIRST_SEED:-$(( $(date +%s) % 1000000 * 1000 ))}
status=0
for engine in deterministic parallel; do
  for model in bgl netisr; do
    echo "== soak: $engine engine, $model, $secs s, seeds from $first" >&2
    node dist/src/cli/main.js stress --engine "$engine" --model "$model" --seconds "$secs" --first-seed "$first" --all || status=1
  done
done
exit $status
