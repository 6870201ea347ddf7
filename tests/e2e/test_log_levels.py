"""No log level an operator may set exposes a viewer token, a cookie, a
signature or key material (DESIGN invariant 5): the real binaries at TRACE,
through the local stack, with every log line they write captured."""
import json
import secrets
import urllib.parse

import pytest
from stack import PRIVATE_KEY, Stack, media_folder


@pytest.fixture(scope="module")
def trace_stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("trace")
    running = Stack(workdir, media_folder(workdir), env=["AWS_LAMBDA_LOG_LEVEL=TRACE"])
    yield running
    running.stop()


def function_logs(stack):
    """What the functions wrote (the stack sends their stdout and stderr to its stderr)."""
    return stack.stderr_path.read_text(errors="replace")


def test_trace_logs_carry_no_token_cookie_signature_or_key(trace_stack):
    token = "tok-" + secrets.token_hex(16)
    cookie = "ck-" + secrets.token_hex(16)
    headers = {"X-Viewer-Token": token, "Cookie": f"vt={cookie}", "Authorization": f"Bearer {token}"}
    status, _, body = trace_stack.get("/content/media/signurl?movie=1", headers=headers)
    assert status == 200, body
    url = json.loads(body)["url"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    signatures = query["Signature"] + query["Signature-PREFIX"]
    status, _, playlist = trace_stack.get(url, headers={"Cookie": f"vt={cookie}"})
    assert status == 200, playlist
    child_signatures = [
        urllib.parse.parse_qs(urllib.parse.urlsplit(line).query)["Signature"][0]
        for line in playlist.decode().splitlines()
        if "Signature=" in line and not line.startswith("#")
    ]
    assert child_signatures

    logs = function_logs(trace_stack)
    # The level took effect: the functions logged their requests.
    assert logs.count("request_id") >= 2, logs[-2000:]
    private_key_body = PRIVATE_KEY.read_text().splitlines()[5]
    for secret in [token, cookie, private_key_body, "PRIVATE KEY", *signatures, *child_signatures]:
        # A full signature, or any 24 characters of one, is a leak.
        assert secret[:24] not in logs, f"{secret[:12]}... reached the logs at TRACE"
