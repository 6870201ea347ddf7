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
        if any("local.auth_secret_arn" in json.dumps(s) for s, _ in _statements(docs[fn], docs))
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


# --- Issue 11, finding 10: the secret's full ARN, and its KMS key ---------------

FULL_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:signed-hls/viewer-token-AbC123"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_auth_secret_arn_must_be_the_full_arn(variable_rules):
    """IAM matches a secret by its full ARN (NAME-XXXXXX): a grant on a partial ARN matches
    nothing and signurl answers 503. Terraform evaluates the rule. (A name that itself ends in
    a hyphen and 6 letters or digits cannot be told from a full ARN.)"""
    assert variable_rules.errors(auth_mode="shared-secret", auth_secret_arn=FULL_ARN) == []
    assert variable_rules.errors(auth_mode="shared-secret", auth_secret_arn=FULL_ARN.replace(":aws:", ":aws-cn:")) == []
    for partial in (
        FULL_ARN.removesuffix("-AbC123"),  # the partial ARN
        "signed-hls/viewer-token-AbC123",  # a name, not an ARN
        FULL_ARN[:-1],  # 5 characters
        FULL_ARN.replace(":secret:", ":secrets:"),
    ):
        errors = variable_rules.errors(auth_mode="shared-secret", auth_secret_arn=partial)
        assert len(errors) == 1 and "6 random characters" in errors[0] and "503" in errors[0], (partial, errors)


@pytest.mark.parametrize("name", ["auth_secret_kms_key_arn", "signing_key_kms_key_arn"])
def test_kms_key_variables_take_a_key_arn(variable_rules, name):
    base = {"auth_mode": "shared-secret"} if name.startswith("auth") else {}
    assert variable_rules.errors(**base, **{name: KEY_ARN}) == []
    assert variable_rules.errors(**base, **{name: KEY_ARN.replace("key/1234abcd-12ab-34cd-56ef-1234567890ab", "key/mrk-1234abcd12ab34cd56ef1234567890ab")}) == []
    for bad in ("arn:aws:kms:eu-west-1:123456789012:alias/signed-hls", "1234abcd-12ab-34cd-56ef-1234567890ab", "alias/aws/secretsmanager"):
        errors = variable_rules.errors(**base, **{name: bad})
        assert len(errors) == 1 and "not an alias" in errors[0], (bad, errors)


def test_auth_kms_key_only_with_shared_secret(variable_rules):
    errors = variable_rules.errors(auth_secret_kms_key_arn=KEY_ARN)
    assert len(errors) == 1 and "shared-secret" in errors[0]


def test_customer_managed_keys_encrypt_the_secrets_and_are_granted_via_secrets_manager(tf):
    """A secret under a customer managed key needs kms:Decrypt: granted through Secrets Manager in the
    secret's region only, for that secret only (the statements themselves: test_terraform_config.py)."""
    assert tf.resource("aws_secretsmanager_secret", "viewer_token")["kms_key_id"] == "${var.auth_secret_kms_key_arn}"
    assert tf.resource("aws_secretsmanager_secret", "signing_key")["kms_key_id"] == "${var.signing_key_kms_key_arn}"
    assert tf.locals["auth_secret_kms"] == '${var.auth_mode == "shared-secret" && var.auth_secret_kms_key_arn != null}'
    # The given secret may live in another region than the stack: take the region from its ARN.
    assert tf.locals["auth_secret_via"] == (
        '${local.auth_secret_kms ? "secretsmanager.${split(":", local.auth_secret_arn)[3]}.'
        '${data.aws_partition.current.dns_suffix}" : null}'
    )
    assert tf.locals["signing_key_secret_via"] == "secretsmanager.${local.region}.${data.aws_partition.current.dns_suffix}"
    for name in ("auth_secret_kms_key_arn", "signing_key_kms_key_arn"):
        assert tf.variables[name].get("default") is None, name
