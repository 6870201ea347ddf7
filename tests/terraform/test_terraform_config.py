"""What matters in terraform/, asserted on the parsed configuration (python-hcl2).

Each test names the property it guards; a change that breaks the property
makes the test fail (each was checked by breaking the configuration once).
"""
import json
import re

import pytest
from tfmodule import expression_end

FUNCTIONS = {"signurl", "rewriter"}
KEY_GROUP = "${aws_cloudfront_key_group.this.id}"
DISTRIBUTION_ARN = "${aws_cloudfront_distribution.this.arn}"


def one(blocks, what):
    assert isinstance(blocks, list) and len(blocks) == 1, f"expected exactly one {what} block, got {blocks!r}"
    return blocks[0]


def ref_name(expr, rtype):
    """'${aws_x.name.id}' -> 'name'."""
    m = re.fullmatch(r"\$\{" + re.escape(rtype) + r"\.([A-Za-z0-9_-]+)\.[a-z_]+\}", expr or "")
    assert m, f"{expr!r} is not a reference to a {rtype}"
    return m.group(1)


# --- CloudFront behaviours ---------------------------------------------------


@pytest.fixture(scope="module")
def distribution(tf):
    return tf.resource("aws_cloudfront_distribution", "this")


def behaviours(distribution):
    default = one(distribution["default_cache_behavior"], "default_cache_behavior")
    ordered = {b["path_pattern"]: b for b in distribution.get("ordered_cache_behavior", [])}
    return default, ordered


def test_key_group_on_segments_and_playlists(distribution):
    default, ordered = behaviours(distribution)
    assert default.get("trusted_key_groups") == [KEY_GROUP], "default (segment) behaviour must require a signature"
    assert "*.m3u8" in ordered, "no playlist behaviour"
    assert ordered["*.m3u8"].get("trusted_key_groups") == [KEY_GROUP], "playlists must require a signature"


def test_only_the_signer_is_unsigned(distribution):
    """Never a playlist or segment served unsigned: the one behaviour without a key group is signurl's."""
    default, ordered = behaviours(distribution)
    unsigned = [p for p, b in ordered.items() if not b.get("trusted_key_groups")]
    assert unsigned == ["/content/media/signurl"]
    assert not distribution.get("trusted_signers")
    for path, b in ordered.items():
        assert b.get("trusted_signers") in (None, []), path


def test_routes(distribution):
    default, ordered = behaviours(distribution)
    assert set(ordered) == {"/content/media/signurl", "*.m3u8"}
    assert default["target_origin_id"] == "${local.s3_origin_id}"
    assert ordered["/content/media/signurl"]["target_origin_id"] == '${local.function_origin_id["signurl"]}'
    assert ordered["*.m3u8"]["target_origin_id"] == '${local.function_origin_id["rewriter"]}'
    # The signer comes first: CloudFront matches ordered behaviours in order.
    paths = [b["path_pattern"] for b in distribution["ordered_cache_behavior"]]
    assert paths.index("/content/media/signurl") < paths.index("*.m3u8")


def test_https_only_and_compressed(distribution):
    default, ordered = behaviours(distribution)
    for name, b in [("default", default), *ordered.items()]:
        assert b["viewer_protocol_policy"] == "redirect-to-https", name
        assert b["compress"] is True, name
        assert b.get("response_headers_policy_id") == "${aws_cloudfront_response_headers_policy.this.id}", name


CACHING_DISABLED = "data.aws_cloudfront_cache_policy.caching_disabled.id"


def cache_policy(tf, behaviour):
    """The module's own cache policy of a behaviour (used while its max TTL is above 0)."""
    m = re.fullmatch(r"\$\{local\.([a-z_]+)\}", behaviour["cache_policy_id"])
    assert m, f"cache_policy_id {behaviour['cache_policy_id']!r} is not a local"
    choice = re.fullmatch(
        r"\$\{var\.([a-z_]+) > 0 \? aws_cloudfront_cache_policy\.([a-z_]+)\[0\]\.id : (.+)\}", tf.locals[m.group(1)]
    )
    assert choice, f"local.{m.group(1)} = {tf.locals[m.group(1)]!r}"
    assert choice.group(3) == CACHING_DISABLED
    return tf.resource("aws_cloudfront_cache_policy", choice.group(2))


@pytest.mark.parametrize(
    "policy, ttl, path",
    [("segments", "segment_max_ttl", None), ("playlists", "playlist_max_ttl", "*.m3u8")],
)
def test_zero_max_ttl_takes_the_managed_caching_disabled_policy(tf, distribution, variable_rules, policy, ttl, path):
    """Issue 11, finding 9: CloudFront refuses a cache policy whose TTLs are all 0 while it keys on
    query strings or enables gzip/brotli. With a max TTL of 0 the behaviour takes Managed-CachingDisabled
    and the module's policy is not created."""
    default, ordered = behaviours(distribution)
    behaviour = default if path is None else ordered[path]
    assert behaviour["cache_policy_id"] == f"${{local.{policy}_cache_policy_id}}"
    assert tf.locals[f"{policy}_cache_policy_id"] == (
        f"${{var.{ttl} > 0 ? aws_cloudfront_cache_policy.{policy}[0].id : {CACHING_DISABLED}}}"
    )
    assert tf.resource("aws_cloudfront_cache_policy", policy)["count"] == f"${{var.{ttl} > 0 ? 1 : 0}}"
    assert "moved" in tf.text["cloudfront.tf"] and f"to   = aws_cloudfront_cache_policy.{policy}[0]" in tf.text["cloudfront.tf"]
    # 0 stays a valid choice (Terraform evaluates the rules); negative ones do not.
    zero = {ttl: 0, **({"segment_default_ttl": 0} if policy == "segments" else {})}
    assert variable_rules.errors(**zero) == []
    assert variable_rules.errors(**{ttl: -1}) != []


