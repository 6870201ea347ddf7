#!/usr/bin/env bash
# Installs what the tests need, idempotently; fails loudly when it cannot.
#   scripts/bootstrap.sh            everything
#   scripts/bootstrap.sh python     only the Python venv (.venv)
# Each step checks first and does nothing when the tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "bootstrap: $*" >&2; exit 1; }
log() { echo "bootstrap: $*" >&2; }

python_venv() {
  local python=${PYTHON:-python3}
  command -v "$python" >/dev/null || die "python3 is required (apt-get install python3 python3-venv)"
  if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    "$python" -m venv .venv || die "cannot create a venv (apt-get install python3-venv)"
  fi
  local stamp=.venv/.requirements.sha256
  local want
  want=$(sha256sum tests/requirements.txt | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing tests/requirements.txt into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip \
      || die "pip upgrade failed (is PyPI reachable?)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt \
      || die "pip install -r tests/requirements.txt failed (is PyPI reachable?)"
    echo "$want" > "$stamp"
  fi
}

apt_packages() {
  # Debian packages the tests use, one per line in tests/apt-packages.txt.
  [ -f tests/apt-packages.txt ] || return 0
  local missing=()
  while read -r pkg; do
    [ -z "$pkg" ] || [[ "$pkg" == \#* ]] && continue
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done < tests/apt-packages.txt
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing Debian packages ${missing[*]} and no apt-get"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing ${missing[*]}"
  $sudo apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

case "${1:-all}" in
  python) python_venv ;;
  apt) apt_packages ;;
  all)
    apt_packages
    python_venv
    for extra in scripts/bootstrap.d/*.sh; do
      [ -e "$extra" ] || continue
      bash "$extra" || die "$extra failed"
    done
    ;;
  *) die "unknown step $1 (python, apt or all)" ;;
esac
