//! `rewriter`: serves `GET /movies/.../*.m3u8` with every URI of the playlist
//! signed for CloudFront.
//!
//! In order, per request:
//! 1. the path (`pathParameters.proxy`, else `rawPath`) is validated: a key
//!    under `MEDIA_PREFIX` ending in `.m3u8`, made of `A-Z a-z 0-9 - _ . /`,
//!    with no empty, `.` or `..` segment and at most 1,024 bytes (else 400);
//! 2. the `KEY_PREFIX` copy of the viewer's credential is verified against
//!    `CF_URL` + path with the signing core (key id, signature, window, IP,
//!    resource) BEFORE anything is read (else 403 with the failed check);
//! 3. the object is read from S3 (bounded by `MAX_PLAYLIST_BYTES`);
//! 4. the playlist core rewrites it with the configured strategy, never
//!    granting more than the incoming credential;
//! 5. the answer is `application/vnd.apple.mpegurl`, `Cache-Control: private`
//!    no longer than the credential's remaining validity, gzip-compressed when
//!    the client accepts it and the body is over [`GZIP_MIN_BYTES`], and
//!    always within Lambda's 6 MB response limit (else 502, never truncated).
//!
//! The viewer's address is read from `CloudFront-Viewer-Address` when
//! present, else from the event's source IP. The header is trusted: IP
//! binding is as strong as the origin's isolation (Origin Access Control).
//!
//! The preflight, the method gate, CORS, the error answer and the log line
//! are the shared shell's ([`signed_hls_aws::shell`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io::Write as _;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use cloudfront_sign::{Denied, Verifier};
use http::{HeaderName, HeaderValue, header};
use lambda_runtime::LambdaEvent;
use playlist_rewrite::{Incoming, SignatureCache};
use signed_hls_aws::config::{MediaPrefix, has_bad_segment, is_key_text};
use signed_hls_aws::http::{accepts_gzip, viewer_ip};
use signed_hls_aws::shell::{self, Answer, CommonError, Endpoint, ErrorAnswer, RequestLog, Started};
use signed_hls_aws::{ConfigError, KeyCache, LoadedKey, ObjectStore, RewriterConfig, SignError, StoreError};
use thiserror::Error;

/// Lambda's limit for a synchronous response payload (the whole JSON).
pub const LAMBDA_RESPONSE_LIMIT: usize = 6 * 1024 * 1024;
/// Room kept for the status, headers and JSON framing of the response.
pub const RESPONSE_OVERHEAD: usize = 16 * 1024;
/// Bodies at least this large go out gzip-compressed when the client accepts it.
pub const GZIP_MIN_BYTES: usize = 4096;
/// The longest path accepted.
pub const MAX_PATH_BYTES: usize = 1024;

/// Browsers send no custom request header to the rewriter.
const ENDPOINT: Endpoint = Endpoint { allow_headers: "" };

/// Validates a request path and returns the S3 key (no leading `/`).
pub fn object_key<'a>(path: &'a str, media_prefix: &MediaPrefix) -> Result<&'a str, RewriterError> {
    let key = path.strip_prefix('/').unwrap_or(path);
    if key.is_empty()
        || path.len() > MAX_PATH_BYTES
        || key.starts_with('/')
        || !is_key_text(key)
        || has_bad_segment(key)
    {
        return Err(RewriterError::InvalidPath);
    }
    if !key.starts_with(media_prefix.as_str()) || !key.ends_with(".m3u8") || key.ends_with("/.m3u8") || key == ".m3u8" {
        return Err(RewriterError::NotServed);
    }
    Ok(key)
}

/// Per-key state: the verifier and the signature cache, rebuilt on rotation.
struct PerKey {
    generation: u64,
    verifier: Verifier,
    cache: SignatureCache,
}