def test_segment_cache_key_ignores_query_strings(tf, distribution):
    default, _ = behaviours(distribution)
    policy = cache_policy(tf, default)
    params = one(policy["parameters_in_cache_key_and_forwarded_to_origin"], "parameters")
    assert one(params["query_strings_config"], "query_strings_config")["query_string_behavior"] == "none"
    assert one(params["headers_config"], "headers_config")["header_behavior"] == "none"
    assert one(params["cookies_config"], "cookies_config")["cookie_behavior"] == "none"
    assert params["enable_accept_encoding_gzip"] is True and params["enable_accept_encoding_brotli"] is True


# The playlist cache key, what reaches the rewriter, timeouts and error caching:
# test_terraform_live.py (issue 12).


def test_signer_is_not_cached_and_gets_its_parameters(tf, distribution):
    _, ordered = behaviours(distribution)
    signer = ordered["/content/media/signurl"]
    assert signer["cache_policy_id"] == "${data.aws_cloudfront_cache_policy.caching_disabled.id}"
    assert tf.data["aws_cloudfront_cache_policy"]["caching_disabled"]["name"] == "Managed-CachingDisabled"
    orp = tf.resource(
        "aws_cloudfront_origin_request_policy",
        ref_name(signer["origin_request_policy_id"], "aws_cloudfront_origin_request_policy"),
    )
    qs = one(orp["query_strings_config"], "query_strings_config")
    assert qs["query_string_behavior"] == "whitelist"
    # movie, format, redirect, and the viewer token's query parameter when configured (test_terraform_auth.py).
    assert one(qs["query_strings"], "query_strings")["items"] == "${local.signurl_query_strings}"
    assert tf.locals["signurl_query_strings"].startswith('${concat(["movie", "format", "redirect"], ')


def test_viewer_address_forwarded_to_both_functions_when_ip_binding(tf, distribution):
    _, ordered = behaviours(distribution)
    # signurl's headers are a list that also holds the viewer token (test_terraform_auth.py).
    assert "var.bind_viewer_ip ? [\"CloudFront-Viewer-Address\"] : []" in tf.locals["signurl_forwarded_headers"]
    for path in ("*.m3u8",):
        orp = tf.resource(
            "aws_cloudfront_origin_request_policy",
            ref_name(ordered[path]["origin_request_policy_id"], "aws_cloudfront_origin_request_policy"),
        )
        headers = one(orp["headers_config"], "headers_config")
        assert headers["header_behavior"] == '${var.bind_viewer_ip ? "whitelist" : "none"}', path
        dyn = one(headers.get("dynamic", []), "dynamic headers")["headers"]
        assert dyn["for_each"] == "${var.bind_viewer_ip ? [1] : []}", path
        assert one(dyn["content"], "content")["items"] == ["CloudFront-Viewer-Address"], path
        # Host must never reach a function URL.
        assert "Host" not in json.dumps(orp), path


def test_ipv6_off_when_signed_urls_are_bound_to_the_viewer_ip(tf, distribution):
    """Issue 11, finding 8. AWS: do not enable IPv6 with IP-restricted custom policies; a
    dual-stack viewer switching address families gets intermittent 403s."""
    assert distribution["is_ipv6_enabled"] == "${!var.bind_viewer_ip}"
    assert "IPv4 only" in tf.variables["bind_viewer_ip"]["description"]


def test_cors_from_variable(tf):
    policy = tf.resource("aws_cloudfront_response_headers_policy", "this")
    cors = one(policy["dynamic"], "dynamic cors_config")["cors_config"]
    content = one(cors["content"], "cors content")
    assert one(content["access_control_allow_origins"], "origins")["items"] == "${var.cors_allowed_origins}"
    assert content["access_control_allow_credentials"] is False
    hsts = one(one(policy["security_headers_config"], "security")["strict_transport_security"], "hsts")
    assert hsts["access_control_max_age_sec"] >= 31536000


def test_origins_use_origin_access_control(tf, distribution):
    s3_oac = tf.resource("aws_cloudfront_origin_access_control", "s3")
    fn_oac = tf.resource("aws_cloudfront_origin_access_control", "lambda")
    assert (s3_oac["origin_access_control_origin_type"], s3_oac["signing_behavior"], s3_oac["signing_protocol"]) == (
        "s3",
        "always",
        "sigv4",
    )
    assert (fn_oac["origin_access_control_origin_type"], fn_oac["signing_behavior"], fn_oac["signing_protocol"]) == (
        "lambda",
        "always",
        "sigv4",
    )
    s3_origin = one(distribution["origin"], "static origin")
    assert s3_origin["origin_access_control_id"] == "${aws_cloudfront_origin_access_control.s3.id}"
    fn_origin = one([d for d in distribution["dynamic"] if "origin" in d], "dynamic origin")["origin"]
    assert fn_origin["for_each"] == "${local.function_origin_id}"
    content = one(fn_origin["content"], "origin content")
    assert content["origin_access_control_id"] == "${aws_cloudfront_origin_access_control.lambda.id}"
    assert "aws_lambda_function_url.this[origin.key].function_url" in content["domain_name"]
    assert one(content["custom_origin_config"], "custom_origin_config")["origin_protocol_policy"] == "https-only"


