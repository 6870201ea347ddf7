"""Shared fixtures for the Python-side tests: paths and the built binaries.

scripts/test.sh builds the workspace binaries before pytest runs; the fixtures
here only locate them and fail loudly when they are missing.
"""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
FIXTURES = ROOT / "layers" / "cloudfront-sign" / "tests" / "fixtures"
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"


def binary(name: str) -> pathlib.Path:
    path = TARGET / "debug" / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `cargo build --workspace --bins` (scripts/test.sh does)")
    return path


@pytest.fixture(scope="session")
def cfsign() -> pathlib.Path:
    return binary("cfsign")
