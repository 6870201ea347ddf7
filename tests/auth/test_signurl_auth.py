"""Who may watch, against the running signurl binary (through the local
stack's edge): tokens minted here with PyJWT, the issuer's discovery document
and JWKS served here on 127.0.0.1 (and rotated while the function runs), the
shared secret in Secrets Manager (moto)."""
import base64
import hashlib
import hmac
import json
import sys
import time
import urllib.parse

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from auth_issuer import AUDIENCE, LocalIssuer
from support import ROOT

sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from stack import Stack, media_folder  # noqa: E402

SIGNURL = "/content/media/signurl"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def issuer():
    running = LocalIssuer()
    yield running
    running.close()


@pytest.fixture(scope="module")
def jwt_stack(tmp_path_factory, issuer):
    """signurl with AUTH_MODE=jwt; the JWKS URL found by OIDC discovery."""
    workdir = tmp_path_factory.mktemp("auth-jwt")
    # One instance, so that "the function" has one JWKS cache to observe.
    running = Stack(workdir, media_folder(workdir), env=issuer.env(discovery=True) + ["AUTH_TOKEN_COOKIE=vt"],
                    instances=1)
    yield running
    running.stop()


def ask(stack, movie="1", headers=None, query=""):
    status, response_headers, body = stack.get(f"{SIGNURL}?movie={movie}{query}", headers=headers or {})
    lower = {k.lower(): v for k, v in response_headers.items()}
    return status, lower, json.loads(body) if body else None


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_valid_rs256_and_es256_tokens_get_a_playable_url(jwt_stack, issuer):
    for kid, headers in (("rsa-1", bearer), ("ec-1", lambda t: {"X-Viewer-Token": t})):
        token = issuer.token(kid=kid, lifetime=300)
        status, _, body = ask(jwt_stack, headers=headers(token))
        assert status == 200, (kid, body)
        # The URL lives no longer than the token (AUTH_BIND_TOKEN_EXPIRY defaults to true).
        assert body["expires"] <= jwt.decode(token, options={"verify_signature": False})["exp"]
        status, _, playlist = jwt_stack.get(body["url"])
        assert status == 200 and playlist.startswith(b"#EXTM3U"), kid
    assert issuer.fetches["discovery"] >= 1, "JWT_JWKS_URL unset: the jwks_uri comes from discovery"


def test_cookie_when_configured(jwt_stack, issuer):
    status, _, _ = ask(jwt_stack, headers={"Cookie": f"theme=dark; vt={issuer.token()}"})
    assert status == 200


def test_missing_token_is_401_without_error_attribute(jwt_stack):
    status, headers, body = ask(jwt_stack)
    assert status == 401
    assert headers["www-authenticate"] == 'Bearer realm="signed-hls"'
    assert body["error_type"] == "missing_token"


