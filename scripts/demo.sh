#!/usr/bin/env bash
# The main job, end to end on this machine: builds aia, starts 4 worker daemons on
# loopback, runs asynchronous SGD on heart_scale and writes the run's history to
# runs/. Extra arguments go to `aia run` (for example --set stop.iteration=500).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
bazel build -c opt //coordinator:aia //worker:aia_worker
bin=$(bazel info -c opt bazel-bin 2>/dev/null)
out="runs/sgd_least_squares-$(date -u +%Y%m%dT%H%M%SZ)"
"$bin/coordinator/aia" run examples/sgd_least_squares.textproto \
  --local_workers=4 --out="$out" "$@"
echo
echo "== $out/summary.json"
cat "$out/summary.json"
echo "== $out/history.csv (last rows)"
tail -n 3 "$out/history.csv"
