################################################################################
# Naming
################################################################################

variable "name_prefix" {
  description = "Prefix of every named resource (bucket, functions, roles, policies, secret, CloudFront policies), so that two stacks can live in one account. Lowercase letters, digits and hyphens, 2 to 24 characters."
  type        = string
  default     = "signed-hls"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2 to 24 characters: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
}

################################################################################
# Media bucket
################################################################################

variable "media_prefix" {
  description = "Key prefix of the HLS media in the bucket (playlists and segments). CloudFront and the rewriter may read only below it."
  type        = string
  default     = "movies/"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/$", var.media_prefix))
    error_message = "media_prefix must be a relative key prefix ending in '/' (for example \"movies/\"), with no wildcard, no leading '/' and no empty segment."
  }
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete the media and log buckets while they still hold objects."
  type        = bool
  default     = false
}

################################################################################
# Signing keys
################################################################################

variable "private_key_file" {
  description = "Path of a PEM private key (PKCS#1 RSA `BEGIN RSA PRIVATE KEY`, or PKCS#8 `BEGIN PRIVATE KEY` for RSA-2048 or ECDSA P-256) to sign URLs with. Set it together with public_key_file; leave both null to let Terraform generate a key (which then lives in the Terraform state)."
  type        = string
  default     = null
}

variable "public_key_file" {
  description = "Path of the PEM public key (`BEGIN PUBLIC KEY`) that matches private_key_file. Set both or neither."
  type        = string
  default     = null

  validation {
    condition     = (var.public_key_file == null) == (var.private_key_file == null)
    error_message = "Set private_key_file and public_key_file together, or leave both null to generate a key."
  }
}

variable "signing_key_source" {
  description = "Where the CloudFront private key lives: \"secrets_manager\" (a secret the functions read) or \"kms\" (AWS KMS keys that never leave KMS; needs aliases)."
  type        = string
  default     = "secrets_manager"

  validation {
    condition     = contains(["secrets_manager", "kms"], var.signing_key_source)
    error_message = "signing_key_source must be \"secrets_manager\" or \"kms\"."
  }
}

variable "kms_keys" {
  description = "With signing_key_source = \"kms\": names of the KMS signing keys, each trusted in the key group. Two during a rotation (README: key rotation), at most 5 with additional_public_keys."
  type        = list(string)
  default     = ["a"]

  validation {
    condition     = length(var.kms_keys) >= 1 && length(var.kms_keys) <= 5 && alltrue([for k in var.kms_keys : can(regex("^[a-z0-9-]{1,20}$", k))])
    error_message = "kms_keys: 1 to 5 names of 1 to 20 of a-z 0-9 -."
  }
}

variable "kms_signing_key" {
  description = "With signing_key_source = \"kms\": the name in kms_keys of the key the functions sign with."
  type        = string
  default     = "a"

  validation {
    condition     = contains(var.kms_keys, var.kms_signing_key)
    error_message = "kms_signing_key must be one of kms_keys."
  }
}

variable "kms_key_spec" {
  description = "With signing_key_source = \"kms\": \"ECC_NIST_P256\" (ECDSA_SHA_256, shorter URLs) or \"RSA_2048\" (RSASSA_PKCS1_V1_5_SHA_256). URLs carry Hash-Algorithm=SHA256 either way."
  type        = string
  default     = "ECC_NIST_P256"

  validation {
    condition     = contains(["ECC_NIST_P256", "RSA_2048"], var.kms_key_spec)
    error_message = "kms_key_spec must be \"ECC_NIST_P256\" or \"RSA_2048\"."
  }
}

variable "keep_kms_keys" {
  description = "With signing_key_source = \"secrets_manager\": keep the KMS keys of kms_keys (creating them if needed) and trust them in the key group and the rewriter, without signing with them. Only for a switch between Secrets Manager and KMS (README: switching between Secrets Manager and KMS): before switching to KMS, so that the key group trusts the KMS key before anything signs with it, and after switching back, so that URLs signed with KMS keep playing; set it back to false one URL lifetime later (KMS then schedules the keys' deletion). In KMS mode the keys are kept anyway."
  type        = bool
  default     = false
}

variable "key_algorithm" {
  description = "Algorithm of the key Terraform generates when no key files are given: \"RSA\" (2048 bits) or \"ECDSA\" (P-256, shorter signed URLs)."
  type        = string
  default     = "RSA"

  validation {
    condition     = contains(["RSA", "ECDSA"], var.key_algorithm)
    error_message = "key_algorithm must be \"RSA\" or \"ECDSA\"."
  }
}

