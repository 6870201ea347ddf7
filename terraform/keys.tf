################################################################################
# Signing keys
#
# Bring your own PEM files (private_key_file + public_key_file), or let
# Terraform generate a key: then the private key lives in the Terraform state
# (tls_private_key keeps it there), so protect the state like the key itself.
# A key from files reaches Secrets Manager through a write-only argument and is
# never stored in the state.
################################################################################

locals {
  # With signing_key_source = "kms" nothing here holds a private key: see kms.tf.
  generate_key = !local.kms_mode && var.private_key_file == null

  # Generated keys are handed over as PKCS#8 (BEGIN PRIVATE KEY) for RSA and
  # ECDSA alike; files are passed through as they are.
  private_key_pem = local.kms_mode ? null : (local.generate_key ? tls_private_key.signing[0].private_key_pem_pkcs8 : sensitive(file(var.private_key_file)))

  public_key_pem = local.kms_mode ? null : (local.generate_key ? tls_private_key.signing[0].public_key_pem : file(var.public_key_file))

  # Every public key the key group trusts, by name: the additional ones, the
  # KMS keys (kms-<name>; in Secrets Manager mode only with keep_kms_keys) and,
  # in Secrets Manager mode, the signing key under signing_key_name. A key
  # keeps its name, hence its CloudFront id, across a rotation and across a
  # switch between Secrets Manager and KMS (README), so a key that the edges
  # already trust is never replaced by a new id.
  trusted_public_keys = merge(
    var.additional_public_keys,
    local.kms_public_keys,
    local.kms_mode ? {} : { (var.signing_key_name) = local.public_key_pem },
  )

  signing_key_trust_name = local.kms_mode ? "kms-${var.kms_signing_key}" : var.signing_key_name
  signing_key_id         = aws_cloudfront_public_key.trusted[local.signing_key_trust_name].id


  # The one secret the functions read (JSON): these public fields plus
  # private_key. cf_url lives here, not in the environment, because the
  # distribution's domain is known only after the functions exist (see
  # main.tf). public_keys (id => PEM) lets the rewriter verify credentials
  # signed with any trusted key, e.g. the previous one.
  secret_public = {
    key_pair_id = local.signing_key_id
    cf_url      = coalesce(local.alias_url, "https://${aws_cloudfront_distribution.this.domain_name}")
    public_keys = { for name, key in aws_cloudfront_public_key.trusted : key.id => key.encoded_key }
  }

  secret_json = jsonencode(merge(local.secret_public, { private_key = local.private_key_pem }))

  # The write-only version, kept in the state: derived from the public fields
  # and signing_key_version only, never from the private key. A new private
  # key comes with a new public key, hence a new CloudFront key id, so the
  # secret is still written again whenever its content changes.
  secret_version = parseint(substr(sha256(jsonencode(merge(local.secret_public, { version = var.signing_key_version }))), 0, 12), 16)
}

resource "tls_private_key" "signing" {
  count = local.generate_key ? 1 : 0

  algorithm   = var.key_algorithm
  rsa_bits    = var.key_algorithm == "RSA" ? 2048 : null
  ecdsa_curve = var.key_algorithm == "ECDSA" ? "P256" : null
}

resource "aws_cloudfront_public_key" "trusted" {
  for_each = local.trusted_public_keys

  name_prefix = "${var.name_prefix}-${each.key}-"
  comment     = "signed-hls ${var.name_prefix}: trusted key ${each.key}"
  # CloudFront keeps the PEM with one final newline; without it every plan
  # would want to replace the key.
  encoded_key = "${trimspace(each.value)}\n"

  # A changed key joins the key group before the old one is deleted.
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudfront_key_group" "this" {
  name    = "${var.name_prefix}-key-group"
  comment = "signed-hls ${var.name_prefix}: keys trusted for playlists and segments"
  items   = [for name in sort(keys(local.trusted_public_keys)) : aws_cloudfront_public_key.trusted[name].id]
}

resource "aws_secretsmanager_secret" "signing_key" {
  #checkov:skip=CKV_AWS_149:The AWS managed key aws/secretsmanager by default; signing_key_kms_key_arn names a customer key when a policy requires one (a key policy narrows nothing the IAM policies do not).
  #checkov:skip=CKV2_AWS_57:A CloudFront signing key is rotated through the key group (README, key rotation), not by a Secrets Manager rotation Lambda.
  count = local.kms_mode ? 0 : 1

  name                    = "${var.name_prefix}/cloudfront-signing-key"
  description             = "signed-hls ${var.name_prefix}: CloudFront signing key as JSON {key_pair_id, private_key, cf_url, public_keys}"
  kms_key_id              = var.signing_key_kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "signing_key" {
  count = local.kms_mode ? 0 : 1

  secret_id = aws_secretsmanager_secret.signing_key[0].id

  # Write-only: Terraform sends the value and does not keep it in the state;
  # it sends it again whenever the version changes (see local.secret_version).
  secret_string_wo         = local.secret_json
  secret_string_wo_version = local.secret_version

  # Sign with a key only once the key group trusts it.
  depends_on = [aws_cloudfront_key_group.this]
}
