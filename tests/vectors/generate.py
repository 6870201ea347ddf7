#!/usr/bin/env python3
"""Writes the golden vectors for the signing core with an independent
implementation: botocore's CloudFrontSigner and the `cryptography` package.

    .venv/bin/python tests/vectors/generate.py --out layers/cloudfront-sign/tests/vectors

Two files:
- botocore_rsa.json: RSA signatures are deterministic (PKCS#1 v1.5), so the
  Rust output must equal these URLs byte for byte. Regenerating gives the same
  file; tests/vectors/test_vectors.py checks that the committed copy is current.
- python_ecdsa.json: ECDSA signatures are randomised, so these are URLs that
  Python signed and Rust must accept (the reverse direction is tested live in
  tests/vectors/test_vectors.py through the cfsign binary).
"""
import argparse
import datetime
import json
import pathlib

import botocore
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "layers" / "cloudfront-sign" / "tests" / "fixtures"
HOST = "https://d111111abcdef8.cloudfront.net"
KEY_PAIR_ID = "K2JCJMDEHXQW5F"
EXPIRES = 1_900_000_000  # 2030-03-17
NOT_BEFORE = 1_700_000_000


def load_key(name):
    return serialization.load_pem_private_key((FIXTURES / name).read_bytes(), password=None)


def when(epoch):
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)


def signer_for(key, hash_name):
    algorithm = hashes.SHA1() if hash_name == "sha1" else hashes.SHA256()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return lambda message: key.sign(message, ec.ECDSA(algorithm))
    return lambda message: key.sign(message, padding.PKCS1v15(), algorithm)


def sign(key_file, hash_name, url, policy=None):
    """A signed URL from botocore, plus Hash-Algorithm for SHA-256 (botocore
    signs with whatever callable it is given but does not add the parameter)."""
    signer = CloudFrontSigner(KEY_PAIR_ID, signer_for(load_key(key_file), hash_name))
    if policy is None:
        signed = signer.generate_presigned_url(url, date_less_than=when(EXPIRES))
    else:
        text = signer.build_policy(
            policy["resource"],
            when(policy["date_less_than"]),
            date_greater_than=when(policy["date_greater_than"]) if policy.get("date_greater_than") else None,
            ip_address=policy.get("ip_address"),
        )
        signed = signer.generate_presigned_url(url, policy=text)
    if hash_name == "sha256":
        signed += "&Hash-Algorithm=SHA256"
    return signed


POLICIES = {
    "canned": None,
    "custom_resource": {"resource": f"{HOST}/movies/movie_1/*", "date_less_than": EXPIRES},
    "custom_not_before": {
        "resource": f"{HOST}/movies/movie_1/*",
        "date_less_than": EXPIRES,
        "date_greater_than": NOT_BEFORE,
    },
    "custom_ip": {"resource": f"{HOST}/movies/*", "date_less_than": EXPIRES, "ip_address": "192.0.2.0/24"},
    "custom_bare_ip": {"resource": f"{HOST}/movies/movie_1/*", "date_less_than": EXPIRES, "ip_address": "198.51.100.7"},
    "custom_everything": {
        "resource": f"{HOST}/movies/movie_?/*",
        "date_less_than": EXPIRES,
        "date_greater_than": NOT_BEFORE,
        "ip_address": "2001:db8::/32",
    },
}
URLS = [f"{HOST}/movies/movie_1/index.m3u8", f"{HOST}/movies/movie_1/seg_000.ts?session=abc&lang=en"]


def rsa_cases():
    cases = []
    for key_file in ["rsa2048_pkcs1.pem", "rsa2048_pkcs8.pem", "rsa3072_pkcs8.pem"]:
        for hash_name in ["sha1", "sha256"]:
            for policy_name, policy in POLICIES.items():
                for url in URLS:
                    cases.append(
                        {
                            "name": f"{key_file}/{hash_name}/{policy_name}/{url.rsplit('/', 1)[1]}",
                            "key": key_file,
                            "key_pair_id": KEY_PAIR_ID,
                            "hash": hash_name,
                            "url": url,
                            "expires": EXPIRES if policy is None else None,
                            "policy": policy,
                            "signed_url": sign(key_file, hash_name, url, policy),
                        }
                    )
    return cases


def ecdsa_cases():
    cases = []
    for key_file in ["ec_p256_sec1.pem", "ec_p256_pkcs8.pem"]:
        for hash_name in ["sha1", "sha256"]:
            for policy_name in ["canned", "custom_resource", "custom_everything"]:
                url = URLS[0]
                cases.append(
                    {
                        "name": f"{key_file}/{hash_name}/{policy_name}",
                        "public_key": "ec_p256_public.pem",
                        "key_pair_id": KEY_PAIR_ID,
                        "hash": hash_name,
                        "signed_url": sign(key_file, hash_name, url, POLICIES[policy_name]),
                        # Inside every window above, from an address every IP condition admits.
                        "now": NOT_BEFORE + 1,
                        "client_ip": "2001:db8::1",
                    }
                )
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    header = {"generator": f"tests/vectors/generate.py with botocore {botocore.__version__}"}
    for name, cases in [("botocore_rsa.json", rsa_cases()), ("python_ecdsa.json", ecdsa_cases())]:
        (args.out / name).write_text(json.dumps({**header, "cases": cases}, indent=1) + "\n")
        print(f"wrote {len(cases)} cases to {args.out / name}")


if __name__ == "__main__":
    main()