/// What the handler needs, built once per cold start.
pub struct Deps {
    /// The settings.
    pub config: RewriterConfig,
    /// The playlist core's configuration (hosts, suffix, limit, strategy).
    pub playlist: playlist_rewrite::Config,
    /// The public base URL (from `CF_URL` or the secret's `cf_url`).
    pub base_url: signed_hls_aws::BaseUrl,
    /// The signing key.
    pub key: KeyCache,
    /// Where playlists are read.
    pub store: Arc<dyn ObjectStore>,
    /// Seconds since the epoch (a parameter so tests can fix it).
    pub clock: Box<dyn Fn() -> u64 + Send + Sync>,
    per_key: Mutex<Option<Arc<PerKey>>>,
}

impl Deps {
    /// Assembles the handler's dependencies from the cold start's results.
    pub fn new(
        config: RewriterConfig,
        started: Started,
        clock: Box<dyn Fn() -> u64 + Send + Sync>,
    ) -> Result<Self, ConfigError> {
        let store = started
            .store
            .ok_or_else(|| ConfigError::new(&signed_hls_aws::config::S3_BUCKET, "is required but not set"))?;
        Ok(Deps {
            playlist: config.playlist_config(&started.base_url)?,
            config,
            base_url: started.base_url,
            key: started.key,
            store,
            clock,
            per_key: Mutex::new(None),
        })
    }

    /// (hits, misses) of the current key's signature cache, if built yet.
    pub fn signature_cache_stats(&self) -> Option<(u64, u64)> {
        let slot = self.per_key.lock().unwrap_or_else(|e| e.into_inner());
        slot.as_ref().map(|pk| (pk.cache.hits(), pk.cache.misses()))
    }

    /// The verifier and signature cache of the current key generation.
    ///
    /// The verifier trusts exactly the current signing key, the secret's
    /// `public_keys` and `TRUSTED_PUBLIC_KEYS`: nothing is kept from an earlier
    /// generation, so a key the secret drops (an emergency rotation) stops
    /// verifying at the next refresh, within `KEY_REFRESH_SECONDS`. Viewers
    /// mid-session keep playing through a planned rotation because the secret
    /// still lists the previous key among its `public_keys` (Terraform keeps
    /// every key of the key group there).
    fn per_key(&self, key: &LoadedKey) -> Arc<PerKey> {
        let mut slot = self.per_key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pk) = slot.as_ref()
            && pk.generation == key.generation
        {
            return pk.clone();
        }
        let mut verifier = Verifier::new();
        for (id, vk) in self.config.trusted_public_keys.iter().chain(&key.public_keys) {
            verifier.trust(id.as_str(), vk.clone());
        }
        let signatory = key.signer.signatory();
        verifier.trust(signatory.key_pair_id().as_str(), signatory.verifying_key().clone());
        let pk = Arc::new(PerKey {
            generation: key.generation,
            verifier,
            cache: SignatureCache::default(),
        });
        *slot = Some(pk.clone());
        pk
    }
}

/// Why a request fails; each maps to a status and a stable `error_type`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RewriterError {
    /// What both functions share (405, 404, 503).
    #[error(transparent)]
    Common(#[from] CommonError),
    /// The path has characters or segments outside the documented set.
    #[error("invalid path: expected A-Z a-z 0-9 - _ . / with no empty, '.' or '..' segment")]
    InvalidPath,
    /// A valid path that is not a playlist under the media prefix.
    #[error("invalid path: only .m3u8 playlists under the media prefix are served")]
    NotServed,
    /// The credential was refused by the named check.
    #[error("credential refused: {0}")]
    Denied(Denied),
    /// The object is larger than `MAX_PLAYLIST_BYTES` (refused unread).
    #[error("playlist is larger than {0} bytes")]
    TooLarge(u64),
    /// The playlist core refused the object or could not sign.
    #[error(transparent)]
    Rewrite(playlist_rewrite::Error),
    /// The rewritten playlist does not fit Lambda's response limit.
    #[error(
        "response too large: the rewritten playlist is {bytes} bytes ({sent} as sent), over Lambda's 6 MB limit{}",
        if *gzip_offered { "" } else { "; send Accept-Encoding: gzip to receive it compressed" }
    )]
    ResponseTooLarge {
        /// The rewritten playlist's size.
        bytes: usize,
        /// What the payload would carry (JSON-escaped text, or gzip in base64).
        sent: usize,
        /// Whether the client accepted gzip.
        gzip_offered: bool,
    },
    /// Compressing the answer failed.
    #[error("cannot compress the answer: {0}")]
    Gzip(#[source] std::io::Error),
}

