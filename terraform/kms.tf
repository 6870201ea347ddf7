################################################################################
# Signing keys in AWS KMS (signing_key_source = "kms")
#
# The private key never leaves KMS: no tls_private_key, no secret, nothing of
# it in any resource, variable, output or the state. Each name in kms_keys is
# one asymmetric SIGN_VERIFY key; its public key (data.aws_kms_public_key,
# PEM) becomes a CloudFront public key in the key group; kms_signing_key names
# the one the functions sign with. Rotation (README): add a name, apply, switch
# kms_signing_key, apply, wait out url_ttl_seconds, remove the old name, apply.
################################################################################

locals {
  kms_mode = var.signing_key_source == "kms"

  # The CloudFront public keys of the KMS keys, named kms-<name>.
  kms_public_keys = { for name in(local.kms_mode ? var.kms_keys : []) : "kms-${name}" => data.aws_kms_public_key.signing[name].public_key_pem }

  kms_signing_key_arn = local.kms_mode ? aws_kms_key.signing[var.kms_signing_key].arn : null

  # KMS mode: the rewriter verifies credentials signed by the other KMS keys
  # (the previous one during a rotation) from their public keys (PEM).
  kms_trusted_public_keys = jsonencode({
    for name in(local.kms_mode ? var.kms_keys : []) :
    aws_cloudfront_public_key.trusted["kms-${name}"].id => data.aws_kms_public_key.signing[name].public_key_pem
    if name != var.kms_signing_key
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
  for_each = toset(local.kms_mode ? var.kms_keys : [])

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
      error_message = "signing_key_source = \"kms\" needs aliases (CF_URL comes from the first alias)."
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