variable "signing_key_name" {
  description = "Name under which the signing public key is trusted in the key group. Rename it during a rotation (README: key rotation) so that every key keeps its CloudFront id."
  type        = string
  default     = "primary"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,32}$", var.signing_key_name))
    error_message = "signing_key_name must be 1 to 32 letters, digits, '-' or '_'."
  }

  # In KMS mode signing_key_name names no key, so additional_public_keys may
  # hold the old Secrets Manager key under it after a switch (README).
  validation {
    condition = var.signing_key_source == "kms" || !contains(concat(
      keys(var.additional_public_keys),
      [for k in(var.keep_kms_keys ? var.kms_keys : []) : "kms-${k}"],
    ), var.signing_key_name)
    error_message = "With signing_key_source = \"secrets_manager\", signing_key_name must not also be a key of additional_public_keys, nor kms-<name> of a KMS key kept by keep_kms_keys."
  }
}

variable "additional_public_keys" {
  description = "Extra public keys (name => PEM `BEGIN PUBLIC KEY`) trusted by the key group and the rewriter besides the signing key: the next key before a rotation, the previous one after it, the old source's key after a switch between Secrets Manager and KMS (README). At most 4, and at most 5 keys in the key group with the signing and KMS keys."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.additional_public_keys) <= 4
    error_message = "A CloudFront key group holds at most 5 public keys: give at most 4 additional_public_keys."
  }

  validation {
    condition = alltrue([
      for name, pem in var.additional_public_keys :
      can(regex("^[A-Za-z0-9_-]{1,32}$", name)) && strcontains(pem, "-----BEGIN PUBLIC KEY-----")
    ])
    error_message = "additional_public_keys: names are 1 to 32 letters, digits, '-' or '_', and every value is a PEM public key (-----BEGIN PUBLIC KEY-----)."
  }

  # kms-<name> is the KMS key's own entry while that key exists (KMS mode, or
  # keep_kms_keys); after its deletion its public key may stay trusted here.
  validation {
    condition = !(var.signing_key_source == "kms" || var.keep_kms_keys) || alltrue([
      for k in var.kms_keys : !contains(keys(var.additional_public_keys), "kms-${k}")
    ])
    error_message = "additional_public_keys must not name kms-<name> for a name in kms_keys while that KMS key exists (signing_key_source = \"kms\" or keep_kms_keys): the key group trusts it already, under that name."
  }

  validation {
    condition = sum([
      length(var.additional_public_keys),
      var.signing_key_source == "kms" || var.keep_kms_keys ? length(var.kms_keys) : 0,
      var.signing_key_source == "kms" ? 0 : 1,
    ]) <= 5
    error_message = "A CloudFront key group holds at most 5 public keys: additional_public_keys, the KMS keys (in KMS mode, or with keep_kms_keys) and, in Secrets Manager mode, the signing key count together."
  }
}

variable "signing_key_version" {
  description = "Bump this whole number to write the signing-key secret again when nothing else changed: after the secret was edited outside Terraform, or after private_key_file was re-encoded (same key, e.g. PKCS#1 to PKCS#8). Otherwise the secret is written again by itself when its key id, public keys or URL change. The secret's write-only version (in the state) is derived from those public values and this number, never from the private key."
  type        = number
  default     = 0

  validation {
    condition     = var.signing_key_version >= 0 && floor(var.signing_key_version) == var.signing_key_version
    error_message = "signing_key_version must be a whole number of at least 0."
  }
}

variable "signing_key_kms_key_arn" {
  description = "ARN of a customer managed KMS key to encrypt the signing-key secret with; both functions are granted kms:Decrypt on it through Secrets Manager only (and whoever runs terraform apply needs kms:GenerateDataKey on it). Null: the AWS managed key aws/secretsmanager, which needs no grant."
  type        = string
  default     = null

  validation {
    condition     = var.signing_key_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.signing_key_kms_key_arn))
    error_message = "signing_key_kms_key_arn must be a KMS key ARN, arn:aws:kms:REGION:ACCOUNT:key/KEY-ID (not an alias: IAM grants kms:Decrypt on the key itself)."
  }
}