impl ErrorAnswer for RewriterError {
    fn status(&self) -> u16 {
        match self {
            RewriterError::Common(e) => e.status(),
            RewriterError::InvalidPath | RewriterError::NotServed => 400,
            RewriterError::Denied(_) => 403,
            RewriterError::TooLarge(_) | RewriterError::ResponseTooLarge { .. } => 502,
            RewriterError::Rewrite(e) => rewrite_error_kind(e).0,
            RewriterError::Gzip(_) => 500,
        }
    }

    fn error_type(&self) -> &'static str {
        match self {
            RewriterError::Common(e) => e.error_type(),
            RewriterError::InvalidPath => "invalid_path",
            RewriterError::NotServed => "not_a_playlist_path",
            RewriterError::Denied(d) => d.code(),
            RewriterError::TooLarge(_) => "playlist_too_large",
            RewriterError::Rewrite(e) => rewrite_error_kind(e).1,
            RewriterError::ResponseTooLarge { .. } => "response_too_large",
            RewriterError::Gzip(_) => "encode_failed",
        }
    }

    fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        match self {
            RewriterError::Common(e) => e.headers(),
            // The signatures made so far are cached: the retry goes on from them.
            RewriterError::Rewrite(playlist_rewrite::Error::SigningBudget { .. }) => {
                vec![(header::RETRY_AFTER, HeaderValue::from_static("1"))]
            }
            _ => Vec::new(),
        }
    }
}

/// The status and `error_type` of a playlist-core error.
fn rewrite_error_kind(e: &playlist_rewrite::Error) -> (u16, &'static str) {
    use playlist_rewrite::Error;
    match e {
        Error::TooLarge { .. } => (502, "playlist_too_large"),
        Error::Binary { .. } | Error::NotUtf8 { .. } | Error::NoHeader { .. } => (502, "not_a_playlist"),
        Error::ReuseNotCovering { .. } => (502, "reuse_not_covering"),
        Error::OutputTooLarge { .. } => (502, "response_too_large"),
        Error::SigningBudget { .. } => (503, "signing_in_progress"),
        _ => (500, "signing_failed"),
    }
}

/// The Lambda handler: never fails, every outcome is an HTTP response.
pub async fn handler(
    event: LambdaEvent<ApiGatewayV2httpRequest>,
    deps: &Deps,
) -> Result<ApiGatewayV2httpResponse, lambda_runtime::Error> {
    let request = &event.payload;
    Ok(shell::serve(&event, ENDPOINT, &deps.config.common.cors, async |log| {
        respond(request, deps, log).await
    })
    .await)
}

