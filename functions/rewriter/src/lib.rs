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
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io::Write as _;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use cloudfront_sign::{Denied, Verifier, VerifyingKey};
use http::{HeaderMap, HeaderValue, header};
use lambda_runtime::LambdaEvent;
use signed_hls_aws::config::BaseUrl;
use signed_hls_aws::http::{accepts_gzip, cors_allow_origin, viewer_ip};
use signed_hls_aws::{CommonConfig, ConfigError, Env, KeyCache, LoadedKey, ObjectStore, StoreError};
use thiserror::Error;

mod core;
pub use crate::core::{Mode, Outcome};

/// Lambda's limit for a synchronous response payload (the whole JSON).
pub const LAMBDA_RESPONSE_LIMIT: usize = 6 * 1024 * 1024;
/// Room kept for the status, headers and JSON framing of the response.
pub const RESPONSE_OVERHEAD: usize = 16 * 1024;
/// Bodies at least this large go out gzip-compressed when the client accepts it.
pub const GZIP_MIN_BYTES: usize = 4096;
/// The longest path accepted.
pub const MAX_PATH_BYTES: usize = 1024;

/// `rewriter`'s settings (the shared ones plus its own).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Shared settings (key, prefix, hash, CORS, IP binding).
    pub common: CommonConfig,
    /// `S3_BUCKET` (required, except for local runs with `LOCAL_MEDIA_DIR`).
    pub bucket: String,
    /// `MEDIA_PREFIX` (default `movies/`): only keys under it are served.
    pub media_prefix: String,
    /// `REWRITE_MODE` (default `resign`).
    pub mode: Mode,
    /// `MAX_PLAYLIST_BYTES` (default 16 MiB).
    pub max_playlist_bytes: u64,
    /// `TRUSTED_PUBLIC_KEYS`: extra keys accepted when verifying (rotation).
    pub trusted_public_keys: Vec<(String, VerifyingKey)>,
    /// `EXTRA_HOSTS`: hosts that also count as the distribution (aliases).
    pub extra_hosts: Vec<String>,
}

impl Settings {
    /// Reads the settings; errors name the variable.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let common = CommonConfig::from_env(env)?;
        let bucket = match (env.get("S3_BUCKET"), env.get("LOCAL_MEDIA_DIR")) {
            (Some(b), _) => b.to_owned(),
            (None, Some(_)) => String::new(),
            (None, None) => return Err(ConfigError::new("S3_BUCKET", "is required but not set")),
        };
        let media_prefix = env.get("MEDIA_PREFIX").unwrap_or("movies/").to_owned();
        if !media_prefix.ends_with('/')
            || media_prefix.starts_with('/')
            || !valid_key_chars(&media_prefix)
            || has_bad_segment(media_prefix.trim_end_matches('/'))
        {
            return Err(ConfigError::new(
                "MEDIA_PREFIX",
                "must be a relative key prefix ending in '/' (A-Z a-z 0-9 - _ . /), e.g. movies/",
            ));
        }
        let mode = env.parse_or("REWRITE_MODE", Mode::Resign)?;
        let max_playlist_bytes: u64 = env.parse_or("MAX_PLAYLIST_BYTES", 16 * 1024 * 1024)?;
        if max_playlist_bytes == 0 || max_playlist_bytes > 1 << 30 {
            return Err(ConfigError::new(
                "MAX_PLAYLIST_BYTES",
                "must be between 1 and 1073741824",
            ));
        }
        let trusted_public_keys = match env.get("TRUSTED_PUBLIC_KEYS") {
            None => Vec::new(),
            Some(json) => parse_trusted_keys(json).map_err(|r| ConfigError::new("TRUSTED_PUBLIC_KEYS", r))?,
        };
        let extra_hosts = env
            .list("EXTRA_HOSTS")
            .into_iter()
            .map(|h| h.to_ascii_lowercase())
            .collect::<Vec<_>>();
        if let Some(bad) = extra_hosts
            .iter()
            .find(|h| h.contains(['/', '?', '#', '@', ' ']) || h.contains("://"))
        {
            return Err(ConfigError::new(
                "EXTRA_HOSTS",
                format!("{bad:?} is not a host (host or host:port, comma-separated)"),
            ));
        }
        Ok(Settings {
            common,
            bucket,
            media_prefix,
            mode,
            max_playlist_bytes,
            trusted_public_keys,
            extra_hosts,
        })
    }
}