variable "secret_recovery_window_days" {
  description = "Days Secrets Manager keeps the deleted signing-key secret recoverable after `terraform destroy` (0 deletes it at once, so the same name_prefix can be reused right away)."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

################################################################################
# Function settings (passed as environment variables, never the key itself)
################################################################################

variable "key_prefix" {
  description = "KEY_PREFIX: suffix of the copies of the signed-URL parameters (Policy<prefix>, Signature<prefix>, ...) that reach the rewriter, since CloudFront strips the originals."
  type        = string
  default     = "-PREFIX"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,32}$", var.key_prefix))
    error_message = "key_prefix must be 1 to 32 letters, digits, '-' or '_'."
  }
}

variable "hash_algorithm" {
  description = "HASH_ALGORITHM: digest of the URL signatures, \"sha1\" (CloudFront's default) or \"sha256\" (adds Hash-Algorithm=SHA256 to every URL)."
  type        = string
  default     = "sha1"

  validation {
    condition     = contains(["sha1", "sha256"], var.hash_algorithm)
    error_message = "hash_algorithm must be \"sha1\" or \"sha256\"."
  }
}

variable "key_refresh_seconds" {
  description = "KEY_REFRESH_SECONDS: how long a warm function keeps the signing key it read from Secrets Manager before reading it again. A rotation keeps the old key trusted at least this long plus url_ttl_seconds."
  type        = number
  default     = 3600

  validation {
    condition     = var.key_refresh_seconds >= 60 && var.key_refresh_seconds <= 86400 && floor(var.key_refresh_seconds) == var.key_refresh_seconds
    error_message = "key_refresh_seconds must be a whole number between 60 and 86400."
  }
}

variable "url_ttl_seconds" {
  description = "URL_TTL_SECONDS: lifetime of the URL signurl hands out; it must outlive a viewing session, since CloudFront checks it on every segment request."
  type        = number
  default     = 21600

  validation {
    condition     = var.url_ttl_seconds >= 60 && var.url_ttl_seconds <= 604800 && floor(var.url_ttl_seconds) == var.url_ttl_seconds
    error_message = "url_ttl_seconds must be a whole number between 60 and 604800 (7 days)."
  }
}

variable "playlist_key_template" {
  description = "PLAYLIST_KEY_TEMPLATE: S3 key of a movie's entry playlist; signurl replaces {movie} with the validated movie id. Must lie below media_prefix."
  type        = string
  default     = "movies/movie_{movie}/index.m3u8"

  validation {
    condition     = strcontains(var.playlist_key_template, "{movie}") && endswith(var.playlist_key_template, ".m3u8") && startswith(var.playlist_key_template, var.media_prefix)
    error_message = "playlist_key_template must contain {movie}, end in .m3u8 (the playlist behaviour) and start with media_prefix."
  }
}

variable "check_playlist_exists" {
  description = "CHECK_PLAYLIST_EXISTS: when true, signurl checks that the playlist exists in S3 before it signs (404 otherwise); this grants it s3:GetObject and s3:ListBucket below media_prefix."
  type        = bool
  default     = false
}

variable "rewrite_mode" {
  description = "REWRITE_MODE of the rewriter: \"resign\" (one custom-policy signature per playlist), \"per-uri\" (a canned signature per URI) or \"reuse\" (pass the viewer's credential on)."
  type        = string
  default     = "resign"

  validation {
    condition     = contains(["resign", "per-uri", "reuse"], var.rewrite_mode)
    error_message = "rewrite_mode must be \"resign\", \"per-uri\" or \"reuse\"."
  }
}

variable "max_playlist_bytes" {
  description = "MAX_PLAYLIST_BYTES: largest playlist the rewriter reads from S3; a larger one gets a 502."
  type        = number
  default     = 16777216

  validation {
    condition     = var.max_playlist_bytes >= 1024 && var.max_playlist_bytes <= 104857600 && floor(var.max_playlist_bytes) == var.max_playlist_bytes
    error_message = "max_playlist_bytes must be a whole number between 1024 and 104857600."
  }
}

variable "bind_viewer_ip" {
  description = "BIND_VIEWER_IP: when true, signed URLs carry an IpAddress condition with the viewer's address, CloudFront forwards the CloudFront-Viewer-Address header to both functions, and the distribution serves IPv4 only (is_ipv6_enabled = false: with IPv6, a dual-stack viewer switching address families gets intermittent 403s)."
  type        = bool
  default     = false
}

variable "cors_allowed_origins" {
  description = "Origins (for example https://player.example.com) allowed to call the distribution from a browser: CORS_ALLOWED_ORIGINS of the functions and the CloudFront CORS response headers. Empty: no CORS headers (same-origin players only). \"*\" allows every origin."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for o in var.cors_allowed_origins : o == "*" || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]+)?$", o))])
    error_message = "cors_allowed_origins entries must be \"*\" or a scheme and host with an optional port, no path (https://player.example.com)."
  }
}

