"""Check a Terraform module against a provider schema (provider_schema.py).

What Terraform's loader (test_terraform_tools.py) cannot see without the
provider, and what `terraform validate` would report with it:
- an unknown resource or data source type;
- an unknown argument or block, or a computed-only attribute being set;
- a missing required argument or block;
- a block written as an argument (`x = {...}`) or an argument written as a
  block (`x {...}`), and a block given twice where the schema allows one;
- a reference `aws_x.name.attr` / `data.aws_x.name.attr` to an attribute the
  type does not have.

Terraform's own constructs are understood, not checked against the schema:
the meta-arguments count, for_each, depends_on, provider, lifecycle (with
its precondition / postcondition blocks), provisioner and connection, and
`dynamic "label" { for_each, iterator, labels, content {} }`, whose content
is checked as the block `label` (a required block given only dynamically
counts as present).

The parse is python-hcl2's: it marks every block with `__is_block__`, which
is how a block and an argument holding an object are told apart.
"""
import pathlib
import re

import hcl2

RESOURCE_META_ARGS = {"count", "for_each", "depends_on", "provider"}
RESOURCE_META_BLOCKS = {"lifecycle", "provisioner", "connection"}
LIFECYCLE_ARGS = {"create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by"}
CONDITION_ARGS = {"condition", "error_message"}
DYNAMIC_ARGS = {"for_each", "iterator", "labels"}


def _unquote(s):
    return s[1:-1] if isinstance(s, str) and len(s) >= 2 and s[0] == s[-1] == '"' else s


def _is_block(value):
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get("__is_block__") for v in value)


def _items(body):
    return [(k, v) for k, v in body.items() if k not in ("__is_block__", "__comments__")]


