################################################################################
# Who may watch: signurl authenticates viewers (auth_mode) and checks their
# entitlement to the movie. Only signurl is involved: the rewriter and S3
# trust the signed URL it hands out.
#
# Why X-Viewer-Token and not Authorization: the functions sit behind Lambda
# function URLs with Origin Access Control, and OAC signs each origin request
# with SigV4 in the Authorization header. A viewer's own Authorization header
# can therefore never reach signurl through this distribution (and CloudFront
# can forward Authorization only by putting it in the cache key anyway). So
# the viewer sends the token in X-Viewer-Token (or the configured cookie or
# query parameter), and only signurl's origin request policy forwards it. The
# function also accepts "Authorization: Bearer" for deployments without OAC
# (API Gateway, the local stack).
################################################################################

locals {
  auth_on = var.auth_mode != "none"

  # The shared secret: the given one, or an empty one created here.
  auth_create_secret = var.auth_mode == "shared-secret" && var.auth_secret_arn == null
  auth_secret_arn    = var.auth_mode != "shared-secret" ? null : (var.auth_secret_arn != null ? var.auth_secret_arn : one(aws_secretsmanager_secret.viewer_token[*].arn))

  # A customer managed key of the shared secret: signurl may decrypt with it
  # only through Secrets Manager in the secret's region, for that secret.
  auth_secret_kms = var.auth_mode == "shared-secret" && var.auth_secret_kms_key_arn != null

  # What reaches signurl besides movie, format and redirect.
  signurl_forwarded_headers = concat(
    var.bind_viewer_ip ? ["CloudFront-Viewer-Address"] : [],
    local.auth_on ? ["X-Viewer-Token"] : [],
  )
  signurl_forwarded_cookies = local.auth_on && var.auth_token_cookie != null ? [var.auth_token_cookie] : []
  signurl_query_strings = concat(
    ["movie", "format", "redirect"],
    local.auth_on && var.auth_token_query_param != null ? [var.auth_token_query_param] : [],
  )

  # signurl's AUTH_* / JWT_* settings; unset ones are left out (defaults apply).
  auth_environment = { for name, value in {
    AUTH_MODE                       = var.auth_mode
    JWT_ISSUER                      = var.auth_mode == "jwt" ? var.jwt_issuer : null
    JWT_AUDIENCE                    = var.auth_mode == "jwt" ? var.jwt_audience : null
    JWT_JWKS_URL                    = var.auth_mode == "jwt" ? var.jwt_jwks_url : null
    JWT_ALGORITHMS                  = var.auth_mode == "jwt" ? join(",", var.jwt_algorithms) : null
    AUTH_MOVIES_CLAIM               = local.auth_on ? var.auth_movies_claim : null
    AUTH_LEEWAY_SECONDS             = local.auth_on ? tostring(var.auth_leeway_seconds) : null
    AUTH_TOKEN_COOKIE               = local.auth_on ? var.auth_token_cookie : null
    AUTH_TOKEN_QUERY_PARAM          = local.auth_on ? var.auth_token_query_param : null
    AUTH_BIND_TOKEN_EXPIRY          = local.auth_on ? tostring(var.auth_bind_token_expiry) : null
    AUTH_MAX_TOKEN_LIFETIME_SECONDS = var.auth_mode == "shared-secret" ? tostring(var.auth_max_token_lifetime_seconds) : null
    AUTH_SECRET_NAME                = local.auth_secret_arn
  } : name => value if value != null }
}

# The HMAC key for auth_mode = "shared-secret": an empty secret that you fill
# (aws secretsmanager put-secret-value --secret-id <auth_secret_arn>
# --secret-string "$(openssl rand -base64 48)"), so that the key never enters
# the Terraform state. Until it has a value, signurl answers 503.
resource "aws_secretsmanager_secret" "viewer_token" {
  #checkov:skip=CKV_AWS_149:The AWS managed key aws/secretsmanager by default; auth_secret_kms_key_arn names a customer key when a policy requires one (a key policy narrows nothing the IAM policies do not).
  #checkov:skip=CKV2_AWS_57:Rotation means changing the key in your token-minting backend too; rotate both together (README: Operations).
  count = local.auth_create_secret ? 1 : 0

  name                    = "${var.name_prefix}/viewer-token-secret"
  description             = "signed-hls ${var.name_prefix}: HMAC key of the shared-secret viewer tokens (SecretString, at least 32 bytes)"
  kms_key_id              = var.auth_secret_kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = var.tags
}
