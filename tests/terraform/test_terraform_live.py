"""Live HLS through CloudFront (issue 12), asserted on terraform/ and computed by Terraform.

What reaches the rewriter is decided by locals (the prefixed credential's
names follow key_prefix; the playlist cache policy is replaced by the managed
CachingDisabled one when playlist_max_ttl is 0), so those locals are evaluated
by real Terraform (tfmodule.LocalValues) for the variable values that matter,
and the resources are checked to use them.
"""
import re

import pytest

from test_terraform_config import CACHING_DISABLED, behaviours, cache_policy, one, ref_name

CREDENTIAL = ["Policy", "Signature", "Key-Pair-Id", "Expires", "Hash-Algorithm"]
DIRECTIVES = {"_HLS_msn", "_HLS_part", "_HLS_skip"}
QUERY_STRINGS_PER_POLICY = 10  # CloudFront's default quota, for cache and origin request policies alike


@pytest.fixture(scope="module")
def distribution(tf):
    return tf.resource("aws_cloudfront_distribution", "this")


def local_name(expr):
    m = re.fullmatch(r"\$\{local\.([a-z_]+)\}", expr)
    assert m, f"{expr!r} is not a local"
    return m.group(1)


def rewriter_query(key_prefix):
    return {f"{p}{key_prefix}" for p in CREDENTIAL} | DIRECTIVES


def playlist_policies(tf, distribution):
    _, ordered = behaviours(distribution)
    playlist = ordered["*.m3u8"]
    orp = tf.resource(
        "aws_cloudfront_origin_request_policy",
        ref_name(playlist["origin_request_policy_id"], "aws_cloudfront_origin_request_policy"),
    )
    return cache_policy(tf, playlist), orp


def test_playlist_cache_key_holds_the_credential_and_the_hls_directives(tf, distribution, local_values):
    """Each viewer's playlist is cached under its own credential, and each blocking reload
    (_HLS_msn/_HLS_part, and _HLS_skip) under its own key: never the answer for another segment."""
    policy, _ = playlist_policies(tf, distribution)
    assert policy["min_ttl"] == 0, "min TTL 0: above it CloudFront would keep even a no-store answer"
    assert policy["default_ttl"] == 0, "default TTL 0: an answer without max-age is not cached"
    assert policy["max_ttl"] == "${var.playlist_max_ttl}"
    params = one(policy["parameters_in_cache_key_and_forwarded_to_origin"], "parameters")
    qs = one(params["query_strings_config"], "query_strings_config")
    assert qs["query_string_behavior"] == "whitelist"
    key = local_name(one(qs["query_strings"], "query_strings")["items"])
    for prefix in ("-PREFIX", "-K_2"):
        names = local_values.values(key_prefix=prefix)[key]
        assert set(names) == rewriter_query(prefix), names
        assert len(names) <= QUERY_STRINGS_PER_POLICY
    # Nothing else in the key: no cookie, no header (the signature is checked before the cache).
    assert one(params["headers_config"], "headers_config")["header_behavior"] == "none"
    assert one(params["cookies_config"], "cookies_config")["cookie_behavior"] == "none"


@pytest.mark.parametrize("playlist_max_ttl", [3600, 1, 0])
def test_the_rewriter_receives_the_credential_and_the_directives(tf, distribution, local_values, playlist_max_ttl):
    """Through the cache key while playlists are cached, through the origin request policy when
    playlist_max_ttl = 0 puts the managed CachingDisabled policy (which forwards no query string) in
    its place; never listed in both (what the cache key holds is forwarded already), never a name more."""
    policy, orp = playlist_policies(tf, distribution)
    values = local_values.values(playlist_max_ttl=playlist_max_ttl)

    if playlist_max_ttl > 0:
        params = one(policy["parameters_in_cache_key_and_forwarded_to_origin"], "parameters")
        items = one(one(params["query_strings_config"], "qs")["query_strings"], "query_strings")["items"]
        in_cache_key = set(values[local_name(items)])
    else:
        _, ordered = behaviours(distribution)
        assert tf.locals["playlists_cache_policy_id"].endswith(f": {CACHING_DISABLED}}}")
        in_cache_key = set()  # Managed-CachingDisabled: no query string in the key

    qs = one(orp["query_strings_config"], "query_strings_config")
    dyn = one(qs.get("dynamic", []), "dynamic query_strings")["query_strings"]
    by_policy = values[local_name(one(dyn["content"], "content")["items"])]
    # An empty whitelist is invalid: behaviour and block both follow the list.
    assert qs["query_string_behavior"] == f'${{length(local.{local_name(one(dyn["content"], "c")["items"])}) > 0 ? "whitelist" : "none"}}'
    assert dyn["for_each"] == f'${{length(local.{local_name(one(dyn["content"], "c")["items"])}) > 0 ? [1] : []}}'

    assert in_cache_key.isdisjoint(by_policy), "listed in both the cache key and the origin request policy"
    assert in_cache_key | set(by_policy) == rewriter_query("-PREFIX")
    assert len(by_policy) <= QUERY_STRINGS_PER_POLICY


