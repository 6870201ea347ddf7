"""The local stack in KMS mode (issue 14): both functions sign with a key in
moto's KMS (`RSA_2048` and `ECC_NIST_P256`) and read no private key; the
edge checks every request with the key's public half, as CloudFront does
with the public key Terraform puts in the key group. signurl's signature is
verified independently here (Python `cryptography`, the public key from
`GetPublicKey`), and ffmpeg reads the whole movie through the edge."""
import base64
import json
import pathlib
import socket
import subprocess
import urllib.parse

import boto3
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from stack import Stack, media_folder
from test_e2e import segment_paths_on_disk


@pytest.fixture(scope="module")
def kms_endpoint():
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def kms(endpoint):
    return boto3.client("kms", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture(scope="module", params=["RSA_2048", "ECC_NIST_P256"])
def kms_stack(request, tmp_path_factory, kms_endpoint):
    client = kms(kms_endpoint)
    key_id = client.create_key(KeyUsage="SIGN_VERIFY", KeySpec=request.param)["KeyMetadata"]["KeyId"]
    public_der = client.get_public_key(KeyId=key_id)["PublicKey"]
    workdir = tmp_path_factory.mktemp("kms")
    running = Stack(workdir, media_folder(workdir), kms=(key_id, kms_endpoint))
    running.public_key = serialization.load_der_public_key(public_der)
    yield running
    running.stop()


def cloudfront_b64decode(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def test_signurl_signs_in_kms_and_python_verifies_it(kms_stack):
    url = kms_stack.signurl("1")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["Hash-Algorithm"] == "SHA256", url
    policy = cloudfront_b64decode(query["Policy"])
    signature = cloudfront_b64decode(query["Signature"])
    assert json.loads(policy)["Statement"][0]["Resource"].endswith("/movies/movie_1/*")
    key = kms_stack.public_key
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, policy, padding.PKCS1v15(), hashes.SHA256())
    else:
        key.verify(signature, policy, ec.ECDSA(hashes.SHA256()))
    # A signature of another policy is refused by the edge's check.
    forged = url.replace(query["Signature"], query["Signature"][:-4] + "AAAA")
    status, headers, _ = kms_stack.get(forged)
    assert status == 403 and headers.get("x-edge-denied") == "bad_signature", headers


def test_ffmpeg_reads_the_whole_movie_through_the_edge(kms_stack):
    url = kms_stack.signurl("1")
    before = len(kms_stack.access_log())
    result = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", url, "-map", "0", "-c", "copy", "-f", "null", "-"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    requests = kms_stack.access_log()[before:]
    refused = [r for r in requests if r["status"] not in (200, 206)]
    assert not refused, refused
    # Every playlist was rewritten with KMS signatures, and every segment
    # those signatures cover passed the edge's check.
    assert len([r for r in requests if r["route"] == "rewriter"]) == 4
    assert sorted(r["path"] for r in requests if r["route"] == "media") == segment_paths_on_disk()


def test_no_private_key_anywhere(kms_stack):
    kms_stack.signurl("1")
    functions = kms_stack.children()
    assert len(functions) >= 4, functions  # two processes per function
    for pid in functions:
        environ = pathlib.Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        names = {item.split(b"=", 1)[0] for item in environ}
        assert b"KMS_KEY_ID" in names
        assert not names & {b"SIGNING_KEY_FILE", b"SM_SECRET_NAME"}, names
        assert not any(b"PRIVATE KEY" in item for item in environ)
    logs = kms_stack.stderr_path.read_bytes()
    assert b"PRIVATE KEY" not in logs and b"private_key" not in logs.lower()
    assert "SIGNING_KEY_FILE" not in json.dumps(kms_stack.info)
