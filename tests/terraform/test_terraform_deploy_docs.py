"""The deploy commands of the READMEs work with examples/complete (issue 11, finding 12).

Three documents tell an operator how to deploy: README.md (Deploy),
terraform/README.md (Deploy) and terraform/examples/complete/README.md. Each
sh block is replayed here, command by command, on paper: the working
directory follows `cd`, files appear where `mkdir` and `openssl -out` put
them, and `terraform apply -var NAME=VALUE` must run in examples/complete,
name only variables of the example and point at key files those same
commands created. All three must agree on one key path, and it must be
git-ignored (a private key must never be committed).
"""
import re
import shlex
import subprocess

import pytest

from tfmodule import EXAMPLE_DIR, ROOT, Module

DOCS = {
    "README.md": ("## Deploy", ROOT / "README.md"),
    "terraform/README.md": ("## Deploy", ROOT / "terraform" / "README.md"),
    "terraform/examples/complete/README.md": (None, EXAMPLE_DIR / "README.md"),
}
KEY_VARIABLES = {"private_key_file", "public_key_file"}


def _first_sh_block(text, heading):
    if heading is not None:
        start = text.index(heading + "\n")
        end = text.find("\n## ", start + len(heading))
        text = text[start : end if end != -1 else len(text)]
    m = re.search(r"```sh\n(.*?)```", text, re.S)
    assert m, f"no sh block under {heading!r}"
    return m.group(1)


def _commands(block):
    """Shell commands of a block: continuations joined, comments dropped, split at && and ;."""
    joined = re.sub(r"\\\n\s*", " ", block)
    commands = []
    for line in joined.splitlines():
        current = []
        for token in shlex.split(line, comments=True):
            if token in ("&&", ";"):
                commands.append(current)
                current = []
            else:
                current.append(token)
        commands.append(current)
    return [c for c in commands if c]


class Replay:
    def __init__(self, doc, block):
        self.doc = doc
        self.cwd = ROOT
        self.created = set()
        self.applies = []  # (cwd, {name: value})
        self.problems = []
        for command in _commands(block):
            self.run(command)

    def path(self, value):
        return (self.cwd / value).resolve()

    def run(self, argv):
        name = argv[0]
        if name == "cd":
            self.cwd = self.path(argv[1])
            if not self.cwd.is_dir():
                self.problems.append(f"cd {argv[1]}: no such folder in the repository")
        elif name == "make":
            if self.cwd != ROOT:
                self.problems.append(f"`{' '.join(argv)}` runs in {self.cwd.relative_to(ROOT)}, not the repository root")
        elif name == "mkdir":
            for arg in argv[1:]:
                if not arg.startswith("-"):
                    self.created.add(self.path(arg))
        elif name == "openssl":
            for flag, value in zip(argv, argv[1:]):
                if flag == "-in" and self.path(value) not in self.created:
                    self.problems.append(f"openssl reads {value}, which no earlier command created")
                if flag == "-out":
                    if self.path(value).parent not in self.created and not self.path(value).parent.is_dir():
                        self.problems.append(f"openssl writes {value} into a folder no command created")
                    self.created.add(self.path(value))
        elif name == "terraform":
            if self.cwd != EXAMPLE_DIR:
                self.problems.append(f"terraform {argv[1]} runs in {self.cwd}, not {EXAMPLE_DIR}")
            if argv[1] == "apply":
                values = {}
                for flag, value in zip(argv, argv[1:]):
                    if flag == "-var":
                        key, _, val = value.partition("=")
                        values[key] = val
                self.applies.append((self.cwd, values))


@pytest.fixture(scope="module")
def replays():
    out = {}
    for doc, (heading, path) in DOCS.items():
        out[doc] = Replay(doc, _first_sh_block(path.read_text(), heading))
    return out


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_deploy_commands_work_with_the_example(replays, doc):
    replay = replays[doc]
    example = Module(EXAMPLE_DIR)
    assert replay.problems == [], f"{doc}:\n" + "\n".join(replay.problems)
    assert len(replay.applies) == 1, f"{doc}: expected one terraform apply, found {len(replay.applies)}"
    cwd, values = replay.applies[0]
    unknown = sorted(set(values) - set(example.variables))
    assert unknown == [], f"{doc}: terraform apply sets {unknown}, which examples/complete does not declare"
    assert set(values) == KEY_VARIABLES, f"{doc}: apply with exactly {sorted(KEY_VARIABLES)}"
    for name in KEY_VARIABLES:
        key = (cwd / values[name]).resolve()
        assert key in replay.created, f"{doc}: {name}={values[name]} ({key}) is not a file its commands create"
    # The example hands them on to the module unchanged.
    for name in KEY_VARIABLES:
        assert example.modules["signed_hls"][name] == f"${{var.{name}}}"


def test_every_readme_uses_one_key_path(replays):
    paths = {
        doc: tuple((cwd / values[name]).resolve() for name in sorted(KEY_VARIABLES))
        for doc, replay in replays.items()
        for cwd, values in replay.applies
    }
    assert len(set(paths.values())) == 1, "the READMEs deploy with different key files:\n" + "\n".join(
        f"{doc}: {[str(p.relative_to(ROOT)) for p in keys]}" for doc, keys in sorted(paths.items())
    )


def test_the_key_files_are_git_ignored(replays):
    keys = {(cwd / values[name]).resolve() for r in replays.values() for cwd, values in r.applies for name in KEY_VARIABLES}
    for key in sorted(keys):
        rel = key.relative_to(ROOT)
        proc = subprocess.run(["git", "check-ignore", "-q", "--no-index", str(rel)], cwd=ROOT)
        assert proc.returncode == 0, f"{rel} is not git-ignored: a private key could be committed"
