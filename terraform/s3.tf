################################################################################
# Media bucket: private, owner-enforced, encrypted, readable only by this
# distribution (Origin Access Control) and only over TLS.
################################################################################

resource "aws_s3_bucket" "media" {
  #checkov:skip=CKV_AWS_18:Viewers never reach S3 directly; every read is logged by CloudFront access logs (enable_access_logs) and CloudTrail.
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost; media is re-uploadable from its source, left to the operator.
  #checkov:skip=CKV_AWS_145:SSE-S3 encryption; SSE-KMS would need a customer key whose policy admits CloudFront OAC, extra cost for no gain here.
  #checkov:skip=CKV2_AWS_62:No consumer for S3 event notifications in this stack.
  bucket        = "${var.name_prefix}-media-${local.account_id}-${local.region}"
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "media" {
  bucket = aws_s3_bucket.media.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "media" {
  bucket = aws_s3_bucket.media.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    id     = "expire-noncurrent-and-abort-uploads"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.media]
}

data "aws_iam_policy_document" "media_bucket" {
  statement {
    sid       = "AllowCloudFrontOriginAccessControl"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [local.media_objects_arn]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.this.arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.media.arn, "${aws_s3_bucket.media.arn}/*"]

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

resource "aws_s3_bucket_policy" "media" {
  bucket = aws_s3_bucket.media.id
  policy = data.aws_iam_policy_document.media_bucket.json

  # A bucket policy is refused while the public access block is being set up.
  depends_on = [aws_s3_bucket_public_access_block.media]
}