variable "log_level" {
  description = "Application log level of both functions (Lambda JSON logging filters below it)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL."
  }
}

################################################################################
# Lambda
################################################################################

variable "lambda_zip_dir" {
  description = "Folder holding signurl/bootstrap.zip and rewriter/bootstrap.zip from the build (`make build`). Null: <repository>/target/lambda."
  type        = string
  default     = null
}

variable "signurl_memory_size" {
  description = "Memory (MB) of the signurl function; Lambda scales CPU with it."
  type        = number
  default     = 256

  validation {
    condition     = var.signurl_memory_size >= 128 && var.signurl_memory_size <= 10240
    error_message = "signurl_memory_size must be between 128 and 10240 MB."
  }
}

variable "signurl_timeout" {
  description = "Timeout (seconds) of the signurl function. CloudFront waits for it this long plus 5 s (the origin's response timeout)."
  type        = number
  default     = 10

  validation {
    condition     = var.signurl_timeout >= 1 && var.signurl_timeout <= 30 && floor(var.signurl_timeout) == var.signurl_timeout
    error_message = "signurl_timeout must be a whole number of seconds from 1 to 30."
  }
}

variable "rewriter_memory_size" {
  description = "Memory (MB) of the rewriter function; large playlists and per-uri signing want more (CPU scales with memory)."
  type        = number
  default     = 1024

  validation {
    condition     = var.rewriter_memory_size >= 128 && var.rewriter_memory_size <= 10240
    error_message = "rewriter_memory_size must be between 128 and 10240 MB."
  }
}

variable "rewriter_timeout" {
  description = "Timeout (seconds) of the rewriter function. A low-latency HLS blocking playlist reload waits up to three target durations, never past this timeout (minus a margin): 25 s covers 6 s segments. CloudFront waits for the rewriter this long plus 5 s (the origin's response timeout), so at most 55: CloudFront's response timeout is at most 60 s without a quota increase."
  type        = number
  default     = 25

  # Not above 55: the origin's response timeout is this plus 5 s (cloudfront.tf),
  # and a response timeout shorter than the function's run would make
  # CloudFront send a blocking reload again while the first one still waits.
  validation {
    condition     = var.rewriter_timeout >= 1 && var.rewriter_timeout <= 55 && floor(var.rewriter_timeout) == var.rewriter_timeout
    error_message = "rewriter_timeout must be a whole number of seconds from 1 to 55: CloudFront waits for the rewriter this long plus 5 s, and an origin's response timeout is at most 60 s."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' CloudWatch log groups, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

################################################################################
# CloudFront
################################################################################

variable "aliases" {
  description = "Extra domain names (CNAMEs) of the distribution; the first one becomes the public base URL. Needs acm_certificate_arn."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.aliases : can(regex("^[a-z0-9*]([a-z0-9.-]*[a-z0-9])?$", a))])
    error_message = "aliases must be lowercase domain names."
  }
}

variable "acm_certificate_arn" {
  description = "ARN of an ACM certificate in us-east-1 covering every alias. Null: the default *.cloudfront.net certificate (then aliases must be empty)."
  type        = string
  default     = null

  validation {
    condition     = var.acm_certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/", var.acm_certificate_arn))
    error_message = "acm_certificate_arn must be an ACM certificate ARN in us-east-1 (CloudFront reads certificates only there)."
  }
}