# --- S3 ----------------------------------------------------------------------


def _policy_statements(tf, doc_expr):
    name = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([a-z_]+)(\[0\])?\.json\}", doc_expr).group(1)
    doc = tf.data["aws_iam_policy_document"][name]
    return name, doc.get("statement", []), doc.get("dynamic", [])


def _principals(stmt):
    return [(p["type"], p["identifiers"]) for p in stmt.get("principals", [])]


def _bucket_key(expr):
    m = re.fullmatch(r"\$\{aws_s3_bucket\.([a-z_]+)(\[0\])?\.(id|bucket)\}", expr)
    assert m, f"bucket argument {expr!r} does not reference an aws_s3_bucket"
    return m.group(1)


def test_no_public_bucket(tf):
    buckets = set(tf.resources["aws_s3_bucket"])
    assert buckets == {"media", "logs"}
    pab = {_bucket_key(b["bucket"]): b for b in tf.resources["aws_s3_bucket_public_access_block"].values()}
    own = {_bucket_key(b["bucket"]): b for b in tf.resources["aws_s3_bucket_ownership_controls"].values()}
    sse = {_bucket_key(b["bucket"]): b for b in tf.resources["aws_s3_bucket_server_side_encryption_configuration"].values()}
    pol = {_bucket_key(b["bucket"]): b for b in tf.resources["aws_s3_bucket_policy"].values()}
    for bucket in buckets:
        flags = pab.get(bucket)
        assert flags, f"{bucket}: no public access block"
        for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
            assert flags.get(flag) is True, f"{bucket}: {flag} must be true"
        assert one(own[bucket]["rule"], "rule")["object_ownership"] == "BucketOwnerEnforced", bucket
        rule = one(one(sse[bucket]["rule"], "rule")["apply_server_side_encryption_by_default"], "sse")
        assert rule["sse_algorithm"] in ("AES256", "aws:kms"), bucket
        assert bucket in pol, f"{bucket}: no bucket policy"
        _, statements, dynamic = _policy_statements(tf, pol[bucket]["policy"])
        assert dynamic == []
        denies = [s for s in statements if s["effect"] == "Deny"]
        assert any(
            one(s["condition"], "condition") == {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
            and s["actions"] == ["s3:*"]
            for s in denies
        ), f"{bucket}: no deny of non-TLS requests"
        for s in statements:
            if s["effect"] == "Allow":
                for ptype, ids in _principals(s):
                    assert ptype == "Service" and "*" not in ids, f"{bucket}: {s['sid']} allows a public principal"
                assert s.get("condition"), f"{bucket}: {s['sid']} allows a service without a source condition"
    assert "aws_s3_bucket_acl" not in tf.resources
    for name, body in tf.resources["aws_s3_bucket"].items():
        assert "acl" not in body and "policy" not in body, name
    assert "aws_s3_bucket_website_configuration" not in tf.resources


def test_media_bucket_admits_only_this_distribution(tf):
    _, statements, _ = _policy_statements(tf, tf.resource("aws_s3_bucket_policy", "media")["policy"])
    allows = [s for s in statements if s["effect"] == "Allow"]
    assert len(allows) == 1
    s = allows[0]
    assert s["actions"] == ["s3:GetObject"]
    assert s["resources"] == ["${local.media_objects_arn}"]
    assert _principals(s) == [("Service", ["cloudfront.amazonaws.com"])]
    assert one(s["condition"], "condition") == {
        "test": "StringEquals",
        "variable": "AWS:SourceArn",
        "values": [DISTRIBUTION_ARN],
    }
    assert tf.locals["media_objects_arn"] == "${aws_s3_bucket.media.arn}/${var.media_prefix}*"


# --- Lambda --------------------------------------------------------------------


def test_functions_are_arm64_al2023_from_the_build(tf):
    fn = tf.resource("aws_lambda_function", "this")
    assert fn["for_each"] == "${local.functions}"
    assert set(tf.locals["functions"]) == FUNCTIONS
    assert fn["architectures"] == ["arm64"]
    assert fn["runtime"] == "provided.al2023"
    assert fn["handler"] == "bootstrap"
    assert fn["filename"] == "${local.zip_dir}/${each.key}/bootstrap.zip"
    assert fn["source_code_hash"] == '${filebase64sha256("${local.zip_dir}/${each.key}/bootstrap.zip")}'
    assert tf.locals["zip_dir"] == '${coalesce(var.lambda_zip_dir, "${path.module}/../target/lambda")}'
    assert one(fn["logging_config"], "logging_config")["log_format"] == "JSON"
    for name in FUNCTIONS:
        settings = tf.locals["functions"][name]
        assert settings["memory_size"] == f"${{var.{name}_memory_size}}"
        assert settings["timeout"] == f"${{var.{name}_timeout}}"


def test_function_urls_take_aws_iam(tf):
    url = tf.resource("aws_lambda_function_url", "this")
    assert url["for_each"] == "${local.functions}"
    assert url["authorization_type"] == "AWS_IAM"
    assert set(tf.resources["aws_lambda_function_url"]) == {"this"}


def test_lambda_permissions_only_for_this_distribution(tf):
    perms = tf.resources["aws_lambda_permission"]
    actions = {}
    for name, p in perms.items():
        assert p["principal"] == "cloudfront.amazonaws.com", name
        assert p["source_arn"] == DISTRIBUTION_ARN, name
        assert p["for_each"] == "${local.functions}", name
        assert p["function_name"] == "${aws_lambda_function.this[each.key].function_name}", name
        actions[p["action"]] = p
    # Since October 2025 a function URL needs both actions.
    assert set(actions) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert actions["lambda:InvokeFunctionUrl"]["function_url_auth_type"] == "AWS_IAM"
    assert actions["lambda:InvokeFunction"]["invoked_via_function_url"] is True


# --- Environment: settings and ARNs, never a secret ---------------------------

# Anything holding key material, and what depends on it.
SECRET_SOURCES = [
    "var.private_key_file",
    "var.public_key_file",
    "var.additional_public_keys",
    "tls_private_key.",
    "aws_secretsmanager_secret_version.",
    "encoded_key",
    "file(",
]


# What holds or reads a private key (public keys may reach TRUSTED_PUBLIC_KEYS).
PRIVATE_KEY_SOURCES = [
    "var.private_key_file",
    "tls_private_key.signing[0].private_key",
    "aws_secretsmanager_secret_version.",
    "secret_json",
]


def _tainted_locals(tf, sources, exempt=()):
    """Locals whose text reaches one of the sources, directly or through other locals (not through `exempt`)."""
    tainted = set()
    changed = True
    while changed:
        changed = False
        for name, value in tf.locals.items():
            if name in tainted or name in exempt:
                continue
            text = json.dumps(value)
            if any(s in text for s in sources) or any(re.search(rf"local\.{t}\b", text) for t in tainted):
                tainted.add(name)
                changed = True
    return tainted


def _env(expr):
    """{KEY = value, ...} pairs of an expression (as the parser prints it), values as HCL text."""
    pairs = {}
    for m in re.finditer(r"(?<![\w.])([A-Z][A-Z0-9_]+) = ", expr):
        pairs[m.group(1)] = expr[m.end():expression_end(expr, m.end(), stops=",")].strip()
    return pairs


EXPECTED_ENV_VALUES = {
    "common": {
        "CF_KEY_ID": "local.signing_key_id",
        "KEY_PREFIX": "var.key_prefix",
        "KEY_REFRESH_SECONDS": "tostring(var.key_refresh_seconds)",
        "CORS_ALLOWED_ORIGINS": 'join(",", var.cors_allowed_origins)',
        "BIND_VIEWER_IP": "tostring(var.bind_viewer_ip)",
        "CF_URL": "local.alias_url",
    },
    "signurl": {
        "S3_BUCKET": "aws_s3_bucket.media.id",
        "PLAYLIST_KEY_TEMPLATE": "var.playlist_key_template",
        "URL_TTL_SECONDS": "tostring(var.url_ttl_seconds)",
        "CHECK_PLAYLIST_EXISTS": "tostring(var.check_playlist_exists)",
    },
    "rewriter": {
        "S3_BUCKET": "aws_s3_bucket.media.id",
        "MEDIA_PREFIX": "var.media_prefix",
        "REWRITE_MODE": "var.rewrite_mode",
        "MAX_PLAYLIST_BYTES": "tostring(var.max_playlist_bytes)",
        # Only with signing_key_source = "kms": the other KMS keys' public PEMs.
        "TRUSTED_PUBLIC_KEYS": "local.kms_trusted_public_keys",
    },
}


def test_environment_holds_only_settings_and_arns(tf):
    fn = tf.resource("aws_lambda_function", "this")
    assert one(fn["environment"], "environment") == {"variables": "${each.value.environment}"}
    env_locals = {"common_environment", "functions"}
    # Public keys reach the environment through one channel only: the rewriter's
    # TRUSTED_PUBLIC_KEYS (KMS mode), which holds the public keys CloudFront
    # holds and nothing that reads a private key.
    tainted = _tainted_locals(tf, SECRET_SOURCES, exempt={"kms_trusted_public_keys"})
    assert {"private_key_pem", "public_key_pem", "secret_json"} <= tainted, "the taint analysis lost track of the key"
    assert not (env_locals & tainted), f"key material reaches the environment via {env_locals & tainted}"
    private = _tainted_locals(tf, PRIVATE_KEY_SOURCES)
    assert {"private_key_pem", "secret_json"} <= private, "the taint analysis lost track of the private key"
    assert not ({"kms_trusted_public_keys"} | env_locals) & private, "a private key reaches the environment"
    reached, text = _closure(tf, tf.locals["kms_trusted_public_keys"])
    assert not (reached & private) and "private_key" not in text and "secret_string" not in text
    assert _env(tf.locals["common_environment"]) == EXPECTED_ENV_VALUES["common"]
    for name in FUNCTIONS:
        env = tf.locals["functions"][name]["environment"]
        # The operator's extra settings come first: whatever Terraform sets wins.
        assert env.startswith(f"${{merge(var.{name}_settings, local.common_environment, {{"), name
        assert _env(env) == EXPECTED_ENV_VALUES[name], name
    assert "AWS_LAMBDA_LOG_FORMAT" not in json.dumps(tf.locals)
    # Where the key is: the secret's ARN, or the KMS key's ARN (never a key).
    assert tf.locals["common_environment"].rstrip("}").rstrip().endswith("local.key_environment,\n)") or \
        "local.key_environment" in tf.locals["common_environment"]
    kms, secret = re.fullmatch(r"\$\{local\.kms_mode \? (\{.*?\}) : (\{.*\})\}", tf.locals["key_environment"], re.S).groups()
    assert _env(kms) == {"KMS_KEY_ID": "local.kms_signing_key_arn", "HASH_ALGORITHM": '"sha256"'}
    assert _env(secret) == {
        "SM_SECRET_NAME": "one(aws_secretsmanager_secret.signing_key[*].arn)",
        "HASH_ALGORITHM": "var.hash_algorithm",
    }
    assert "key_environment" not in tainted


def test_no_dependency_cycle_through_the_environment(tf):
    """CF_URL cannot come from the distribution: it needs the function URLs, which need the functions."""
    tainted = _tainted_locals(tf, ["aws_cloudfront_distribution.", "aws_lambda_function_url.", "aws_lambda_function."])
    assert not ({"common_environment", "functions", "alias_url"} & tainted)
    # The secret carries the distribution's URL instead (and is written after it).
    assert "aws_cloudfront_distribution.this.domain_name" in json.dumps(tf.locals["secret_public"])


def test_secret_json_fields_and_write_only(tf):
    assert set(tf.locals["secret_public"]) == {"key_pair_id", "cf_url", "public_keys"}
    assert tf.locals["secret_json"] == "${jsonencode(merge(local.secret_public, {private_key = local.private_key_pem}))}"
    version = tf.resource("aws_secretsmanager_secret_version", "signing_key")
    assert version["secret_string_wo"] == "${local.secret_json}"
    assert "secret_string" not in version, "secret_string would keep the private key in the state"


def _closure(tf, expr):
    """The expression's text plus the text of every local it reaches."""
    texts, todo, seen = [expr], re.findall(r"local\.(\w+)", expr), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        text = json.dumps(tf.locals[name])
        texts.append(text)
        todo += re.findall(r"local\.(\w+)", text)
    return seen, " ".join(texts)


def test_write_only_version_is_not_derived_from_the_private_key(tf):
    """Issue 11, finding 11: the write-only version lives in the state; a hash prefix of the secret
    JSON there was a hash of the private key. It may derive from public values only, and must still
    change whenever the secret's content does (a new key has a new public key and key id)."""
    version = tf.resource("aws_secretsmanager_secret_version", "signing_key")["secret_string_wo_version"]
    private = _tainted_locals(tf, ["var.private_key_file", "tls_private_key.signing[0].private_key"])
    assert {"private_key_pem", "secret_json"} <= private, "the taint analysis lost track of the private key"
    reached, text = _closure(tf, version)
    assert not (reached & private), f"the version derives from the private key via {reached & private}"
    assert "private_key" not in text and "tls_private_key" not in text and "secret_json" not in text
    # ...and it follows everything else the secret holds, plus the operator's bump.
    assert "secret_public" in reached and "var.signing_key_version" in text
    assert tf.variables["signing_key_version"]["default"] == 0


def test_keys_generated_or_supplied(tf):
    key = tf.resource("tls_private_key", "signing")
    assert key["algorithm"] == "${var.key_algorithm}"
    assert '"P256"' in key["ecdsa_curve"] and "2048" in key["rsa_bits"]
    # Every trusted key is one resource keyed by a stable name, and all of them are in the group.
    assert tf.locals["trusted_public_keys"] == (
        "${merge(var.additional_public_keys, local.kms_public_keys, "
        "local.kms_mode ? {} : {(var.signing_key_name) = local.public_key_pem})}"
    )
    assert tf.resource("aws_cloudfront_public_key", "trusted")["for_each"] == "${local.trusted_public_keys}"
    assert set(tf.resources["aws_cloudfront_public_key"]) == {"trusted"}
    group = tf.resource("aws_cloudfront_key_group", "this")
    assert group["items"] == "${[for name in sort(keys(local.trusted_public_keys)) : aws_cloudfront_public_key.trusted[name].id]}"
    # The functions sign with the key named signing_key_name.
    assert tf.locals["signing_key_trust_name"] == '${local.kms_mode ? "kms-${var.kms_signing_key}" : var.signing_key_name}'
    assert tf.locals["signing_key_id"] == "${aws_cloudfront_public_key.trusted[local.signing_key_trust_name].id}"
    assert tf.locals["secret_public"]["key_pair_id"] == "${local.signing_key_id}"


# --- IAM: exactly the intended statements --------------------------------------

LOGS = ["logs:CreateLogStream", "logs:PutLogEvents"]
SECRET = "${one(aws_secretsmanager_secret.signing_key[*].arn)}"
MEDIA_OBJECTS = "${local.media_objects_arn}"
LIST_CONDITION = [{"test": "StringLike", "variable": "s3:prefix", "values": ["${var.media_prefix}*"]}]

# A customer managed key is usable only through Secrets Manager, for that one secret.
SIGNING_KMS = (
    "DecryptSigningKey",
    "${var.signing_key_kms_key_arn != null && !local.kms_mode ? [1] : []}",
    ["kms:Decrypt"],
    ["${var.signing_key_kms_key_arn}"],
    [
        {"test": "StringEquals", "variable": "kms:ViaService", "values": ["${local.signing_key_secret_via}"]},
        {"test": "StringEquals", "variable": "kms:EncryptionContext:SecretARN", "values": [SECRET]},
    ],
)

# The signing key: the secret, or (signing_key_source = "kms") only the KMS key that signs.
READ_SECRET = ("ReadSigningKey", "${local.kms_mode ? [] : [1]}", ["secretsmanager:GetSecretValue"], [SECRET], None)
SIGN_WITH_KMS = (
    "SignWithKmsKey",
    "${local.kms_mode ? [1] : []}",
    ["kms:Sign", "kms:GetPublicKey"],
    ["${local.kms_signing_key_arn}"],
    None,
)

EXPECTED_IAM = {
    "signurl": [
        READ_SECRET,
        SIGN_WITH_KMS,
        SIGNING_KMS,
        ("WriteOwnLogs", None, LOGS, ['${aws_cloudwatch_log_group.function["signurl"].arn}:*'], None),
        (
            "ReadViewerTokenSecret",
            '${var.auth_mode == "shared-secret" ? [1] : []}',
            ["secretsmanager:GetSecretValue"],
            ["${local.auth_secret_arn}"],
            None,
        ),
        (
            "DecryptViewerTokenSecret",
            "${local.auth_secret_kms ? [1] : []}",
            ["kms:Decrypt"],
            ["${var.auth_secret_kms_key_arn}"],
            [
                {"test": "StringEquals", "variable": "kms:ViaService", "values": ["${local.auth_secret_via}"]},
                {"test": "StringEquals", "variable": "kms:EncryptionContext:SecretARN", "values": ["${local.auth_secret_arn}"]},
            ],
        ),
        ("ReadMediaPlaylists", "${var.check_playlist_exists ? [1] : []}", ["s3:GetObject"], [MEDIA_OBJECTS], None),
        (
            "ListMediaPrefix",
            "${var.check_playlist_exists ? [1] : []}",
            ["s3:ListBucket"],
            ["${aws_s3_bucket.media.arn}"],
            LIST_CONDITION,
        ),
    ],
    "rewriter": [
        READ_SECRET,
        SIGN_WITH_KMS,
        SIGNING_KMS,
        ("WriteOwnLogs", None, LOGS, ['${aws_cloudwatch_log_group.function["rewriter"].arn}:*'], None),
        ("ReadMediaPlaylists", None, ["s3:GetObject"], [MEDIA_OBJECTS], None),
        ("ListMediaPrefix", None, ["s3:ListBucket"], ["${aws_s3_bucket.media.arn}"], LIST_CONDITION),
    ],
}


def _statements(doc, docs):
    """(statement, for_each) of a policy document, with those of the documents
    it takes in through `source_policy_documents` (looked up in `docs`)."""
    out = []
    for source in doc.get("source_policy_documents", []):
        name = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([a-z_]+)\.json\}", source).group(1)
        out += _statements(docs[name], docs)
    for s in doc.get("statement", []):
        out.append((s, None))
    for d in doc.get("dynamic", []):
        for label, body in d.items():
            assert label == "statement"
            out.append((one(body["content"], "content"), body["for_each"]))
    return out