/// Parses `{"K...": "-----BEGIN PUBLIC KEY-----..."}`.
pub fn parse_trusted_keys(json: &str) -> Result<Vec<(String, VerifyingKey)>, String> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
        .map_err(|e| format!("expected a JSON object key_pair_id -> public key PEM ({e})"))?;
    map.into_iter()
        .map(|(id, pem)| {
            let pem = pem
                .as_str()
                .ok_or_else(|| format!("{id}: the value is not a PEM string"))?;
            let key = VerifyingKey::from_pem(pem).map_err(|e| format!("{id}: {e}"))?;
            Ok((id, key))
        })
        .collect()
}

fn valid_key_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
}

fn has_bad_segment(s: &str) -> bool {
    s.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..")
}

/// Validates a request path and returns the S3 key (no leading `/`).
pub fn object_key<'a>(path: &'a str, media_prefix: &str) -> Result<&'a str, RewriterError> {
    let key = path.strip_prefix('/').unwrap_or(path);
    if key.is_empty()
        || path.len() > MAX_PATH_BYTES
        || key.starts_with('/')
        || !valid_key_chars(key)
        || has_bad_segment(key)
    {
        return Err(RewriterError::InvalidPath);
    }
    if !key.starts_with(media_prefix) || !key.ends_with(".m3u8") || key.ends_with("/.m3u8") || key == ".m3u8" {
        return Err(RewriterError::NotServed);
    }
    Ok(key)
}

/// Per-key state: the verifier and the signature cache, rebuilt on rotation.
pub struct PerKey {
    /// The key generation it belongs to.
    pub generation: u64,
    /// Trusts the signing key's public half, `TRUSTED_PUBLIC_KEYS` and the secret's `public_keys`.
    pub verifier: Verifier,
    /// Signatures already made with this key (shared across warm invocations).
    pub cache: crate::core::Cache,
    /// The signing key's id and public half.
    pub own: (String, VerifyingKey),
}

/// What the handler needs.
pub struct Deps {
    /// The settings.
    pub settings: Settings,
    /// The public base URL (from `CF_URL` or the secret's `cf_url`).
    pub base_url: BaseUrl,
    /// The signing key.
    pub key: KeyCache,
    /// Where playlists are read.
    pub store: Arc<dyn ObjectStore>,
    /// Seconds since the epoch (a parameter so tests can fix it).
    pub clock: Box<dyn Fn() -> u64 + Send + Sync>,
    per_key: Mutex<Option<Arc<PerKey>>>,
}

impl Deps {
    /// Assembles the handler's dependencies.
    pub fn new(
        settings: Settings,
        base_url: BaseUrl,
        key: KeyCache,
        store: Arc<dyn ObjectStore>,
        clock: Box<dyn Fn() -> u64 + Send + Sync>,
    ) -> Self {
        Deps {
            settings,
            base_url,
            key,
            store,
            clock,
            per_key: Mutex::new(None),
        }
    }

    /// (hits, misses) of the current key's signature cache, if built yet.
    pub fn signature_cache_stats(&self) -> Option<(u64, u64)> {
        let slot = self.per_key.lock().unwrap_or_else(|e| e.into_inner());
        slot.as_ref().map(|pk| (pk.cache.hits(), pk.cache.misses()))
    }

    fn per_key(&self, key: &LoadedKey) -> Arc<PerKey> {
        let mut slot = self.per_key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pk) = slot.as_ref()
            && pk.generation == key.generation
        {
            return pk.clone();
        }
        let mut verifier = Verifier::new();
        for (id, vk) in self.settings.trusted_public_keys.iter().chain(&key.public_keys) {
            verifier.trust(id.clone(), vk.clone());
        }
        // After a rotation, viewers mid-session still hold credentials signed
        // with the previous key: keep trusting it (until the next rotation).
        if let Some((id, vk)) = slot.as_ref().map(|pk| pk.own.clone()) {
            verifier.trust(id, vk);
        }
        let own = (key.signer.key_pair_id().to_owned(), key.signer.verifying_key());
        verifier.trust(own.0.clone(), own.1.clone());
        let pk = Arc::new(PerKey {
            generation: key.generation,
            verifier,
            cache: crate::core::Cache::default(),
            own,
        });
        *slot = Some(pk.clone());
        pk
    }
}

