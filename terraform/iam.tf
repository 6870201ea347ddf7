################################################################################
# One least-privilege role per function. Every statement names its resources:
# no "*" anywhere.
################################################################################

locals {
  # kms:ViaService of Secrets Manager in a region: a customer managed key of a
  # secret may be used only through Secrets Manager, and (with the
  # kms:EncryptionContext:SecretARN condition) only for that secret.
  signing_key_secret_via = "secretsmanager.${local.region}.${data.aws_partition.current.dns_suffix}"
  auth_secret_via        = local.auth_secret_kms ? "secretsmanager.${split(":", local.auth_secret_arn)[3]}.${data.aws_partition.current.dns_suffix}" : null
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    sid     = "LambdaAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name                 = "${var.name_prefix}-${each.key}"
  description          = "signed-hls ${var.name_prefix}: execution role of the ${each.key} function"
  assume_role_policy   = data.aws_iam_policy_document.lambda_assume.json
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "signing_key" {
  # The signing key: the secret (secrets_manager) or the KMS keys (kms).
  dynamic "statement" {
    for_each = local.kms_mode ? [] : [1]

    content {
      sid       = "ReadSigningKey"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [one(aws_secretsmanager_secret.signing_key[*].arn)]
    }
  }

  dynamic "statement" {
    for_each = local.kms_mode ? [1] : []

    content {
      sid       = "SignWithKmsKey"
      effect    = "Allow"
      actions   = ["kms:Sign", "kms:GetPublicKey"]
      resources = [local.kms_signing_key_arn]
    }
  }

  # Only with signing_key_kms_key_arn: the customer managed key of the secret.
  dynamic "statement" {
    for_each = var.signing_key_kms_key_arn != null && !local.kms_mode ? [1] : []

    content {
      sid       = "DecryptSigningKey"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [var.signing_key_kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.signing_key_secret_via]
      }

      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:SecretARN"
        values   = [one(aws_secretsmanager_secret.signing_key[*].arn)]
      }
    }
  }
}

data "aws_iam_policy_document" "signurl" {
  # The signing key's statements, the same for both functions.
  source_policy_documents = [data.aws_iam_policy_document.signing_key.json]

  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function["signurl"].arn}:*"]
  }

  # Only when signurl checks that the playlist exists before it signs.
  dynamic "statement" {
    for_each = var.check_playlist_exists ? [1] : []

    content {
      sid       = "ReadMediaPlaylists"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = [local.media_objects_arn]
    }
  }

  # Only with auth_mode = "shared-secret": the HMAC key of the viewer tokens.
  dynamic "statement" {
    for_each = var.auth_mode == "shared-secret" ? [1] : []

    content {
      sid       = "ReadViewerTokenSecret"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [local.auth_secret_arn]
    }
  }

  # ...and its customer managed key, when auth_secret_kms_key_arn names one.
  dynamic "statement" {
    for_each = local.auth_secret_kms ? [1] : []

    content {
      sid       = "DecryptViewerTokenSecret"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [var.auth_secret_kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = [local.auth_secret_via]
      }

      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:SecretARN"
        values   = [local.auth_secret_arn]
      }
    }
  }

  # Without ListBucket S3 answers 403 instead of 404 for a missing key.
  dynamic "statement" {
    for_each = var.check_playlist_exists ? [1] : []

    content {
      sid       = "ListMediaPrefix"
      effect    = "Allow"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.media.arn]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${var.media_prefix}*"]
      }
    }
  }
}

data "aws_iam_policy_document" "rewriter" {
  # The signing key's statements, the same for both functions.
  source_policy_documents = [data.aws_iam_policy_document.signing_key.json]

  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function["rewriter"].arn}:*"]
  }

  statement {
    sid       = "ReadMediaPlaylists"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [local.media_objects_arn]
  }

  # Without ListBucket S3 answers 403 instead of 404 for a missing playlist.
  statement {
    sid       = "ListMediaPrefix"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.media.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.media_prefix}*"]
    }
  }
}

locals {
  function_policies = {
    signurl  = data.aws_iam_policy_document.signurl.json
    rewriter = data.aws_iam_policy_document.rewriter.json
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name   = "${var.name_prefix}-${each.key}"
  role   = aws_iam_role.function[each.key].id
  policy = local.function_policies[each.key]
}