def test_each_function_role_has_exactly_its_statements(tf):
    docs = tf.data["aws_iam_policy_document"]
    assert tf.locals["function_policies"] == {
        "signurl": "${data.aws_iam_policy_document.signurl.json}",
        "rewriter": "${data.aws_iam_policy_document.rewriter.json}",
    }
    policy = tf.resource("aws_iam_role_policy", "function")
    assert policy["policy"] == "${local.function_policies[each.key]}"
    assert policy["role"] == "${aws_iam_role.function[each.key].id}"
    for fn, expected in EXPECTED_IAM.items():
        got = []
        for s, cond in _statements(docs[fn], docs):
            assert s["effect"] == "Allow", (fn, s)
            assert "principals" not in s and "not_actions" not in s and "not_resources" not in s, (fn, s)
            got.append((s["sid"], cond, s["actions"], s["resources"], s.get("condition")))
        assert sorted(got, key=str) == sorted(expected, key=str), fn


def test_no_wildcard_resource_and_no_managed_policy(tf):
    for name, doc in tf.data["aws_iam_policy_document"].items():
        for s, _ in _statements(doc, tf.data["aws_iam_policy_document"]):
            for r in s.get("resources", []):
                assert r != "*" and not re.fullmatch(r"arn:[^:]*:[^:]*:[^:]*:[^:]*:\*", r), f"{name}: {r}"
                assert "${" in r, f"{name}: resource {r!r} is not tied to a resource of this stack"
            for a in s.get("actions", []):
                assert a != "*" and not a.endswith(":*") or (s["effect"] == "Deny" and a == "s3:*"), f"{name}: {a}"
    assert "aws_iam_role_policy_attachment" not in tf.resources
    assert "aws_iam_policy_attachment" not in tf.resources
    role = tf.resource("aws_iam_role", "function")
    assert "managed_policy_arns" not in role and "inline_policy" not in role