/// Why a request fails; each maps to a status and a stable `error_type`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RewriterError {
    /// Not GET/HEAD/OPTIONS.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The path has characters or segments outside the documented set.
    #[error("invalid path: expected A-Z a-z 0-9 - _ . / with no empty, '.' or '..' segment")]
    InvalidPath,
    /// A valid path that is not a playlist under the media prefix.
    #[error("invalid path: only .m3u8 playlists under the media prefix are served")]
    NotServed,
    /// The credential was refused by the named check.
    #[error("credential refused: {0}")]
    Denied(Denied),
    /// No such playlist.
    #[error("playlist not found")]
    NotFound,
    /// The object is larger than `MAX_PLAYLIST_BYTES`.
    #[error("playlist is larger than {0} bytes")]
    TooLarge(u64),
    /// The object is not a playlist (binary, not UTF-8, no #EXTM3U, unparsable).
    #[error("{0}")]
    NotAPlaylist(String),
    /// Reuse mode and the incoming credential does not cover every URI.
    #[error("{0}")]
    ReuseNotCovering(String),
    /// The rewritten playlist does not fit Lambda's response limit.
    #[error("{0}")]
    ResponseTooLarge(String),
    /// S3 (or the key's secret) could not be reached after retries.
    #[error("storage unavailable")]
    Unavailable,
    /// The signing key could not be loaded (Secrets Manager unavailable).
    #[error("signing key unavailable")]
    KeyUnavailable,
    /// The signer refused.
    #[error("cannot sign: {0}")]
    Signing(String),
}

impl RewriterError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            RewriterError::MethodNotAllowed => 405,
            RewriterError::InvalidPath | RewriterError::NotServed => 400,
            RewriterError::Denied(_) => 403,
            RewriterError::NotFound => 404,
            RewriterError::TooLarge(_)
            | RewriterError::NotAPlaylist(_)
            | RewriterError::ReuseNotCovering(_)
            | RewriterError::ResponseTooLarge(_) => 502,
            RewriterError::Unavailable | RewriterError::KeyUnavailable => 503,
            RewriterError::Signing(_) => 500,
        }
    }

    /// A stable, machine-readable name (for 403: the failed check's code).
    pub fn error_type(&self) -> &'static str {
        match self {
            RewriterError::MethodNotAllowed => "method_not_allowed",
            RewriterError::InvalidPath => "invalid_path",
            RewriterError::NotServed => "not_a_playlist_path",
            RewriterError::Denied(d) => d.code(),
            RewriterError::NotFound => "not_found",
            RewriterError::TooLarge(_) => "playlist_too_large",
            RewriterError::NotAPlaylist(_) => "not_a_playlist",
            RewriterError::ReuseNotCovering(_) => "reuse_not_covering",
            RewriterError::ResponseTooLarge(_) => "response_too_large",
            RewriterError::Unavailable => "storage_unavailable",
            RewriterError::KeyUnavailable => "key_unavailable",
            RewriterError::Signing(_) => "signing_failed",
        }
    }
}

#[derive(Default)]
struct Stats {
    uris_signed: usize,
    uris_untouched: usize,
    signatures_computed: usize,
    signatures_reused: usize,
    bytes_in: usize,
    bytes_out: usize,
    gzip: bool,
    denied: Option<&'static str>,
}