variable "price_class" {
  description = "CloudFront price class: PriceClass_100 (North America, Europe), PriceClass_200 or PriceClass_All."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "web_acl_id" {
  description = "Optional ARN of an AWS WAF (v2, CLOUDFRONT scope) web ACL to attach to the distribution."
  type        = string
  default     = null
}

variable "segment_default_ttl" {
  description = "Seconds CloudFront caches a segment when S3 sends no Cache-Control. Segments never change, and every viewer shares the one cached copy."
  type        = number
  default     = 86400

  validation {
    condition     = var.segment_default_ttl >= 0 && var.segment_default_ttl <= var.segment_max_ttl
    error_message = "segment_default_ttl must be between 0 and segment_max_ttl."
  }
}

variable "segment_max_ttl" {
  description = "Longest time (seconds) CloudFront caches a segment, whatever S3's Cache-Control says. 0: segments are never cached (the managed CachingDisabled policy replaces the segment cache policy; segment_default_ttl must be 0 too)."
  type        = number
  default     = 31536000

  validation {
    condition     = var.segment_max_ttl >= 0 && var.segment_max_ttl <= 31536000
    error_message = "segment_max_ttl must be between 0 and 31536000."
  }
}

variable "playlist_max_ttl" {
  description = "Upper bound (seconds) on how long CloudFront caches one viewer's rewritten playlist (keyed by the viewer's credential and the _HLS_ directives). Below it the rewriter's Cache-Control max-age decides: a multivariant, VOD or ended playlist up to the credential's remaining life, a live or EVENT playlist at most half its target duration (half the part target with parts). The default TTL is 0: an answer without max-age is not cached. 0: playlists are never cached (the managed CachingDisabled policy replaces the playlist cache policy)."
  type        = number
  default     = 3600

  validation {
    condition     = var.playlist_max_ttl >= 0 && var.playlist_max_ttl <= 86400
    error_message = "playlist_max_ttl must be between 0 and 86400."
  }
}

################################################################################
# Access logs
################################################################################

variable "enable_access_logs" {
  description = "Deliver CloudFront access logs (standard logging v2) to a dedicated, private S3 bucket."
  type        = bool
  default     = false
}

variable "access_logs_retention_days" {
  description = "Days before CloudFront access log objects expire from the log bucket."
  type        = number
  default     = 90

  validation {
    condition     = var.access_logs_retention_days >= 1 && floor(var.access_logs_retention_days) == var.access_logs_retention_days
    error_message = "access_logs_retention_days must be a whole number of at least 1."
  }
}

variable "access_logs_format" {
  description = "Format of the CloudFront access log files: \"w3c\", \"json\", \"plain\" or \"parquet\"."
  type        = string
  default     = "json"

  validation {
    condition     = contains(["w3c", "json", "plain", "parquet"], var.access_logs_format)
    error_message = "access_logs_format must be w3c, json, plain or parquet."
  }
}

################################################################################
# Who may watch: authorisation of signurl requests (see terraform/auth.tf)
################################################################################

variable "auth_mode" {
  description = "AUTH_MODE of signurl: \"none\" (anyone may obtain a signed URL; demos only), \"jwt\" (a bearer token from an OpenID Connect issuer, verified against its JWKS) or \"shared-secret\" (an HMAC token minted by your own backend)."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["none", "jwt", "shared-secret"], var.auth_mode)
    error_message = "auth_mode must be none, jwt or shared-secret."
  }

  validation {
    condition     = var.auth_mode != "jwt" || (var.jwt_issuer != null && var.jwt_audience != null)
    error_message = "auth_mode = \"jwt\" needs jwt_issuer and jwt_audience."
  }
}

variable "jwt_issuer" {
  description = "JWT_ISSUER: the issuer URL that a token's iss must equal exactly (for example https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC or https://example.auth0.com/). Required with auth_mode = \"jwt\"."
  type        = string
  default     = null

  validation {
    condition     = var.jwt_issuer == null || can(regex("^https://[^/]", var.jwt_issuer))
    error_message = "jwt_issuer must be an https:// URL."
  }
}

variable "jwt_audience" {
  description = "JWT_AUDIENCE: the value a token's aud (a string or a list) must contain, such as the app client id or API identifier. Required with auth_mode = \"jwt\"."
  type        = string
  default     = null
}

variable "jwt_jwks_url" {
  description = "JWT_JWKS_URL: where the issuer's JSON Web Key Set is fetched. Null: the jwks_uri of <jwt_issuer>/.well-known/openid-configuration (OpenID Connect discovery)."
  type        = string
  default     = null

  validation {
    condition     = var.jwt_jwks_url == null || can(regex("^https://[^/]", var.jwt_jwks_url))
    error_message = "jwt_jwks_url must be an https:// URL."
  }
}

variable "jwt_algorithms" {
  description = "JWT_ALGORITHMS: the token signature algorithms accepted, a subset of RS256 and ES256. Others (none, HS256, ...) are always refused."
  type        = list(string)
  default     = ["RS256", "ES256"]

  validation {
    condition     = length(var.jwt_algorithms) > 0 && alltrue([for a in var.jwt_algorithms : contains(["RS256", "ES256"], a)])
    error_message = "jwt_algorithms must list RS256, ES256 or both."
  }
}

variable "auth_movies_claim" {
  description = "AUTH_MOVIES_CLAIM: the token claim that lists the movies a viewer may watch (a list of ids, or one string of ids separated by spaces or commas; \"*\" for every movie). A token without it is valid but entitled to nothing (403)."
  type        = string
  default     = "movies"
}