async fn respond(
    request: &ApiGatewayV2httpRequest,
    deps: &Deps,
    log: &mut RequestLog,
) -> Result<Answer, RewriterError> {
    log.strategy = deps.config.strategy.as_str();
    let path = shell::request_path(request);
    let key = object_key(&path, &deps.config.media_prefix)?;
    let playlist_url = format!("{}/{key}", deps.base_url.url);
    let now = (deps.clock)();
    let loaded = deps.key.current().await.map_err(|e| {
        tracing::warn!(error = %e, "signing key unavailable");
        CommonError::KeyUnavailable
    })?;
    let per_key = deps.per_key(&loaded);
    // Invariant 2: the credential is checked before anything is read.
    let incoming = verify_viewer(request, &playlist_url, &per_key.verifier, deps, now)?
        .with_expiry_granularity(deps.config.common.expiry_granularity, now);
    let body = read_playlist(deps, key).await?;
    log.bytes_in = body.len();
    // Plan (nothing signed yet), have the missing policies signed by the
    // local key or KMS, then emit.
    let signer = &loaded.signer;
    let pending = playlist_rewrite::plan_rewrite(
        &body,
        &playlist_url,
        &incoming,
        &deps.playlist,
        signer.signatory(),
        &per_key.cache,
    )
    .map_err(RewriterError::Rewrite)?;
    let policies: Vec<&[u8]> = pending.to_sign().collect();
    let signatures = match policies.is_empty() {
        true => Vec::new(),
        false => signer.sign(&policies).await.map_err(sign_error)?,
    };
    let out = pending
        .finish(signatures, &per_key.cache)
        .map_err(RewriterError::Rewrite)?;
    let summary = &out.summary;
    log.uris_signed = summary.uris_signed;
    log.uris_untouched = summary.untouched.len();
    log.signatures_computed = summary.signatures_computed;
    log.signatures_reused = summary.signatures_reused;

    let gzip_ok = request
        .headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    let (body, gzip) = encode_body(out.body, gzip_ok)?;
    log.gzip = gzip;
    let max_age = incoming.policy.date_less_than.saturating_sub(now).saturating_sub(1);
    let mut answer = Answer::new(200, "application/vnd.apple.mpegurl", body);
    if let Ok(v) = HeaderValue::from_str(&format!("private, max-age={max_age}")) {
        answer = answer.header(header::CACHE_CONTROL, v);
    }
    if gzip {
        answer = answer.header(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        answer.response.is_base64_encoded = true;
    }
    answer.varies_by_encoding = true;
    Ok(answer)
}

/// A signer's failure: KMS throttled or unreachable is the key being unavailable (503).
fn sign_error(e: SignError) -> RewriterError {
    match e {
        SignError::Unavailable(_) => {
            tracing::warn!(error = %e, "signing key unavailable");
            CommonError::KeyUnavailable.into()
        }
        other => RewriterError::Rewrite(playlist_rewrite::Error::Sign(cloudfront_sign::Error::Sign(
            other.to_string(),
        ))),
    }
}

/// Verifies the viewer's prefixed credential for `playlist_url`.
fn verify_viewer(
    request: &ApiGatewayV2httpRequest,
    playlist_url: &str,
    verifier: &Verifier,
    deps: &Deps,
    now: u64,
) -> Result<Incoming, RewriterError> {
    let query = request.raw_query_string.as_deref().unwrap_or("");
    let url = if query.is_empty() {
        playlist_url.to_owned()
    } else {
        format!("{playlist_url}?{query}")
    };
    Incoming::verify(verifier, &url, &deps.config.common.key_suffix, now, client_ip(request))
        .map_err(RewriterError::Denied)
}

async fn read_playlist(deps: &Deps, key: &str) -> Result<Vec<u8>, RewriterError> {
    deps.store
        .get(key, deps.config.max_playlist_bytes)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => CommonError::NotFound.into(),
            StoreError::TooLarge { limit, .. } => RewriterError::TooLarge(limit),
            other => {
                tracing::warn!(error = %other, "reading the playlist failed");
                CommonError::StorageUnavailable.into()
            }
        })
}

fn client_ip(request: &ApiGatewayV2httpRequest) -> Option<IpAddr> {
    match request
        .headers
        .get("cloudfront-viewer-address")
        .and_then(|v| v.to_str().ok())
    {
        Some(value) => viewer_ip(value),
        None => request
            .request_context
            .http
            .source_ip
            .as_deref()
            .and_then(|ip| ip.parse().ok()),
    }
}