class Checker:
    def __init__(self, schema, provider="aws", unchecked_providers=()):
        self.schema = schema
        self.provider = provider
        self.unchecked = set(unchecked_providers)
        self.problems = []
        self.unchecked_seen = set()

    def report(self, where, message):
        self.problems.append(f"{where}: {message}")

    # --- blocks against a schema block ----------------------------------------

    def check_body(self, where, body, block, meta=None):
        """body: python-hcl2 dict of one block; block: compact schema BLOCK (None: opaque)."""
        if block is None:
            return
        present = set()
        for key, value in _items(body):
            if meta is not None and key in meta["args"]:
                if _is_block(value):
                    self.report(where, f"meta-argument `{key}` written as a block")
                present.add(key)
                continue
            if meta is not None and key in meta["blocks"]:
                if not _is_block(value):
                    self.report(where, f"`{key}` must be a block, not an argument")
                elif key == "lifecycle":
                    for item in value:
                        self.check_lifecycle(f"{where}.lifecycle", item, meta["lifecycle"])
                continue
            if key == "dynamic" and isinstance(value, list) and all(isinstance(v, dict) for v in value):
                # python-hcl2: [{'"label"': {for_each, content: [...], __is_block__}}, ...]
                for item in value:
                    for label, dyn in _items(item):
                        label = _unquote(label)
                        present.add(label)
                        self.check_dynamic(f'{where}.dynamic "{label}"', label, dyn, block)
                continue
            if key in block["blocks"]:
                spec = block["blocks"][key]
                if not _is_block(value):
                    self.report(where, f"`{key}` is a block: write `{key} {{ ... }}`, not `{key} = ...` (block written as an argument)")
                    present.add(key)
                    continue
                if spec["max_one"] and len(value) > 1:
                    self.report(where, f"block `{key}` given {len(value)} times; the schema allows at most one")
                for item in value:
                    self.check_body(f"{where}.{key}", item, spec["schema"])
                present.add(key)
            elif key in block["args"]:
                if _is_block(value):
                    self.report(where, f"`{key}` is an argument: write `{key} = ...`, not `{key} {{ ... }}` (argument written as a block)")
                present.add(key)
            elif key in block.get("computed", ()):
                self.report(where, f"`{key}` is computed-only: it cannot be set")
            elif _is_block(value):
                self.report(where, f"unknown block `{key}`")
            else:
                self.report(where, f"unknown argument `{key}`")
        for name, kind in block["args"].items():
            if kind == "required" and name not in present:
                self.report(where, f"missing required argument `{name}`")
        for name, spec in block["blocks"].items():
            if spec["required"] and name not in present:
                self.report(where, f"missing required block `{name}`")

    def check_dynamic(self, where, label, dyn, block):
        if label not in block["blocks"]:
            if label in block["args"]:
                self.report(where, f"`{label}` is an argument: dynamic blocks generate blocks only")
            else:
                self.report(where, f"unknown block `{label}`")
            return
        contents = []
        for key, value in _items(dyn):
            if key == "content" and _is_block(value):
                contents += value
            elif key not in DYNAMIC_ARGS:
                self.report(where, f"unknown argument `{key}` of a dynamic block")
        if "for_each" not in dyn:
            self.report(where, "missing required argument `for_each`")
        if len(contents) != 1:
            self.report(where, f"expected one content block, found {len(contents)}")
        for content in contents:
            self.check_body(f"{where}.content", content, block["blocks"][label]["schema"])

    def check_lifecycle(self, where, body, allowed_args):
        for key, value in _items(body):
            if key in ("precondition", "postcondition"):
                if not _is_block(value):
                    self.report(where, f"`{key}` must be a block")
                    continue
                for item in value:
                    got = {k for k, _ in _items(item)}
                    for extra in sorted(got - CONDITION_ARGS):
                        self.report(f"{where}.{key}", f"unknown argument `{extra}`")
                    for missing in sorted(CONDITION_ARGS - got):
                        self.report(f"{where}.{key}", f"missing required argument `{missing}`")
            elif key not in allowed_args:
                self.report(where, f"unknown lifecycle argument `{key}`")

    # --- a whole module -------------------------------------------------------

    def _owner(self, rtype):
        return rtype.split("_", 1)[0]

    def check_module(self, folder):
        folder = pathlib.Path(folder)
        declared = {"resource": {}, "data": {}}
        texts = {}
        for path in sorted(folder.glob("*.tf")):
            text = path.read_text()
            texts[path.name] = text
            parsed = hcl2.loads(text)
            for kind, schemas in (("resource", self.schema["resources"]), ("data", self.schema["data"])):
                for item in parsed.get(kind, []):
                    for rtype, named in _items(item):
                        rtype = _unquote(rtype)
                        for name, body in _items(named):
                            name = _unquote(name)
                            where = f"{path.name}: {'data.' if kind == 'data' else ''}{rtype}.{name}"
                            declared[kind][name, rtype] = True
                            self.check_declared(where, kind, rtype, body, schemas)
            for item in parsed.get("provider", []):
                for pname, body in _items(item):
                    pname = _unquote(pname)
                    if pname == self.provider:
                        self.check_body(f'{path.name}: provider "{pname}"', body, self.schema["provider"])
        self.check_references(texts, declared)
        return self.problems

    def check_declared(self, where, kind, rtype, body, schemas):
        owner = self._owner(rtype)
        if owner != self.provider:
            if owner in self.unchecked:
                self.unchecked_seen.add(rtype)
            else:
                self.report(where, f"{kind} type `{rtype}` belongs to no provider this check knows ({self.provider}, {sorted(self.unchecked)})")
            return
        if rtype not in schemas:
            self.report(where, f"unknown {kind} type `{rtype}`")
            return
        meta = {
            "args": RESOURCE_META_ARGS,
            "blocks": RESOURCE_META_BLOCKS if kind == "resource" else {"lifecycle"},
            "lifecycle": LIFECYCLE_ARGS if kind == "resource" else set(),
        }
        if "count" in body and "for_each" in body:
            self.report(where, "count and for_each are mutually exclusive")
        self.check_body(where, body, schemas[rtype], meta)

    _COMMENT = re.compile(r'(?m)^\s*(#|//).*$|\s#[^"\n]*$')
    _REF = re.compile(
        r"(?<![\w.\"/-])(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][\w-]*)"
        r"(?:\[(?:[^\[\]]|\[[^\[\]]*\])*\])?\.([a-z_][a-z0-9_]*)"
    )

    def check_references(self, texts, declared):
        for fname, text in texts.items():
            code = self._COMMENT.sub("", text)
            for m in self._REF.finditer(code):
                is_data, rtype, name, attr = bool(m.group(1)), m.group(2), m.group(3), m.group(4)
                kind = "data" if is_data else "resource"
                if (name, rtype) not in declared[kind] or self._owner(rtype) != self.provider:
                    continue
                block = (self.schema["data"] if is_data else self.schema["resources"]).get(rtype)
                if block is None:
                    continue  # already reported as an unknown type
                known = set(block["args"]) | set(block["blocks"]) | set(block.get("computed", ()))
                if attr not in known:
                    ref = f"{'data.' if is_data else ''}{rtype}.{name}.{attr}"
                    self.report(fname, f"`{ref}`: `{rtype}` has no attribute `{attr}`")


def check(folder, schema, unchecked_providers=("tls",)):
    """Problems (strings) of the module in folder, and the unchecked types it uses."""
    checker = Checker(schema, unchecked_providers=unchecked_providers)
    problems = checker.check_module(folder)
    return problems, sorted(checker.unchecked_seen)
