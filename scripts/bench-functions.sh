#!/usr/bin/env bash
# The rewriter's warm path through the Lambda Runtime API, next to its floors
# (a GetObject with the Rust SDK, a no-op function), in one run against one
# moto server: release builds, figures printed, never asserted.
#   scripts/bench-functions.sh [--runs N] [--sizes 10,1000,10000] [--baseline OLD_REWRITER_BINARY]
# (make bench-functions ARGS="--runs 50")
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/moto_server ] || scripts/bootstrap.sh python
cargo build -q --release --locked -p rewriter -p local-stack
bin="${CARGO_TARGET_DIR:-target}/release"
exec "$bin/local-stack" bench --rewriter "$bin/rewriter" --noop "$bin/noop-function" \
  --moto-server .venv/bin/moto_server "$@"
