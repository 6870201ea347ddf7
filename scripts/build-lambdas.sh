#!/usr/bin/env bash
# make build: the Lambda zips for provided.al2023 on arm64 (Graviton), as
# terraform/ expects them: target/lambda/signurl/bootstrap.zip and
# target/lambda/rewriter/bootstrap.zip. Installs what it needs, idempotently:
# the aarch64 Rust target (rustup) and cargo-lambda with zig (PyPI, in .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "build: $*" >&2; exit 1; }

target=aarch64-unknown-linux-gnu
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  command -v rustup >/dev/null || die "rustup is required to add the $target target"
  rustup target add "$target" >&2 || die "rustup target add $target failed"
fi

scripts/bootstrap.sh python
if [ ! -x .venv/bin/cargo-lambda ]; then
  echo "build: installing cargo-lambda (with zig) into .venv" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "cargo-lambda==1.9.2" \
    || die "pip install cargo-lambda failed (is PyPI reachable?)"
fi
# cargo-lambda finds zig (ziglang, installed with it) on the venv's PATH.
export PATH="$PWD/.venv/bin:$PATH"

cargo lambda build --release --arm64 --output-format zip --locked -p signurl -p rewriter >&2 \
  || die "cargo lambda build failed"
for name in signurl rewriter; do
  zip="${CARGO_TARGET_DIR:-target}/lambda/$name/bootstrap.zip"
  [ -f "$zip" ] || die "$zip was not produced"
  echo "$zip"
done
