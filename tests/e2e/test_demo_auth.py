"""local-stack --auth jwt: the local issuer (tests/auth/auth_issuer.py, run by
the stack: fresh keys, its JWKS on loopback, ES256 tokens on /token) and the
demo page showing a signed-in viewer who plays and viewers who are refused
(403 without the movie, 401 signed out)."""
import json
import subprocess
import urllib.request

import jwt
import pytest
from stack import Stack, media_folder
from support import ROOT

ARTIFACTS = ROOT / "tests" / "artifacts"
SIGNURL = "/content/media/signurl?movie="


@pytest.fixture(scope="module")
def auth_stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo-auth")
    running = Stack(workdir, media_folder(workdir), auth="jwt")
    yield running
    running.stop()


def fetch_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_local_issuer_tokens_verify_with_pyjwt_and_open_signurl(auth_stack):
    info = auth_stack.info["auth"]
    assert info["mode"] == "jwt"
    assert fetch_json(auth_stack.edge + "/local/auth.json") == info
    discovery = fetch_json(info["issuer"] + "/.well-known/openid-configuration")
    token = fetch_json(info["token_url"] + "?sub=carol&movies=1")["token"]
    # The issuer as the functions see it: its published JWKS, its iss and aud.
    key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key, algorithms=["ES256"], audience="signed-hls-local", issuer=info["issuer"])
    assert claims["movies"] == ["1"]
    assert auth_stack.get(SIGNURL + "1")[0] == 401
    assert auth_stack.get(SIGNURL + "1", headers={"X-Viewer-Token": token})[0] == 200
    assert auth_stack.get(SIGNURL + "2", headers={"X-Viewer-Token": token})[0] == 403


def play(stack, query, name):
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"demo-auth-{name}.png"
    result = subprocess.run(
        ["node", str(ROOT / "tests" / "e2e" / "play.mjs"), f"{stack.edge}/{query}", str(screenshot), "3"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_demo_page_signed_in_viewer_plays(auth_stack):
    page = play(auth_stack, "?viewer=alice", "alice")
    assert page["auth"] == {"mode": "jwt", "viewer": "alice"}, page
    assert page["state"] == "playing", page
    assert page["currentTime"] >= 3, page
    statuses = {r["path"]: r["status"] for r in page["requests"]}
    assert statuses["/content/media/signurl"] == 200


@pytest.mark.parametrize("viewer, status", [("bob", "403"), ("", "401")])
def test_demo_page_refuses(auth_stack, viewer, status):
    page = play(auth_stack, f"?viewer={viewer}", viewer or "signed-out")
    assert page["state"] == "refused", page
    assert page["error"].startswith(status), page
    assert page["url"] is None
