"""Paths and helpers shared by the Python-side tests (imported as `support`).

scripts/test.sh builds the workspace binaries before pytest runs; `binary()`
only locates them and fails loudly when one is missing.
"""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
FIXTURES = ROOT / "layers" / "cloudfront-sign" / "tests" / "fixtures"
# The playlist corpus, in the repository: a fresh clone has everything it needs.
CORPUS = ROOT / "tests" / "fixtures" / "corpus"


# Tests use debug builds; benchmarks (make load) set SIGNED_HLS_PROFILE=release.
PROFILE = os.environ.get("SIGNED_HLS_PROFILE", "debug")


def binary(name: str) -> pathlib.Path:
    path = TARGET / PROFILE / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `cargo build --workspace --bins` (scripts/test.sh does)")
    return path
