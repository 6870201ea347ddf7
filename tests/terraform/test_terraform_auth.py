"""Who may watch (issue 8), asserted on the parsed configuration: the viewer
token reaches signurl only, the settings reach signurl only, the shared
secret lives in Secrets Manager and only signurl may read it."""
import json

import pytest

from test_terraform_config import _env, _statements, behaviours, one, ref_name


@pytest.fixture(scope="module")
def distribution(tf):
    return tf.resource("aws_cloudfront_distribution", "this")


def _orp(tf, behaviour):
    ref = behaviour.get("origin_request_policy_id")
    if ref is None or "aws_cloudfront_origin_request_policy" not in ref:
        return None
    return tf.resource("aws_cloudfront_origin_request_policy", ref_name(ref, "aws_cloudfront_origin_request_policy"))


def test_token_forwarded_to_signurl_only(tf, distribution):
    default, ordered = behaviours(distribution)
    signurl = _orp(tf, ordered["/content/media/signurl"])
    headers = one(signurl["headers_config"], "headers_config")
    assert headers["header_behavior"] == '${length(local.signurl_forwarded_headers) > 0 ? "whitelist" : "none"}'
    assert one(one(headers["dynamic"], "dynamic")["headers"]["content"], "content")["items"] == "${local.signurl_forwarded_headers}"
    assert tf.locals["signurl_forwarded_headers"] == (
        '${concat(var.bind_viewer_ip ? ["CloudFront-Viewer-Address"] : [], local.auth_on ? ["X-Viewer-Token"] : [])}'
    )
    cookies = one(signurl["cookies_config"], "cookies_config")
    assert one(one(cookies["dynamic"], "dynamic")["cookies"]["content"], "content")["items"] == "${local.signurl_forwarded_cookies}"
    assert tf.locals["signurl_forwarded_cookies"] == "${local.auth_on && var.auth_token_cookie != null ? [var.auth_token_cookie] : []}"
    assert "var.auth_token_query_param" in tf.locals["signurl_query_strings"]
    # Authorization cannot be forwarded by an origin request policy, and OAC owns it anyway.
    assert "Authorization" not in json.dumps(signurl)
    # Nothing else sees the token: the rewriter's policy and the S3 behaviour.
    for name, policy in tf.resources["aws_cloudfront_origin_request_policy"].items():
        if name == "signurl":
            continue
        text = json.dumps(policy)
        assert "X-Viewer-Token" not in text and "auth_token" not in text and "signurl_forwarded" not in text, name
        assert one(policy["cookies_config"], "cookies_config")["cookie_behavior"] == "none", name
    assert _orp(tf, default) is None or "auth" not in json.dumps(_orp(tf, default))
    for policy in tf.resources["aws_cloudfront_cache_policy"].values():
        assert "X-Viewer-Token" not in json.dumps(policy) and "auth_token" not in json.dumps(policy)


def test_settings_reach_signurl_only(tf):
    signurl = tf.locals["functions"]["signurl"]["environment"]
    rewriter = tf.locals["functions"]["rewriter"]["environment"]
    assert signurl.rstrip("}").rstrip().endswith("local.auth_environment)")
    assert "auth" not in rewriter.lower()
    env = _env(tf.locals["auth_environment"])
    assert set(env) == {
        "AUTH_MODE", "JWT_ISSUER", "JWT_AUDIENCE", "JWT_JWKS_URL", "JWT_ALGORITHMS", "AUTH_MOVIES_CLAIM",
        "AUTH_LEEWAY_SECONDS", "AUTH_TOKEN_COOKIE", "AUTH_TOKEN_QUERY_PARAM", "AUTH_BIND_TOKEN_EXPIRY",
        "AUTH_MAX_TOKEN_LIFETIME_SECONDS", "AUTH_SECRET_NAME",
    }
    # The secret's ARN, never its value.
    assert env["AUTH_SECRET_NAME"] == "local.auth_secret_arn"
    assert "secret_version" not in json.dumps(tf.locals["auth_environment"])
    assert "if value != null" in tf.locals["auth_environment"]


def test_shared_secret_in_secrets_manager_read_by_signurl_only(tf):
    secret = tf.resource("aws_secretsmanager_secret", "viewer_token")
    assert secret["count"] == "${local.auth_create_secret ? 1 : 0}"
    assert secret["name"].startswith("${var.name_prefix}/")
    # No version: the value is put by the operator and never enters the state.
    assert "viewer_token" not in json.dumps(tf.resources.get("aws_secretsmanager_secret_version", {}))
    docs = tf.data["aws_iam_policy_document"]
    readers = [
        fn for fn in ("signurl", "rewriter")
        if any("local.auth_secret_arn" in json.dumps(s) for s, _ in _statements(docs[fn]))
    ]
    assert readers == ["signurl"]


def test_auth_variables(tf):
    v = tf.variables
    assert v["auth_mode"]["default"] == "none"
    conditions = " ".join(c["condition"] for c in v["auth_mode"]["validation"])
    for mode in ("none", "jwt", "shared-secret"):
        assert f'"{mode}"' in conditions
    assert "var.jwt_issuer != null" in conditions and "var.jwt_audience != null" in conditions
    assert v["jwt_algorithms"]["default"] == ["RS256", "ES256"]
    assert v["auth_movies_claim"]["default"] == "movies"
    assert v["auth_leeway_seconds"]["default"] == 60
    assert v["auth_bind_token_expiry"]["default"] is True
    assert v["auth_max_token_lifetime_seconds"]["default"] == 900
    for name in ("jwt_issuer", "jwt_audience", "jwt_jwks_url", "auth_token_cookie", "auth_token_query_param", "auth_secret_arn"):
        assert v[name].get("default") is None, name