# --- Naming, variables, outputs ---------------------------------------------------

NAME_ARGS = {"name", "name_prefix", "bucket", "bucket_prefix", "function_name"}
# Arguments named like a name but referring to another resource.
REFERENCE_ARGS = {
    ("aws_lambda_function_url", "function_name"),
    ("aws_lambda_permission", "function_name"),
}


def test_name_prefix_on_every_named_resource(tf):
    missing = []
    checked = 0
    for rtype, name, body in tf.all_resources():
        for arg in NAME_ARGS & set(body):
            if (rtype, arg) in REFERENCE_ARGS:
                continue
            value = body[arg]
            if arg == "bucket" and rtype != "aws_s3_bucket":
                continue  # references the bucket
            checked += 1
            if "${var.name_prefix}" not in str(value):
                missing.append(f"{rtype}.{name}.{arg} = {value!r}")
    assert checked >= 15, "the naming check found too few names: the parse changed"
    assert missing == [], "named without var.name_prefix:\n" + "\n".join(missing)


def test_every_variable_typed_and_described(tf):
    assert tf.variables
    for name, v in tf.variables.items():
        assert v.get("type"), f"variable {name} has no type"
        assert isinstance(v.get("description"), str) and len(v["description"]) > 10, f"variable {name} has no description"