variable "auth_leeway_seconds" {
  description = "AUTH_LEEWAY_SECONDS: clock tolerance for a token's exp, nbf and iat, in seconds (0 to 300)."
  type        = number
  default     = 60

  validation {
    condition     = var.auth_leeway_seconds >= 0 && var.auth_leeway_seconds <= 300 && floor(var.auth_leeway_seconds) == var.auth_leeway_seconds
    error_message = "auth_leeway_seconds must be a whole number from 0 to 300."
  }
}

variable "auth_token_cookie" {
  description = "AUTH_TOKEN_COOKIE: a cookie that may carry the viewer token (besides the X-Viewer-Token header); CloudFront then forwards this cookie to signurl only. Null: no cookie."
  type        = string
  default     = null

  validation {
    condition     = var.auth_token_cookie == null || can(regex("^[A-Za-z0-9_-]+$", var.auth_token_cookie))
    error_message = "auth_token_cookie may hold only A-Z a-z 0-9 _ -."
  }
}

variable "auth_token_query_param" {
  description = "AUTH_TOKEN_QUERY_PARAM: a query parameter that may carry the viewer token, for players that cannot set headers; CloudFront then forwards it to signurl only. Query strings reach access logs: prefer the header. Null: none."
  type        = string
  default     = null

  validation {
    condition     = var.auth_token_query_param == null || (can(regex("^[A-Za-z0-9_-]+$", var.auth_token_query_param)) && !contains(["movie", "format", "redirect"], coalesce(var.auth_token_query_param, "x")))
    error_message = "auth_token_query_param may hold only A-Z a-z 0-9 _ - and must not be movie, format or redirect."
  }
}

variable "auth_bind_token_expiry" {
  description = "AUTH_BIND_TOKEN_EXPIRY: when true (and auth_mode is not none), a signed URL expires no later than the token it was issued for, so the player must fetch a new URL with a fresh token before then."
  type        = bool
  default     = true
}

variable "auth_max_token_lifetime_seconds" {
  description = "AUTH_MAX_TOKEN_LIFETIME_SECONDS: with auth_mode = \"shared-secret\", the longest a token may live (its exp at most this far ahead), in seconds (1 to 86400)."
  type        = number
  default     = 900

  validation {
    condition     = var.auth_max_token_lifetime_seconds >= 1 && var.auth_max_token_lifetime_seconds <= 86400
    error_message = "auth_max_token_lifetime_seconds must be from 1 to 86400."
  }
}

variable "auth_secret_arn" {
  description = "With auth_mode = \"shared-secret\": the full ARN (with the 6 random characters Secrets Manager appends to the name: ...:secret:NAME-AbCdEf) of an existing secret in the stack's region whose SecretString is the HMAC key (at least 32 bytes). Null: this module creates an empty secret (output auth_secret_arn) that you fill with aws secretsmanager put-secret-value; the value never enters the Terraform state."
  type        = string
  default     = null

  # IAM matches a secret by its full ARN: a grant on a partial ARN (without
  # the suffix) matches nothing, and signurl would answer 503 on every call.
  validation {
    condition     = var.auth_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$", var.auth_secret_arn))
    error_message = "auth_secret_arn must be the secret's full ARN, arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX, ending in the hyphen and 6 random characters Secrets Manager appends to the name (aws secretsmanager describe-secret --secret-id NAME --query ARN): IAM matches the full ARN only, so a partial ARN would grant nothing and signurl would answer 503."
  }
}

variable "auth_secret_kms_key_arn" {
  description = "With auth_mode = \"shared-secret\": ARN of the customer managed KMS key that encrypts the viewer-token secret (the one given in auth_secret_arn, or the one this module creates, which it then encrypts with this key). signurl is granted kms:Decrypt on it through Secrets Manager only. Null: the secret uses the AWS managed key aws/secretsmanager, which needs no grant."
  type        = string
  default     = null

  validation {
    condition     = var.auth_secret_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.auth_secret_kms_key_arn))
    error_message = "auth_secret_kms_key_arn must be a KMS key ARN, arn:aws:kms:REGION:ACCOUNT:key/KEY-ID (not an alias: IAM grants kms:Decrypt on the key itself)."
  }

  validation {
    condition     = var.auth_secret_kms_key_arn == null || var.auth_mode == "shared-secret"
    error_message = "auth_secret_kms_key_arn applies to auth_mode = \"shared-secret\" only."
  }
}