/// The number of bytes `text` takes as a JSON string's content.
pub fn json_escaped_len(text: &[u8]) -> usize {
    text.iter()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

/// The body as sent: gzip (base64 in the payload) when accepted and large,
/// else text; an error when it cannot fit Lambda's limit either way.
pub fn encode_body(text: String, gzip_ok: bool) -> Result<(Body, bool), RewriterError> {
    let budget = LAMBDA_RESPONSE_LIMIT - RESPONSE_OVERHEAD;
    let too_large = |sent| RewriterError::ResponseTooLarge {
        bytes: text.len(),
        sent,
        gzip_offered: gzip_ok,
    };
    if gzip_ok && text.len() >= GZIP_MIN_BYTES {
        let mut encoder =
            flate2::write::GzEncoder::new(Vec::with_capacity(text.len() / 4), flate2::Compression::fast());
        let compressed = encoder
            .write_all(text.as_bytes())
            .and_then(|()| encoder.finish())
            .map_err(RewriterError::Gzip)?;
        let encoded_len = compressed.len().div_ceil(3) * 4;
        if encoded_len > budget {
            return Err(too_large(encoded_len));
        }
        return Ok((Body::Binary(compressed), true));
    }
    let escaped = json_escaped_len(text.as_bytes());
    if escaped > budget {
        return Err(too_large(escaped));
    }
    Ok((Body::Text(text), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let movies = MediaPrefix::parse("movies/").unwrap();
        assert_eq!(
            object_key("/movies/movie_1/index.m3u8", &movies).unwrap(),
            "movies/movie_1/index.m3u8"
        );
        assert_eq!(object_key("movies/a.m3u8", &movies).unwrap(), "movies/a.m3u8");
        for bad in [
            "/movies/../secret.m3u8",
            "/movies//a.m3u8",
            "//movies/a.m3u8",
            "/movies/./a.m3u8",
            "/movies/%2e%2e/a.m3u8",
            "/movies/a b.m3u8",
            "/movies/a\\b.m3u8",
            "",
            "/",
        ] {
            assert!(
                matches!(object_key(bad, &movies), Err(RewriterError::InvalidPath)),
                "{bad}"
            );
        }
        for other in ["/other/a.m3u8", "/movies/a.ts", "/movies/.m3u8", "/movies"] {
            assert!(object_key(other, &movies).is_err(), "{other}");
        }
        assert!(matches!(
            object_key(&format!("/movies/{}.m3u8", "a".repeat(1100)), &movies),
            Err(RewriterError::InvalidPath)
        ));
    }

    #[test]
    fn response_limit() {
        let small = "#EXTM3U\n".to_owned();
        assert!(matches!(encode_body(small, true), Ok((Body::Text(_), false))));
        let big = "#EXTINF:4,\nseg.ts\n".repeat(200_000);
        assert!(matches!(encode_body(big.clone(), true), Ok((Body::Binary(_), true))));
        assert!(matches!(encode_body(big, false), Ok((Body::Text(_), false))));
        let huge = "#EXTINF:4,\nseg.ts\n".repeat(400_000);
        let e = encode_body(huge, false).unwrap_err();
        assert_eq!((e.status(), e.error_type()), (502, "response_too_large"));
        assert!(e.to_string().contains("gzip"));
        assert_eq!(json_escaped_len(b"a\"b\n\x01"), 1 + 2 + 1 + 2 + 6);
    }

    #[test]
    fn core_errors_keep_their_type() {
        let e = RewriterError::Rewrite(playlist_rewrite::Error::NoHeader {
            first_line: "<html>".into(),
        });
        assert_eq!((e.status(), e.error_type()), (502, "not_a_playlist"));
        assert!(e.to_string().contains("<html>"));
        let e = RewriterError::from(CommonError::MethodNotAllowed);
        assert_eq!((e.status(), e.error_type()), (405, "method_not_allowed"));
        assert_eq!(e.headers()[0].0, header::ALLOW);
    }
}