ENUMS = {
    "key_algorithm": ["RSA", "ECDSA"],
    "hash_algorithm": ["sha1", "sha256"],
    "rewrite_mode": ["resign", "per-uri", "reuse"],
    "price_class": ["PriceClass_100", "PriceClass_200", "PriceClass_All"],
    "log_level": ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"],
    "access_logs_format": ["w3c", "json", "plain", "parquet"],
}


def test_enum_variables_are_validated(tf):
    for name, values in ENUMS.items():
        v = tf.variables[name]
        conditions = " ".join(val["condition"] for val in v.get("validation", []))
        assert f"var.{name}" in conditions, f"variable {name} has no validation"
        for value in values:
            assert f'"{value}"' in conditions, f"variable {name}: {value} not in its validation"


def test_defaults(tf):
    defaults = {
        "key_prefix": "-PREFIX",
        "media_prefix": "movies/",
        "playlist_key_template": "movies/movie_{movie}/index.m3u8",
        "url_ttl_seconds": 21600,
        "key_refresh_seconds": 3600,
        "max_playlist_bytes": 16777216,
        "check_playlist_exists": False,
        "bind_viewer_ip": False,
        "key_algorithm": "RSA",
        "hash_algorithm": "sha1",
        "rewrite_mode": "resign",
        "private_key_file": None,
        "public_key_file": None,
    }
    for name, value in defaults.items():
        assert tf.variables[name].get("default") == value, name


