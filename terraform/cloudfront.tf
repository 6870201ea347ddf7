################################################################################
# Origin Access Control: CloudFront signs every origin request (SigV4), so the
# bucket and the function URLs answer nobody else.
################################################################################

resource "aws_cloudfront_origin_access_control" "s3" {
  name                              = "${var.name_prefix}-s3"
  description                       = "signed-hls ${var.name_prefix}: media bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_origin_access_control" "lambda" {
  name                              = "${var.name_prefix}-lambda"
  description                       = "signed-hls ${var.name_prefix}: function URLs"
  origin_access_control_origin_type = "lambda"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

################################################################################
# Cache policies
#
# A max TTL of 0 means "never cache". CloudFront refuses a cache policy whose
# TTLs are all 0 and that still puts something in the cache key or enables
# gzip/brotli (both policies below do), so for a max TTL of 0 the behaviour
# takes the managed CachingDisabled policy instead and ours is not created.
# The rewriter still receives its query (prefixed credential, _HLS_*
# directives): its origin request policy forwards it then (see below).
################################################################################

locals {
  segments_cache_policy_id  = var.segment_max_ttl > 0 ? aws_cloudfront_cache_policy.segments[0].id : data.aws_cloudfront_cache_policy.caching_disabled.id
  playlists_cache_policy_id = var.playlist_max_ttl > 0 ? aws_cloudfront_cache_policy.playlists[0].id : data.aws_cloudfront_cache_policy.caching_disabled.id
}

# The policies had no count before: keep existing ones in place.
moved {
  from = aws_cloudfront_cache_policy.segments
  to   = aws_cloudfront_cache_policy.segments[0]
}

moved {
  from = aws_cloudfront_cache_policy.playlists
  to   = aws_cloudfront_cache_policy.playlists[0]
}

# Segments, keys, init sections: the cache key ignores the query string (the
# signature differs per viewer, the bytes do not), so all viewers share one copy.
resource "aws_cloudfront_cache_policy" "segments" {
  count = var.segment_max_ttl > 0 ? 1 : 0

  name        = "${var.name_prefix}-segments"
  comment     = "signed-hls ${var.name_prefix}: segments, one cached copy for every viewer"
  min_ttl     = 0
  default_ttl = var.segment_default_ttl
  max_ttl     = var.segment_max_ttl

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = true
    enable_accept_encoding_brotli = true

    cookies_config {
      cookie_behavior = "none"
    }

    headers_config {
      header_behavior = "none"
    }

    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# Playlists: the key holds the viewer's prefixed credential, so one viewer's
# rewritten playlist is never served to another (CloudFront checks the
# signature before it looks in the cache), and the LL-HLS directives, so a
# blocking reload for segment N is never answered with the playlist cached
# for N-1. Whatever is in the key is also forwarded to the rewriter.
#
# How long: the rewriter's `Cache-Control: max-age` decides (a multivariant,
# VOD or ended playlist: the credential's remaining life; a live or EVENT one:
# at most half its target duration, half the part target with parts), capped
# by playlist_max_ttl. Min TTL 0, or CloudFront would keep even what the
# rewriter marks no-store; default TTL 0, so an answer without max-age is not
# cached at all.
resource "aws_cloudfront_cache_policy" "playlists" {
  count = var.playlist_max_ttl > 0 ? 1 : 0

  name        = "${var.name_prefix}-playlists"
  comment     = "signed-hls ${var.name_prefix}: playlists, keyed by the viewer's credential"
  min_ttl     = 0
  default_ttl = 0
  max_ttl     = var.playlist_max_ttl

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = true
    enable_accept_encoding_brotli = true

    cookies_config {
      cookie_behavior = "none"
    }

    headers_config {
      header_behavior = "none"
    }

    query_strings_config {
      query_string_behavior = "whitelist"

      query_strings {
        items = local.playlist_query_strings
      }
    }
  }
}

data "aws_cloudfront_cache_policy" "caching_disabled" {
  name = "Managed-CachingDisabled"
}

################################################################################
# Origin request policies: what reaches the functions besides the cache key.
# The Host header is never forwarded (a function URL answers only to its own).
################################################################################

locals {
  # What the cache key holds is forwarded to the origin already, so the
  # rewriter's origin request policy lists its query strings only when the
  # playlist behaviour has no cache key of ours (playlist_max_ttl = 0: the
  # managed CachingDisabled policy forwards no query string).
  rewriter_origin_query_strings = var.playlist_max_ttl > 0 ? [] : local.playlist_query_strings
}

resource "aws_cloudfront_origin_request_policy" "rewriter" {
  name    = "${var.name_prefix}-rewriter"
  comment = "signed-hls ${var.name_prefix}: the rewriter's query unless in the cache key, and the viewer address"

  cookies_config {
    cookie_behavior = "none"
  }

  headers_config {
    header_behavior = var.bind_viewer_ip ? "whitelist" : "none"

    dynamic "headers" {
      for_each = var.bind_viewer_ip ? [1] : []

      content {
        items = ["CloudFront-Viewer-Address"]
      }
    }
  }

  query_strings_config {
    query_string_behavior = length(local.rewriter_origin_query_strings) > 0 ? "whitelist" : "none"

    dynamic "query_strings" {
      for_each = length(local.rewriter_origin_query_strings) > 0 ? [1] : []

      content {
        items = local.rewriter_origin_query_strings
      }
    }
  }
}

# The viewer token (X-Viewer-Token, and the cookie or query parameter when
# configured) reaches signurl only: this is the one policy that forwards it
# (see auth.tf for why it is not Authorization).
resource "aws_cloudfront_origin_request_policy" "signurl" {
  name    = "${var.name_prefix}-signurl"
  comment = "signed-hls ${var.name_prefix}: movie, format, redirect (viewer token, viewer address) to signurl"

  cookies_config {
    cookie_behavior = length(local.signurl_forwarded_cookies) > 0 ? "whitelist" : "none"

    dynamic "cookies" {
      for_each = length(local.signurl_forwarded_cookies) > 0 ? [1] : []

      content {
        items = local.signurl_forwarded_cookies
      }
    }
  }

  headers_config {
    header_behavior = length(local.signurl_forwarded_headers) > 0 ? "whitelist" : "none"

    dynamic "headers" {
      for_each = length(local.signurl_forwarded_headers) > 0 ? [1] : []

      content {
        items = local.signurl_forwarded_headers
      }
    }
  }

  query_strings_config {
    query_string_behavior = "whitelist"

    query_strings {
      items = local.signurl_query_strings
    }
  }
}

################################################################################
# Response headers: HSTS and nosniff always; CORS for the configured origins.
################################################################################

resource "aws_cloudfront_response_headers_policy" "this" {
  name    = "${var.name_prefix}-headers"
  comment = "signed-hls ${var.name_prefix}: security headers and CORS"

  dynamic "cors_config" {
    for_each = length(var.cors_allowed_origins) > 0 ? [1] : []

    content {
      access_control_allow_credentials = false
      access_control_max_age_sec       = 3600
      origin_override                  = true

      access_control_allow_headers {
        items = ["*"]
      }

      access_control_allow_methods {
        items = ["GET", "HEAD", "OPTIONS"]
      }

      access_control_allow_origins {
        items = var.cors_allowed_origins
      }
    }
  }

  security_headers_config {
    content_type_options {
      override = true
    }

    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }

    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
  }
}

################################################################################
# The distribution
################################################################################

locals {
  s3_origin_id       = "media"
  function_origin_id = { for name in keys(local.functions) : name => "lambda-${name}" }

  # How long CloudFront waits for a function: its whole Lambda timeout plus a
  # margin for the function URL, Origin Access Control and a cold start's
  # init phase (not counted in the timeout). Never less than the timeout: for
  # a GET that outlasts the response timeout CloudFront drops the connection
  # and sends the request again (up to its 3 connection attempts), so a
  # blocking playlist reload still waiting (up to three target durations)
  # would start a second and a third invocation and end in a 504. The
  # variables keep timeout + margin within CloudFront's default 1-60 s.
  origin_response_margin_seconds = 5
  origin_read_timeout            = { for name, f in local.functions : name => f.timeout + local.origin_response_margin_seconds }

  # The rewriter's error answers must not outlive their cause: its 503s
  # (playlist_incomplete, a blocking reload that timed out, signing_in_progress
  # with Retry-After: 1, storage_unavailable) and 502s are retryable. Its
  # `Cache-Control: no-store` keeps 400, 403 and 404 out of the cache, but
  # CloudFront ignores no-store on these codes and keeps them for the error
  # caching minimum TTL, 10 s unless set here. This holds for the whole
  # distribution: a 5xx from S3 for a segment is not kept either (it is rare,
  # and a kept one would stall every viewer of that segment for 10 s).
  uncached_error_codes = [500, 502, 503, 504]
}

resource "aws_cloudfront_distribution" "this" {
  #checkov:skip=CKV_AWS_68:WAF is optional (web_acl_id): every protected path already requires a valid CloudFront signature, and a web ACL has a monthly cost.
  #checkov:skip=CKV2_AWS_47:WAF is optional (web_acl_id); no Java on any origin (Log4j rule set).
  #checkov:skip=CKV_AWS_86:Access logs use CloudFront standard logging v2 (logging.tf, enable_access_logs), which this check does not see; legacy logging needs bucket ACLs.
  #checkov:skip=CKV_AWS_310:Origin failover would need a second region's copy of media and functions; out of scope.
  #checkov:skip=CKV_AWS_305:No root object: the distribution serves playlists, segments and the signer, never an index page.
  #checkov:skip=CKV_AWS_374:Geo restriction is a business decision left to the operator; access is gated by signed URLs.
  #checkov:skip=CKV2_AWS_42:A custom certificate is optional (aliases + acm_certificate_arn); the default *.cloudfront.net certificate is TLS-only.

  # is_ipv6_enabled: IPv6 only without IP binding. AWS: do not enable IPv6
  # when signed URLs restrict the viewer's IP address (custom policy
  # IpAddress): a dual-stack viewer may obtain the URL over IPv4 and fetch a
  # segment over IPv6 (or the reverse), and is refused from the other address.
  comment             = "signed-hls ${var.name_prefix}"
  enabled             = true
  is_ipv6_enabled     = !var.bind_viewer_ip
  http_version        = "http2and3"
  price_class         = var.price_class
  aliases             = var.aliases
  web_acl_id          = var.web_acl_id
  wait_for_deployment = true

  origin {
    origin_id                = local.s3_origin_id
    domain_name              = aws_s3_bucket.media.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.s3.id
  }

  dynamic "origin" {
    for_each = local.function_origin_id

    content {
      origin_id                = origin.value
      domain_name              = trimsuffix(trimprefix(aws_lambda_function_url.this[origin.key].function_url, "https://"), "/")
      origin_access_control_id = aws_cloudfront_origin_access_control.lambda.id

      custom_origin_config {
        http_port              = 80
        https_port             = 443
        origin_protocol_policy = "https-only"
        origin_ssl_protocols   = ["TLSv1.2"]
        origin_read_timeout    = local.origin_read_timeout[origin.key]
        # CloudFront's default: the time an idle connection stays open. Players
        # reload about every target duration, so busy streams keep connections
        # in use; the function URL's own idle limit is not documented, and a
        # longer keep-alive would risk reusing a connection it has closed.
        origin_keepalive_timeout = 5
      }
    }
  }

  dynamic "custom_error_response" {
    for_each = toset(local.uncached_error_codes)

    content {
      error_code            = custom_error_response.value
      error_caching_min_ttl = 0
    }
  }

  # Segments and everything else in the bucket: signed, cached once for all.
  default_cache_behavior {
    target_origin_id           = local.s3_origin_id
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = local.segments_cache_policy_id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id
    trusted_key_groups         = [aws_cloudfront_key_group.this.id]
  }

  # The signer: viewers call it to obtain a signed URL, so no key group here;
  # never cached.
  ordered_cache_behavior {
    path_pattern               = "/content/media/signurl"
    target_origin_id           = local.function_origin_id["signurl"]
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.caching_disabled.id
    origin_request_policy_id   = aws_cloudfront_origin_request_policy.signurl.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id
  }

  # Playlists: signed like segments, then rewritten per viewer.
  ordered_cache_behavior {
    path_pattern               = "*.m3u8"
    target_origin_id           = local.function_origin_id["rewriter"]
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = local.playlists_cache_policy_id
    origin_request_policy_id   = aws_cloudfront_origin_request_policy.rewriter.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id
    trusted_key_groups         = [aws_cloudfront_key_group.this.id]
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
      locations        = []
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.acm_certificate_arn == null
    acm_certificate_arn            = var.acm_certificate_arn
    ssl_support_method             = var.acm_certificate_arn == null ? null : "sni-only"
    minimum_protocol_version       = var.acm_certificate_arn == null ? "TLSv1" : "TLSv1.2_2021"
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(var.aliases) == 0 || var.acm_certificate_arn != null
      error_message = "aliases need acm_certificate_arn (a certificate in us-east-1 covering them)."
    }

    precondition {
      condition     = alltrue([for name, t in local.origin_read_timeout : t > local.functions[name].timeout && t <= 60])
      error_message = "Each function's timeout plus ${local.origin_response_margin_seconds} s must be at most 60 s, CloudFront's default limit for an origin's response timeout."
    }
  }
}
