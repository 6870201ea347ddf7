#!/usr/bin/env bash
# make demo: runs the project locally on an embedded default, no AWS account.
# Today it walks through what the deployed stack does with a dev key pair:
# signurl's URL for movie 1 (with the -PREFIX copies), what CloudFront checks,
# and what the rewriter checks after CloudFront strips its own parameters.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v openssl >/dev/null || { echo "demo: openssl is required to make the dev key pair (apt-get install openssl)" >&2; exit 1; }
keys=.local/dev-keys
if [ ! -f "$keys/private.pem" ]; then
  mkdir -p "$keys"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$keys/private.pem" 2>/dev/null
  openssl pkey -in "$keys/private.pem" -pubout -out "$keys/public.pem"
  echo "demo: generated a dev key pair in $keys (git-ignored, never committed)"
fi

cargo build -q -p cfsign
cfsign=target/debug/cfsign
host=https://d111111abcdef8.cloudfront.net
key_id=KDEVLOCAL0000001

url=$($cfsign sign "$host/movies/movie_1/index.m3u8" --key-pair-id "$key_id" --private-key "$keys/private.pem" \
  --ttl 21600 --resource "$host/movies/movie_1/*" --copies -PREFIX)
echo "== 1. the URL signurl hands out for movie 1 (key id $key_id, key in $keys)"
echo "$url"
echo
echo "== 2. CloudFront's check of that URL"
$cfsign verify "$url" --public-key "$key_id=$keys/public.pem"
echo
echo "== 3. the rewriter's check of the -PREFIX copies (CloudFront stripped its own parameters)"
at_origin=$(echo "$url" | sed -E 's/[?&](Policy|Signature|Key-Pair-Id)=[^&]*//g; s/^([^?&]*)&/\1?/')
$cfsign verify "$at_origin" --public-key "$key_id=$keys/public.pem" --prefix -PREFIX
echo
echo "== 4. and a refusal: the same URL for another movie"
$cfsign verify "${url/movie_1\/index.m3u8/movie_2/index.m3u8}" --public-key "$key_id=$keys/public.pem" || true
