#!/usr/bin/env bash
# make demo: the whole system on this machine, no AWS account, no credentials.
#   scripts/demo.sh [--port 8080] [--media DIR] [any other local-stack option]
# Builds the binaries, makes a dev key pair on first run (.local/dev-keys,
# git-ignored, never committed), prepares the sample movie, installs hls.js,
# and runs the local edge + both functions + an S3 API until Ctrl-C.
# --auth jwt also needs the Python venv (its local issuer runs with PyJWT).
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "demo: $*" >&2; exit 1; }

port=8080
media=""
auth=none
passthrough=()
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=${2:?--port needs a value}; shift 2 ;;
    --media) media=${2:?--media needs a folder}; shift 2 ;;
    --auth) auth=${2:?--auth needs a value}; passthrough+=("$1" "$2"); shift 2 ;;
    --auth=*) auth=${1#--auth=}; passthrough+=("$1"); shift ;;
    *) passthrough+=("$1"); shift ;;
  esac
done

command -v openssl >/dev/null || die "openssl is required to make the dev key pair (apt-get install openssl)"
keys=.local/dev-keys
if [ ! -f "$keys/private.pem" ]; then
  mkdir -p "$keys"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$keys/private.pem" 2>/dev/null
  openssl pkey -in "$keys/private.pem" -pubout -out "$keys/public.pem"
  echo "demo: generated a dev key pair in $keys" >&2
fi

if [ -z "$media" ]; then
  media=.local/media
  if [ ! -f "$media/movies/movie_1/index.m3u8" ]; then
    if command -v ffmpeg >/dev/null; then
      scripts/make-sample.sh "$media" >&2
    else
      echo "demo: ffmpeg not found; using the sample movie shipped in tests/fixtures/media" >&2
      mkdir -p "$media" && cp -r tests/fixtures/media/. "$media/"
    fi
  fi
fi
[ -d "$media" ] || die "--media $media is not a folder"

scripts/bootstrap.d/npm.sh tools/local-stack/web
if [ "$auth" = jwt ]; then
  scripts/bootstrap.sh python  # the local issuer (tests/auth/auth_issuer.py) runs with PyJWT
fi
echo "demo: building (the first build of the AWS SDK takes a few minutes)" >&2
cargo build -q --locked -p local-stack -p signurl -p rewriter || die "cargo build failed"

exec "${CARGO_TARGET_DIR:-target}/debug/local-stack" --port "$port" --media "$media" --private-key "$keys/private.pem" \
  --hls-js tools/local-stack/web/node_modules/hls.js/dist/hls.min.js "${passthrough[@]}"