def test_every_output_described(tf):
    for name in ("cloudfront_domain_name", "signurl_url", "bucket_name", "key_group_id", "public_key_id"):
        assert name in tf.outputs, f"output {name} missing"
    for name, o in tf.outputs.items():
        assert isinstance(o.get("description"), str) and len(o["description"]) > 10, f"output {name} has no description"
        assert not o.get("sensitive"), name
        assert "private_key" not in json.dumps(o["value"]) and "secret_json" not in json.dumps(o["value"]), name


def test_example_calls_the_module_and_is_described(example):
    assert example.modules["signed_hls"]["source"] == "../.."
    for name, v in example.variables.items():
        assert v.get("type") and v.get("description"), name
    for name, o in example.outputs.items():
        assert o.get("description"), name


def test_module_layout(tf):
    """terraform-aws-modules conventions: one file per concern, an example, a README."""
    names = {p.name for p in tf.files}
    for required in ("versions.tf", "variables.tf", "main.tf", "outputs.tf", "s3.tf", "cloudfront.tf", "lambda.tf", "iam.tf", "keys.tf"):
        assert required in names, f"terraform/{required} is missing"
    assert (tf.folder / "README.md").is_file()
    assert (tf.folder / "examples" / "complete" / "main.tf").is_file()
    versions = tf.text["versions.tf"]
    assert re.search(r'required_version\s*=\s*">= 1\.11"', versions), "secret_string_wo needs Terraform >= 1.11"
    assert re.search(r'version\s*=\s*">= 6\.28, < 7\.0"', versions), "invoked_via_function_url needs aws >= 6.28"
    # Only these files declare variables and outputs.
    for name, text in tf.text.items():
        if name != "variables.tf":
            assert not re.search(r'(?m)^variable "', text), f"{name} declares a variable"
        if name != "outputs.tf":
            assert not re.search(r'(?m)^output "', text), f"{name} declares an output"


def test_readme_documents_every_variable_and_output(tf):
    readme = (tf.folder / "README.md").read_text()
    for name, v in tf.variables.items():
        assert f"| `{name}` |" in readme, f"README.md: no row for variable {name}"
    for name in tf.outputs:
        assert f"| `{name}` |" in readme, f"README.md: no row for output {name}"
    assert "lives in the Terraform state" in readme, "README must say that a generated key lives in the state"


