"""The playlist cross-checks' one fixture: the command that rewrites a
playlist on stdin (`cfsign rewrite`, built by scripts/test.sh)."""
import pytest

from support import binary


@pytest.fixture(scope="session")
def rewrite_command() -> list[str]:
    return [str(binary("cfsign")), "rewrite"]
