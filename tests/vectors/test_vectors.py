"""Cross-checks of the signing core against botocore and `cryptography`.

- the committed golden vectors are exactly what the generator writes today;
- URLs that cfsign (our Rust) signs with ECDSA verify in Python;
- URLs that cfsign signs with RSA equal botocore's, live.
"""
import base64
import json
import subprocess
import sys
import urllib.parse

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

import generate
from support import FIXTURES, ROOT, binary

COMMITTED = ROOT / "layers" / "cloudfront-sign" / "tests" / "vectors"
HOST = generate.HOST


def cf_b64decode(text):
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def test_committed_rsa_vectors_are_current(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "tests/vectors/generate.py"), "--out", str(tmp_path)], check=True)
    fresh = (tmp_path / "botocore_rsa.json").read_text()
    assert fresh == (COMMITTED / "botocore_rsa.json").read_text(), "run `make vectors` and commit the result"


def cfsign_sign(*args):
    result = subprocess.run([str(binary("cfsign")), "sign", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def signed_message(url):
    """The bytes CloudFront verifies, and the signature, from a signed URL."""
    base, query = url.split("?", 1)
    params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    if "Policy" in params:
        message = cf_b64decode(params["Policy"])
    else:
        resource = base  # canned: the URL without the signing parameters
        message = generate.CloudFrontSigner("x", None).build_policy(
            resource, generate.when(int(params["Expires"]))
        ).encode()
    return message, cf_b64decode(params["Signature"]), params


@pytest.mark.parametrize("key_file", ["ec_p256_sec1.pem", "ec_p256_pkcs8.pem"])
@pytest.mark.parametrize("hash_name", ["sha1", "sha256"])
@pytest.mark.parametrize("custom", [False, True])
def test_rust_signed_ecdsa_verifies_in_python(key_file, hash_name, custom):
    args = [f"{HOST}/movies/movie_1/index.m3u8", "--key-pair-id", "K2JCJMDEHXQW5F",
            "--private-key", str(FIXTURES / key_file), "--expires", "1900000000", "--hash", hash_name]
    if custom:
        args += ["--resource", f"{HOST}/movies/*", "--ip", "192.0.2.0/24", "--not-before", "1700000000"]
    url = cfsign_sign(*args)
    message, signature, params = signed_message(url)
    assert params.get("Hash-Algorithm") == ("SHA256" if hash_name == "sha256" else None)
    public = serialization.load_pem_public_key((FIXTURES / "ec_p256_public.pem").read_bytes())
    algorithm = hashes.SHA256() if hash_name == "sha256" else hashes.SHA1()
    public.verify(signature, message, ec.ECDSA(algorithm))  # raises InvalidSignature
    if custom:
        policy = json.loads(message)
        assert policy["Statement"][0]["Condition"]["IpAddress"] == {"AWS:SourceIp": "192.0.2.0/24"}
    with pytest.raises(InvalidSignature):
        public.verify(signature, message + b" ", ec.ECDSA(algorithm))


@pytest.mark.parametrize("hash_name", ["sha1", "sha256"])
def test_rust_rsa_equals_botocore_live(hash_name):
    url = f"{HOST}/movies/movie_1/seg 1.ts".replace(" ", "%20")
    ours = cfsign_sign(url, "--key-pair-id", generate.KEY_PAIR_ID, "--private-key",
                       str(FIXTURES / "rsa2048_pkcs8.pem"), "--expires", str(generate.EXPIRES), "--hash", hash_name)
    assert ours == generate.sign("rsa2048_pkcs8.pem", hash_name, url)
    message, signature, _ = signed_message(ours)
    public = serialization.load_pem_public_key((FIXTURES / "rsa2048_public.pem").read_bytes())
    algorithm = hashes.SHA256() if hash_name == "sha256" else hashes.SHA1()
    public.verify(signature, message, padding.PKCS1v15(), algorithm)
