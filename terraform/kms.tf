################################################################################
# Signing keys in AWS KMS (signing_key_source = "kms")
#
# The private key never leaves KMS: no tls_private_key, no secret, nothing of
# it in any resource, variable, output or the state. Each name in kms_keys is
# one asymmetric SIGN_VERIFY key; its public key (data.aws_kms_public_key,
# PEM) becomes a CloudFront public key in the key group; kms_signing_key names
# the one the functions sign with. Rotation (README): add a name, apply, switch
# kms_signing_key, apply, wait out url_ttl_seconds, remove the old name, apply.
#
# keep_kms_keys keeps these keys, trusted but not signing, in Secrets Manager
# mode: around a switch between the two sources (README: switching between
# Secrets Manager and KMS) the key group and the rewriter keep trusting them
# under the same addresses, hence the same CloudFront ids.
################################################################################

locals {
  kms_mode = var.signing_key_source == "kms"

  # The KMS keys that exist: the ones that sign in KMS mode, and with
  # keep_kms_keys the same ones in Secrets Manager mode (trusted, not signing).
  kms_key_names = local.kms_mode || var.keep_kms_keys ? var.kms_keys : []

  # The CloudFront public keys of the KMS keys, named kms-<name>.
  kms_public_keys = { for name in local.kms_key_names : "kms-${name}" => data.aws_kms_public_key.signing[name].public_key_pem }

  kms_signing_key_arn = local.kms_mode ? aws_kms_key.signing[var.kms_signing_key].arn : null

  # KMS mode: the rewriter verifies credentials signed by every other key the
  # key group trusts, from its public key (id => PEM, as CloudFront holds it):
  # the previous KMS key during a rotation, additional_public_keys (such as the
  # Secrets Manager key after a switch to KMS). The same set as the secret's
  # public_keys in Secrets Manager mode.
  kms_trusted_public_keys = jsonencode({
    for name, key in aws_cloudfront_public_key.trusted :
    key.id => key.encoded_key
    if local.kms_mode && name != local.signing_key_trust_name
  })

  # The key policy. AWS requires one that lets the account administer the key
  # (or it becomes unmanageable): administration only, not kms:Sign or
  # kms:GetPublicKey. The two function roles, and only they, sign and read the
  # public key. In a key policy, "Resource": "*" is the key itself.
  kms_key_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersTheKey"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root" }
        Action = [
          "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
          "kms:EnableKey", "kms:GetKeyPolicy", "kms:ListAliases", "kms:ListResourceTags", "kms:PutKeyPolicy",
          "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
        ]
        Resource = "*"
      },
      {
        Sid       = "FunctionsSign"
        Effect    = "Allow"
        Principal = { AWS = [for name in sort(keys(local.functions)) : aws_iam_role.function[name].arn] }
        Action    = ["kms:Sign", "kms:GetPublicKey"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_kms_key" "signing" {
  #checkov:skip=CKV_AWS_7:Asymmetric keys cannot rotate in KMS; they rotate through the key group (kms_keys, README: key rotation).
  for_each = toset(local.kms_key_names)

  description              = "signed-hls ${var.name_prefix}: CloudFront signing key ${each.key} (never leaves KMS)"
  key_usage                = "SIGN_VERIFY"
  customer_master_key_spec = var.kms_key_spec
  deletion_window_in_days  = 30
  policy                   = local.kms_key_policy
  tags                     = var.tags

  lifecycle {
    precondition {
      # The functions need CF_URL in their environment; without an alias the
      # distribution's domain would make a cycle (see main.tf), and in KMS
      # mode there is no secret to carry it.
      condition     = local.alias_url != null
      error_message = "KMS signing keys (signing_key_source = \"kms\", or keep_kms_keys for a switch) need aliases (CF_URL comes from the first alias)."
    }
  }
}

resource "aws_kms_alias" "signing" {
  for_each = aws_kms_key.signing

  name          = "alias/${var.name_prefix}-cloudfront-${each.key}"
  target_key_id = each.value.key_id
}

data "aws_kms_public_key" "signing" {
  for_each = aws_kms_key.signing

  key_id = each.value.arn
}
