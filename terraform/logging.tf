################################################################################
# Optional CloudFront access logs: standard logging v2 (CloudWatch vended logs)
# into a private bucket of their own.
#
# Why v2 and not the legacy `logging_config` block: legacy logging writes with
# bucket ACLs, which needs ACLs enabled on the bucket (BucketOwnerPreferred);
# v2 writes under a bucket policy, so the log bucket stays owner-enforced like
# the media bucket. CloudFront's log delivery objects live in us-east-1.
################################################################################

locals {
  logs_region = "us-east-1"
}

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log bucket itself; logging it into itself would loop.
  #checkov:skip=CKV_AWS_21:Log objects are written once and expire; versioning would only keep deleted logs.
  #checkov:skip=CKV_AWS_144:Cross-region replication of access logs is left to the operator.
  #checkov:skip=CKV_AWS_145:SSE-S3 encryption; log delivery to a SSE-KMS bucket needs a key policy for delivery.logs, left to the operator.
  #checkov:skip=CKV2_AWS_62:No consumer for S3 event notifications in this stack.
  count = var.enable_access_logs ? 1 : 0

  bucket        = "${var.name_prefix}-logs-${local.account_id}-${local.region}"
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  count  = var.enable_access_logs ? 1 : 0
  bucket = aws_s3_bucket.logs[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  count  = var.enable_access_logs ? 1 : 0
  bucket = aws_s3_bucket.logs[0].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  count  = var.enable_access_logs ? 1 : 0
  bucket = aws_s3_bucket.logs[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  count  = var.enable_access_logs ? 1 : 0
  bucket = aws_s3_bucket.logs[0].id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_logs_retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "logs_bucket" {
  count = var.enable_access_logs ? 1 : 0

  statement {
    sid       = "AllowCloudFrontLogDelivery"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs[0].arn}/cloudfront/*"]

    principals {
      type        = "Service"
      identifiers = ["delivery.logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${local.logs_region}:${local.account_id}:delivery-source:${var.name_prefix}-cloudfront"]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.logs[0].arn, "${aws_s3_bucket.logs[0].arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  count  = var.enable_access_logs ? 1 : 0
  bucket = aws_s3_bucket.logs[0].id
  policy = data.aws_iam_policy_document.logs_bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.logs]
}

resource "aws_cloudwatch_log_delivery_source" "cloudfront" {
  count  = var.enable_access_logs ? 1 : 0
  region = local.logs_region

  name         = "${var.name_prefix}-cloudfront"
  log_type     = "ACCESS_LOGS"
  resource_arn = aws_cloudfront_distribution.this.arn
  tags         = var.tags
}

resource "aws_cloudwatch_log_delivery_destination" "cloudfront" {
  count  = var.enable_access_logs ? 1 : 0
  region = local.logs_region

  name          = "${var.name_prefix}-cloudfront-s3"
  output_format = var.access_logs_format
  tags          = var.tags

  delivery_destination_configuration {
    destination_resource_arn = "${aws_s3_bucket.logs[0].arn}/cloudfront"
  }

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_cloudwatch_log_delivery" "cloudfront" {
  count  = var.enable_access_logs ? 1 : 0
  region = local.logs_region

  delivery_source_name     = aws_cloudwatch_log_delivery_source.cloudfront[0].name
  delivery_destination_arn = aws_cloudwatch_log_delivery_destination.cloudfront[0].arn
  tags                     = var.tags

  # An argument (a list of objects), not a block: every attribute is given.
  s3_delivery_configuration = [{
    suffix_path                 = "{DistributionId}/{yyyy}/{MM}/{dd}/{HH}"
    enable_hive_compatible_path = false
  }]
}