# --- Signing keys in AWS KMS (issue 14) ------------------------------------------


def test_kms_keys_sign_verify_and_only_the_functions_sign(tf):
    assert tf.locals["kms_mode"] == '${var.signing_key_source == "kms"}'
    key = tf.resource("aws_kms_key", "signing")
    assert key["for_each"] == "${toset(local.kms_key_names)}"
    # The KMS keys exist in KMS mode, and in Secrets Manager mode only with keep_kms_keys (a switch).
    assert tf.locals["kms_key_names"] == "${local.kms_mode || var.keep_kms_keys ? var.kms_keys : []}"
    assert tf.variables["keep_kms_keys"]["default"] is False
    assert key["key_usage"] == "SIGN_VERIFY"
    assert key["customer_master_key_spec"] == "${var.kms_key_spec}"
    assert key["policy"] == "${local.kms_key_policy}"
    policy = tf.locals["kms_key_policy"]
    admin, functions = re.findall(r"\{\s*Sid\s*=.*?Resource\s*=\s*\"\*\"\s*\}", policy, re.S)
    # The account administers the key (AWS requires it) but cannot sign with it...
    assert ":root" in admin and "kms:Sign" not in admin and "kms:GetPublicKey" not in admin
    assert "kms:*" not in policy and "Principal = \"*\"" not in policy
    # ...the two function roles, and nobody else, sign and read the public key.
    assert re.search(r'Principal\s*=\s*\{\s*AWS\s*=\s*\[for name in sort\(keys\(local\.functions\)\) : aws_iam_role\.function\[name\]\.arn\]', functions)
    assert re.search(r'Action\s*=\s*\["kms:Sign", "kms:GetPublicKey"\]', functions)
    # CF_URL must come from an alias: there is no secret to carry it.
    pre = one(one(key["lifecycle"], "lifecycle")["precondition"], "precondition")
    assert pre["condition"] == "${local.alias_url != null}"


def test_kms_public_key_joins_the_key_group_and_no_private_key_exists(tf):
    data = tf.data["aws_kms_public_key"]["signing"]
    assert data["for_each"] == "${aws_kms_key.signing}" and data["key_id"] == "${each.value.arn}"
    assert "data.aws_kms_public_key.signing[name].public_key_pem" in tf.locals["kms_public_keys"]
    # In KMS mode nothing generates, reads or stores a private key.
    assert tf.locals["generate_key"] == "${!local.kms_mode && var.private_key_file == null}"
    assert tf.locals["private_key_pem"].startswith("${local.kms_mode ? null :")
    for rtype in ("aws_secretsmanager_secret", "aws_secretsmanager_secret_version"):
        assert tf.resource(rtype, "signing_key")["count"] == "${local.kms_mode ? 0 : 1}"
    assert tf.resource("tls_private_key", "signing")["count"] == "${local.generate_key ? 1 : 0}"
    code = "\n".join(l.split("#")[0] for l in (tf.folder / "kms.tf").read_text().splitlines())
    for material in ("private_key", "tls_", "secret_string", "PRIVATE KEY", "file("):
        assert material not in code, material
    # The rewriter trusts every other key of the key group (the previous KMS key during a
    # rotation, additional_public_keys after a switch) from the public keys CloudFront holds.
    trusted = tf.locals["kms_trusted_public_keys"]
    assert trusted == (
        "${jsonencode({for name, key in aws_cloudfront_public_key.trusted : key.id => key.encoded_key "
        "if local.kms_mode && name != local.signing_key_trust_name})}"
    )
    assert "local.kms_trusted_public_keys" in tf.locals["functions"]["rewriter"]["environment"]


def test_kms_rotation_variables(tf):
    v = tf.variables
    assert v["signing_key_source"]["default"] == "secrets_manager"
    assert v["kms_keys"]["default"] == ["a"] and v["kms_signing_key"]["default"] == "a"
    rule = one(v["kms_signing_key"]["validation"], "validation")["condition"]
    assert rule == "${contains(var.kms_keys, var.kms_signing_key)}"
    assert v["kms_key_spec"]["default"] == "ECC_NIST_P256"


@pytest.mark.parametrize("function", ["rewriter", "signurl"])
def test_extra_function_settings_cannot_override_what_terraform_sets(variable_rules, function):
    """`rewriter_settings` / `signurl_settings` pass the README's other settings
    (BLOCKING_RELOAD_POLL_MS, RAW_CACHE_SECONDS, ...); never the key, the bucket,
    the URL, the viewer authentication or an AWS_* name."""
    variable = f"{function}_settings"
    ok = {"BLOCKING_RELOAD_POLL_MS": "50", "RAW_CACHE_SECONDS": "30", "EXPIRY_GRANULARITY_SECONDS": "0"}
    assert variable_rules.errors(**{variable: ok}) == []
    for name in ["KMS_KEY_ID", "SM_SECRET_NAME", "SIGNING_KEY_FILE", "CF_KEY_ID", "CF_URL", "S3_BUCKET",
                 "TRUSTED_PUBLIC_KEYS", "AWS_REGION", "AUTH_MODE", "JWT_ISSUER", "lower_case", "A-B"]:
        errors = variable_rules.errors(**{variable: {name: "x"}})
        assert len(errors) == 1 and variable in errors[0], (name, errors)
