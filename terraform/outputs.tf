output "cloudfront_domain_name" {
  description = "Domain name of the CloudFront distribution (dxxxx.cloudfront.net); point aliases at it."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "cloudfront_distribution_id" {
  description = "Id of the CloudFront distribution (for invalidations)."
  value       = aws_cloudfront_distribution.this.id
}

output "cloudfront_distribution_arn" {
  description = "ARN of the CloudFront distribution: the only principal the bucket and the functions answer."
  value       = aws_cloudfront_distribution.this.arn
}

output "cf_url" {
  description = "Public base URL of the stack: https:// and the first alias, or the distribution's domain."
  value       = coalesce(local.alias_url, "https://${aws_cloudfront_distribution.this.domain_name}")
}

output "signurl_url" {
  description = "URL viewers call to obtain a signed playlist URL: GET <signurl_url>?movie=<id>."
  value       = "${coalesce(local.alias_url, "https://${aws_cloudfront_distribution.this.domain_name}")}/content/media/signurl"
}

output "bucket_name" {
  description = "Name of the private media bucket; upload HLS below media_prefix (aws s3 sync ./movies s3://<bucket_name>/movies/)."
  value       = aws_s3_bucket.media.id
}

output "bucket_arn" {
  description = "ARN of the private media bucket."
  value       = aws_s3_bucket.media.arn
}

output "key_group_id" {
  description = "Id of the CloudFront key group trusted on the playlist and segment behaviours."
  value       = aws_cloudfront_key_group.this.id
}

output "public_key_id" {
  description = "Id (Key-Pair-Id) of the CloudFront public key the functions sign with."
  value       = local.signing_key_id
}

output "public_key_pem" {
  description = "PEM of the signing public key (save it before rotating away from a generated key: it stays trusted as an additional key)."
  value       = aws_cloudfront_public_key.trusted[local.signing_key_trust_name].encoded_key
}

output "trusted_public_key_ids" {
  description = "Ids of every public key in the key group, by name (the signing key under signing_key_name)."
  value       = { for name, key in aws_cloudfront_public_key.trusted : name => key.id }
}

output "trusted_public_key_pems" {
  description = "PEM of every public key in the key group, by name (public keys only): save them before a switch between Secrets Manager and KMS, which keeps the old ones trusted through additional_public_keys."
  value       = { for name, key in aws_cloudfront_public_key.trusted : name => key.encoded_key }
}

output "secret_arn" {
  description = "ARN of the Secrets Manager secret holding the signing key JSON (key_pair_id, private_key, cf_url, public_keys); null with signing_key_source = \"kms\"."
  value       = one(aws_secretsmanager_secret.signing_key[*].arn)
}

output "kms_key_arns" {
  description = "With signing_key_source = \"kms\": the ARNs of the KMS signing keys, by name (kms_keys); empty otherwise."
  value       = { for name, key in aws_kms_key.signing : name => key.arn }
}

output "function_names" {
  description = "Lambda function names, by function (signurl, rewriter)."
  value       = { for name, fn in aws_lambda_function.this : name => fn.function_name }
}

output "function_log_groups" {
  description = "CloudWatch log groups of the functions, by function."
  value       = { for name, lg in aws_cloudwatch_log_group.function : name => lg.name }
}

output "function_role_arns" {
  description = "Execution role ARNs, by function."
  value       = { for name, role in aws_iam_role.function : name => role.arn }
}

output "access_logs_bucket_name" {
  description = "Bucket receiving CloudFront access logs under cloudfront/, or null when enable_access_logs is false."
  value       = var.enable_access_logs ? aws_s3_bucket.logs[0].id : null
}

output "auth_secret_arn" {
  description = "With auth_mode = \"shared-secret\": ARN of the secret holding the HMAC key of the viewer tokens (fill it with aws secretsmanager put-secret-value if this module created it). Null otherwise."
  value       = local.auth_secret_arn
}