def function_origin(distribution):
    return one([d for d in distribution["dynamic"] if "origin" in d], "dynamic origin")["origin"]


@pytest.mark.parametrize(
    "settings",
    [{}, {"rewriter_timeout": 1, "signurl_timeout": 1}, {"rewriter_timeout": 55, "signurl_timeout": 30}],
    ids=["defaults", "shortest", "longest"],
)
def test_cloudfront_waits_longer_than_each_function_may_run(tf, distribution, local_values, settings):
    """A blocking playlist reload holds the rewriter up to three target durations. CloudFront must
    wait longer than the function may run: past its response timeout it sends a GET again (up to 3
    connection attempts), starting another invocation while the first still waits."""
    origin = function_origin(distribution)
    assert origin["for_each"] == "${local.function_origin_id}"
    config = one(one(origin["content"], "origin content")["custom_origin_config"], "custom_origin_config")
    assert config["origin_read_timeout"] == "${local.origin_read_timeout[origin.key]}"
    assert 1 <= config["origin_keepalive_timeout"] <= 60
    for name in ("signurl", "rewriter"):
        assert tf.locals["functions"][name]["timeout"] == f"${{var.{name}_timeout}}"  # what the stub mirrors

    values = local_values.values(**settings)
    for name in ("signurl", "rewriter"):
        timeout = settings.get(f"{name}_timeout", tf.variables[f"{name}_timeout"]["default"])
        read = values["origin_read_timeout"][name]
        assert timeout < read <= 60, f"{name}: timeout {timeout} s, CloudFront waits {read} s"
    # The same relation guards the plan of any other value (a precondition on the distribution).
    pre = [p for p in one(distribution["lifecycle"], "lifecycle")["precondition"] if "origin_read_timeout" in p["condition"]]
    assert one(pre, "timeout precondition")["condition"].endswith("t > local.functions[name].timeout && t <= 60])}")


def test_rewriter_timeout_leaves_room_for_a_blocking_reload(tf, variable_rules):
    default = tf.variables["rewriter_timeout"]["default"]
    assert default >= 20, "three target durations of 6 s segments, and the rewrite"
    assert variable_rules.errors() == []
    assert variable_rules.errors(rewriter_timeout=55) == []
    # Beyond 55 s CloudFront could not wait long enough (response timeout at most 60 s): refused at plan.
    assert any("rewriter_timeout" in e for e in variable_rules.errors(rewriter_timeout=56))
    assert variable_rules.errors(rewriter_timeout=0) != []
    assert variable_rules.errors(rewriter_timeout=20.5) != []
    assert variable_rules.errors(signurl_timeout=31) != []


def test_retryable_errors_are_not_cached(tf, distribution):
    """CloudFront ignores no-store on 500/502/503/504 and keeps them 10 s by default: a
    playlist_incomplete, a timed-out blocking reload or signing_in_progress (Retry-After: 1)
    would be answered again from the cache. Error caching minimum TTL 0 for each."""
    responses = one([d for d in distribution["dynamic"] if "custom_error_response" in d], "dynamic custom_error_response")
    block = responses["custom_error_response"]
    assert block["for_each"] == "${toset(local.uncached_error_codes)}"
    content = one(block["content"], "custom_error_response content")
    assert content["error_code"] == "${custom_error_response.value}"
    assert content["error_caching_min_ttl"] == 0
    # The rewriter's own JSON answer goes through: no error page, no status rewrite.
    assert "response_page_path" not in content and "response_code" not in content
    assert {500, 502, 503, 504} <= set(tf.locals["uncached_error_codes"])
