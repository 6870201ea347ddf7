data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region

  # One name everywhere: the package, the binary, the zip and this map key.
  zip_dir = coalesce(var.lambda_zip_dir, "${path.module}/../target/lambda")

  # The public base URL. With an alias it is known before anything is created,
  # so it can also go into the functions' environment (CF_URL). Without one it
  # is the distribution's domain, which the functions cannot take from their
  # environment: the distribution needs the function URLs, the function URLs
  # need the functions, so CF_URL in the environment would be a cycle. The
  # secret holds it instead (see keys.tf), written after the distribution.
  alias_url = length(var.aliases) > 0 ? "https://${var.aliases[0]}" : null

  # The signed-URL parameters, as copied under KEY_PREFIX for the rewriter.
  prefixed_query_strings = [
    for p in ["Policy", "Signature", "Key-Pair-Id", "Expires", "Hash-Algorithm"] : "${p}${var.key_prefix}"
  ]

  # Low-latency HLS delivery directives a player appends to a playlist URL
  # (blocking reload: _HLS_msn, _HLS_part; delta update: _HLS_skip).
  hls_directive_query_strings = ["_HLS_msn", "_HLS_part", "_HLS_skip"]

  # Everything the rewriter reads from a playlist request's query: the
  # viewer's credential and the directives (8 names; CloudFront allows 10 per
  # cache policy and per origin request policy by default).
  playlist_query_strings = concat(local.prefixed_query_strings, local.hls_directive_query_strings)

  # Where the key is: the secret's ARN, or the KMS key's ARN (KMS signs SHA-256 only).
  key_environment = local.kms_mode ? {
    KMS_KEY_ID     = local.kms_signing_key_arn
    HASH_ALGORITHM = "sha256"
    } : {
    SM_SECRET_NAME = one(aws_secretsmanager_secret.signing_key[*].arn)
    HASH_ALGORITHM = var.hash_algorithm
  }

  common_environment = merge(
    {
      CF_KEY_ID            = local.signing_key_id
      KEY_PREFIX           = var.key_prefix
      KEY_REFRESH_SECONDS  = tostring(var.key_refresh_seconds)
      CORS_ALLOWED_ORIGINS = join(",", var.cors_allowed_origins)
      BIND_VIEWER_IP       = tostring(var.bind_viewer_ip)
    },
    local.alias_url == null ? {} : { CF_URL = local.alias_url },
    local.key_environment,
  )

  functions = {
    signurl = {
      memory_size = var.signurl_memory_size
      timeout     = var.signurl_timeout
      environment = merge(var.signurl_settings, local.common_environment, {
        S3_BUCKET             = aws_s3_bucket.media.id
        PLAYLIST_KEY_TEMPLATE = var.playlist_key_template
        URL_TTL_SECONDS       = tostring(var.url_ttl_seconds)
        CHECK_PLAYLIST_EXISTS = tostring(var.check_playlist_exists)
      }, local.auth_environment)
    }
    rewriter = {
      memory_size = var.rewriter_memory_size
      timeout     = var.rewriter_timeout
      environment = merge(var.rewriter_settings, local.common_environment, {
        S3_BUCKET          = aws_s3_bucket.media.id
        MEDIA_PREFIX       = var.media_prefix
        REWRITE_MODE       = var.rewrite_mode
        MAX_PLAYLIST_BYTES = tostring(var.max_playlist_bytes)
      }, local.kms_mode ? { TRUSTED_PUBLIC_KEYS = local.kms_trusted_public_keys } : {})
    }
  }

  media_objects_arn = "${aws_s3_bucket.media.arn}/${var.media_prefix}*"
}
