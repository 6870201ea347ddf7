#!/usr/bin/env bash
# Warm invocation latency of the rewriter against moto, per playlist size, one
# process per size so that each peak RSS is its own. Figures are printed, not asserted.
#   functions/rewriter/bench.sh [resign|per-uri|reuse]
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv/bin/moto_server ] || scripts/bootstrap.sh python
cargo build --release --locked -p rewriter --example bench_moto
for n in 10 1000 10000; do
  target/release/examples/bench_moto "$n" --mode "${1:-resign}" --runs "${RUNS:-30}" | { [ "$n" = 10 ] && cat || tail -n 1; }
done