/// The Lambda handler: never fails, every outcome is an HTTP response.
pub async fn handler(
    event: LambdaEvent<ApiGatewayV2httpRequest>,
    deps: &Deps,
) -> Result<ApiGatewayV2httpResponse, lambda_runtime::Error> {
    let started = Instant::now();
    let request = &event.payload;
    let origin = request.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let cors = cors_allow_origin(&deps.settings.common.cors_allowed_origins, origin);
    let mut stats = Stats::default();
    let path = request_path(request);
    let mut response = match respond(request, &path, deps, &mut stats).await {
        Ok(r) => r,
        Err(e) => {
            if let RewriterError::Denied(d) = &e {
                stats.denied = Some(d.code());
            }
            error_response(&e)
        }
    };
    let configured = !deps.settings.common.cors_allowed_origins.is_empty();
    if let Some(value) = cors.as_deref().and_then(|a| HeaderValue::from_str(a).ok()) {
        response.headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    let mut vary = Vec::new();
    if configured {
        vary.push("Origin");
    }
    if response.status_code == 200 {
        vary.push("Accept-Encoding");
    }
    if let Ok(v) = HeaderValue::from_str(&vary.join(", "))
        && !vary.is_empty()
    {
        response.headers.insert(header::VARY, v);
    }
    tracing::info!(
        request_id = %event.context.request_id,
        path = %truncate(&path, 200),
        status = response.status_code,
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        strategy = deps.settings.mode.as_str(),
        uris_signed = stats.uris_signed,
        uris_untouched = stats.uris_untouched,
        signatures_computed = stats.signatures_computed,
        signatures_reused = stats.signatures_reused,
        bytes_in = stats.bytes_in,
        bytes_out = stats.bytes_out,
        gzip = stats.gzip,
        denied = stats.denied.unwrap_or(""),
        "request"
    );
    Ok(response)
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn request_path(request: &ApiGatewayV2httpRequest) -> String {
    match request.path_parameters.get("proxy") {
        Some(proxy) => format!("/{}", proxy.trim_start_matches('/')),
        None => request
            .raw_path
            .clone()
            .or_else(|| request.request_context.http.path.clone())
            .unwrap_or_default(),
    }
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

async fn respond(
    request: &ApiGatewayV2httpRequest,
    path: &str,
    deps: &Deps,
    stats: &mut Stats,
) -> Result<ApiGatewayV2httpResponse, RewriterError> {
    let method = &request.request_context.http.method;
    if method == http::Method::OPTIONS {
        let mut r = response(204);
        r.headers.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        r.headers
            .insert("access-control-max-age", HeaderValue::from_static("600"));
        return Ok(r);
    }
    if method != http::Method::GET && method != http::Method::HEAD {
        return Err(RewriterError::MethodNotAllowed);
    }
    let settings = &deps.settings;
    let key = object_key(path, &settings.media_prefix)?;
    let playlist_url = format!("{}/{key}", deps.base_url.url);

    // Invariant 2: the credential is checked before anything is read.
    let now = (deps.clock)();
    let loaded = deps.key.current().await.map_err(|e| {
        tracing::warn!(error = %e, "signing key unavailable");
        RewriterError::KeyUnavailable
    })?;
    let per_key = deps.per_key(&loaded);
    let query = request.raw_query_string.as_deref().unwrap_or("");
    let url_with_query = if query.is_empty() {
        playlist_url.clone()
    } else {
        format!("{playlist_url}?{query}")
    };
    let incoming = crate::core::verify(
        &per_key.verifier,
        &url_with_query,
        &settings.common.key_prefix,
        now,
        client_ip(request),
    )
    .map_err(RewriterError::Denied)?;

    let body = deps
        .store
        .get(key, settings.max_playlist_bytes)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => RewriterError::NotFound,
            StoreError::TooLarge { limit, .. } => RewriterError::TooLarge(limit),
            other => {
                tracing::warn!(error = %other, "reading the playlist failed");
                RewriterError::Unavailable
            }
        })?;
    stats.bytes_in = body.len();

    let outcome = crate::core::rewrite(&crate::core::Input {
        body: &body,
        playlist_url: &playlist_url,
        authority: deps.base_url.url.split_once("://").map_or("", |(_, a)| a),
        extra_hosts: &settings.extra_hosts,
        key_prefix: &settings.common.key_prefix,
        max_bytes: settings.max_playlist_bytes,
        mode: settings.mode,
        incoming: &incoming,
        signer: &loaded.signer,
        cache: &per_key.cache,
    })?;
    stats.uris_signed = outcome.uris_signed;
    stats.uris_untouched = outcome.uris_untouched;
    stats.signatures_computed = outcome.signatures_computed;
    stats.signatures_reused = outcome.signatures_reused;

    let mut r = response(200);
    r.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.apple.mpegurl"),
    );
    let max_age = incoming.policy.date_less_than.saturating_sub(now).saturating_sub(1);
    if let Ok(v) = HeaderValue::from_str(&format!("private, max-age={max_age}")) {
        r.headers.insert(header::CACHE_CONTROL, v);
    }
    let gzip_ok = request
        .headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip);
    let (body, gzip) = encode_body(outcome.body, gzip_ok)?;
    stats.gzip = gzip;
    stats.bytes_out = match &body {
        Body::Text(t) => t.len(),
        Body::Binary(b) => b.len(),
        _ => 0,
    };
    if gzip {
        r.headers
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r.is_base64_encoded = true;
    }
    if method != http::Method::HEAD {
        r.body = Some(body);
    }
    Ok(r)
}