def forged(issuer):
    now = int(time.time())
    claims = {"iss": issuer.url, "aud": AUDIENCE, "sub": "mallory", "movies": ["*"], "exp": now + 300}
    public_pem = issuer.keys["rsa-1"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def manual(header, sign):
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        return f"{signing_input}.{b64(sign(signing_input.encode()))}"

    good = issuer.token(movies=["1"])
    h, p, s = good.split(".")
    return {
        "wrong issuer": issuer.token(iss="https://evil.invalid/"),
        "wrong audience": issuer.token(aud="someone-else"),
        "expired": issuer.token(exp=now - 3600),
        "nbf in the future": issuer.token(nbf=now + 3600),
        "exp missing": issuer.token(exp=None),
        "alg none": manual({"alg": "none", "kid": "rsa-1"}, lambda _: b""),
        "HS256 with the public key": manual({"alg": "HS256", "kid": "rsa-1"},
                                            lambda m: hmac.new(public_pem, m, hashlib.sha256).digest()),
        "tampered payload": f"{h}.{b64(json.dumps(claims).encode())}.{s}",
        "garbage": "garbage",
        "oversized": issuer.token(padding="x" * 9000),
    }


def test_invalid_tokens_are_401_invalid_token(jwt_stack, issuer):
    for name, token in forged(issuer).items():
        status, headers, body = ask(jwt_stack, headers=bearer(token))
        assert status == 401, (name, body)
        assert headers["www-authenticate"].startswith(
            'Bearer realm="signed-hls", error="invalid_token", error_description="'), name
        assert token not in json.dumps(body) and token not in headers["www-authenticate"], name


def test_entitlement(jwt_stack, issuer):
    status, headers, body = ask(jwt_stack, movie="2", headers=bearer(issuer.token(movies=["1"])))
    assert (status, body["error_type"]) == (403, "not_entitled")
    assert "www-authenticate" not in headers
    assert ask(jwt_stack, movie="2", headers=bearer(issuer.token(movies="1 2")))[0] == 200
    assert ask(jwt_stack, movie="2", headers=bearer(issuer.token(movies=["*"])))[0] == 200
    assert ask(jwt_stack, movie="1", headers=bearer(issuer.token(movies=None)))[0] == 403


def test_unknown_kid_then_rotation(jwt_stack, issuer):
    token = issuer.token(kid="rsa-2")
    status, _, body = ask(jwt_stack, headers=bearer(token))
    assert (status, body["error_type"]) == (401, "unknown_key")
    issuer.rotate(["rsa-2", "ec-1"])
    try:
        before = issuer.fetches["jwks"]
        assert ask(jwt_stack, headers=bearer(token))[0] == 200, "the JWKS is fetched again on an unknown kid"
        assert issuer.fetches["jwks"] == before + 1
        # rsa-1 has been rotated away: its tokens now fail.
        assert ask(jwt_stack, headers=bearer(issuer.token(kid="rsa-1")))[0] == 401
    finally:
        issuer.rotate(["rsa-1", "ec-1"])


def test_no_token_or_claim_in_the_logs(jwt_stack, issuer):
    token = issuer.token(sub="secret-subject-7", movies=["movie-claim-value"])
    ask(jwt_stack, movie="1", headers=bearer(token))
    time.sleep(0.3)
    logs = jwt_stack.stderr_path.read_text(errors="replace")
    assert '"status":403' in logs.replace(" ", "") or "403" in logs
    for secret in (token, token.split(".")[1], token.split(".")[2], "secret-subject-7", "movie-claim-value"):
        assert secret not in logs


# --- shared-secret ------------------------------------------------------------

SECRET = "local-test-shared-secret-0123456789abcdefXYZ"


def mint(claims, secret=SECRET):
    payload = b64(json.dumps(claims).encode())
    mac = hmac.new(secret.encode(), f"v1.{payload}".encode(), hashlib.sha256).digest()
    return f"v1.{payload}.{b64(mac)}"


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory, moto_endpoint):
    client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    arn = client.create_secret(Name="signed-hls/viewer-token-secret", SecretString=SECRET)["ARN"]
    workdir = tmp_path_factory.mktemp("auth-shared")
    running = Stack(workdir, media_folder(workdir), env=[
        "AUTH_MODE=shared-secret", f"AUTH_SECRET_NAME={arn}", f"AWS_ENDPOINT_URL_SECRETS_MANAGER={moto_endpoint}",
        "AUTH_TOKEN_QUERY_PARAM=token",
    ])
    yield running
    running.stop()


def test_shared_secret_tokens(shared_stack):
    now = int(time.time())
    good = mint({"sub": "v", "movies": ["1"], "exp": now + 300})
    status, _, body = ask(shared_stack, headers={"X-Viewer-Token": good})
    assert status == 200, body
    assert body["expires"] <= now + 300
    assert ask(shared_stack, query="&token=" + urllib.parse.quote(good))[0] == 200
    assert ask(shared_stack, movie="2", headers=bearer(good))[0] == 403
    for name, token in {
        "expired": mint({"movies": ["1"], "exp": now - 120}),
        "wrong secret": mint({"movies": ["1"], "exp": now + 300}, secret=SECRET + "!"),
        "too long-lived": mint({"movies": ["1"], "exp": now + 86400}),
        "no exp": mint({"movies": ["1"]}),
        "a JWT": jwt.encode({"movies": ["1"], "exp": now + 300}, SECRET, algorithm="HS256"),
    }.items():
        status, headers, _ = ask(shared_stack, headers=bearer(token))
        assert status == 401, name
        assert 'error="invalid_token"' in headers["www-authenticate"], name
    logs = shared_stack.stderr_path.read_text(errors="replace")
    assert SECRET not in logs and good not in logs