/// The number of bytes `text` takes as a JSON string's content.
pub fn json_escaped_len(text: &str) -> usize {
    text.bytes()
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
    if gzip_ok && text.len() >= GZIP_MIN_BYTES {
        let mut encoder =
            flate2::write::GzEncoder::new(Vec::with_capacity(text.len() / 4), flate2::Compression::fast());
        let compressed = encoder
            .write_all(text.as_bytes())
            .and_then(|()| encoder.finish())
            .map_err(|e| RewriterError::Signing(format!("gzip: {e}")))?;
        let encoded_len = compressed.len().div_ceil(3) * 4;
        if encoded_len > budget {
            return Err(RewriterError::ResponseTooLarge(format!(
                "response too large: the rewritten playlist is {} bytes, {encoded_len} gzip+base64, over Lambda's 6 MB limit",
                text.len()
            )));
        }
        return Ok((Body::Binary(compressed), true));
    }
    let escaped = json_escaped_len(&text);
    if escaped > budget {
        return Err(RewriterError::ResponseTooLarge(format!(
            "response too large: the rewritten playlist is {} bytes, over Lambda's 6 MB limit{}",
            text.len(),
            if gzip_ok {
                ""
            } else {
                "; send Accept-Encoding: gzip to receive it compressed"
            }
        )));
    }
    Ok((Body::Text(text), false))
}

fn response(status: u16) -> ApiGatewayV2httpResponse {
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = i64::from(status);
    r
}

/// The JSON error answer: `{"error": reason, "error_type": name}`.
pub fn error_response(e: &RewriterError) -> ApiGatewayV2httpResponse {
    let body = serde_json::json!({"error": e.to_string(), "error_type": e.error_type()}).to_string();
    let mut r = response(e.status());
    r.body = Some(Body::Text(body));
    let headers: &mut HeaderMap = &mut r.headers;
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if matches!(e, RewriterError::MethodNotAllowed) {
        headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, OPTIONS"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            object_key("/movies/movie_1/index.m3u8", "movies/"),
            Ok("movies/movie_1/index.m3u8")
        );
        assert_eq!(object_key("movies/a.m3u8", "movies/"), Ok("movies/a.m3u8"));
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
            assert_eq!(object_key(bad, "movies/"), Err(RewriterError::InvalidPath), "{bad}");
        }
        for other in ["/other/a.m3u8", "/movies/a.ts", "/movies/.m3u8", "/movies"] {
            assert!(object_key(other, "movies/").is_err(), "{other}");
        }
        assert_eq!(
            object_key(&format!("/movies/{}.m3u8", "a".repeat(1100)), "movies/"),
            Err(RewriterError::InvalidPath)
        );
    }

    #[test]
    fn settings() {
        let s = Settings::from_env(&Env::from_pairs([("SM_SECRET_NAME", "s"), ("S3_BUCKET", "b")])).unwrap();
        assert_eq!(
            (s.media_prefix.as_str(), s.mode, s.max_playlist_bytes),
            ("movies/", Mode::Resign, 16_777_216)
        );
        for (var, value) in [
            ("REWRITE_MODE", "fast"),
            ("MEDIA_PREFIX", "/movies/"),
            ("MEDIA_PREFIX", "movies"),
            ("MEDIA_PREFIX", "../"),
            ("MAX_PLAYLIST_BYTES", "0"),
            ("TRUSTED_PUBLIC_KEYS", "[]"),
            ("TRUSTED_PUBLIC_KEYS", r#"{"K1": "not a pem"}"#),
            ("EXTRA_HOSTS", "https://x.example"),
        ] {
            let e = Settings::from_env(&Env::from_pairs([
                ("SM_SECRET_NAME", "s"),
                ("S3_BUCKET", "b"),
                (var, value),
            ]))
            .unwrap_err();
            assert_eq!(e.var, var, "{value}");
        }
        let e = Settings::from_env(&Env::from_pairs([("SM_SECRET_NAME", "s")])).unwrap_err();
        assert_eq!(e.var, "S3_BUCKET");
    }

    #[test]
    fn response_limit() {
        let small = "#EXTM3U\n".to_owned();
        assert!(matches!(encode_body(small.clone(), true), Ok((Body::Text(_), false))));
        let big = "#EXTINF:4,\nseg.ts\n".repeat(200_000);
        assert!(matches!(encode_body(big.clone(), true), Ok((Body::Binary(_), true))));
        assert!(matches!(encode_body(big, false), Ok((Body::Text(_), false))));
        let huge = "#EXTINF:4,\nseg.ts\n".repeat(400_000);
        let e = encode_body(huge, false).unwrap_err();
        assert_eq!(e.status(), 502);
        assert!(e.to_string().contains("gzip"));
        assert_eq!(json_escaped_len("a\"b\n\u{1}"), 1 + 2 + 1 + 2 + 6);
    }
}
