//! `signurl`: answers `GET /content/media/signurl?movie=ID` with a CloudFront
//! signed URL for the movie's playlist.
//!
//! The URL carries a custom policy for the movie's directory
//! (`https://DOMAIN/movies/movie_ID/*`), valid for `URL_TTL_SECONDS`, and the
//! `KEY_PREFIX` copies of its parameters, so that the rewriter can check the
//! credential after CloudFront has stripped the original ones.
//!
//! Query parameters:
//! - `movie` (required): `[A-Za-z0-9_-]{1,64}`; anything else is a 400 (so
//!   `../`, `/`, `%`, `.` and empty ids never reach the policy);
//! - `format=json` (default: `{"url": ..., "expires": epoch}`) or `format=text` (the bare URL);
//! - `redirect=true`: a 302 to the URL, for a plain `<video src>` or AVPlayer.
//!
//! Who may ask is decided first by the [`auth::Authorizer`] (`AUTH_MODE`:
//! `none`, `jwt` or `shared-secret`): 401 with `WWW-Authenticate` for a
//! missing or invalid token, 403 for a valid token without the movie; with
//! `AUTH_BIND_TOKEN_EXPIRY` the URL expires no later than the token.
//!
//! It does no I/O of its own but the optional existence check through an
//! [`ObjectStore`] and the authorizer's (JWKS, shared secret); the key
//! arrives loaded in [`Deps`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;

use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use cloudfront_sign::{Cidr, Policy};
use http::{HeaderMap, HeaderValue, header};
use lambda_runtime::LambdaEvent;
use signed_hls_aws::config::BaseUrl;
use signed_hls_aws::http::{cors_allow_origin, viewer_ip};
use signed_hls_aws::{CommonConfig, ConfigError, Env, KeyCache, ObjectStore, StoreError};
use thiserror::Error;
use viewer_auth::{AuthError, AuthSettings};

use crate::auth::{Authorizer, Denial};

/// The longest movie id accepted.
pub const MAX_MOVIE_ID_LEN: usize = 64;

/// The playlist key template (`PLAYLIST_KEY_TEMPLATE`), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistTemplate(String);

impl PlaylistTemplate {
    /// Validates a template: a relative key ending in `.m3u8`, with `{movie}`
    /// in its directory part (so that the policy's `dir/*` covers one movie
    /// only), no `..`, `.` or empty segments.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (dir, file) = text
            .rsplit_once('/')
            .ok_or("the template needs a directory (dir/{movie}/file.m3u8)")?;
        if !dir.contains("{movie}") {
            return Err("{movie} must appear in the directory part, so that the policy covers one movie".into());
        }
        if !file.ends_with(".m3u8") {
            return Err("the template must name a .m3u8 file".into());
        }
        if text.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
            return Err("no empty, '.' or '..' segments and no leading '/'".into());
        }
        let probe = text.replace("{movie}", "x");
        if probe.contains(['{', '}']) || !probe.bytes().all(is_key_byte) {
            return Err("only {movie} and the characters A-Z a-z 0-9 - _ . / are allowed".into());
        }
        Ok(PlaylistTemplate(text.to_owned()))
    }

    /// The S3 key of `movie`'s playlist (`movie` already validated).
    pub fn key(&self, movie: &str) -> String {
        self.0.replace("{movie}", movie)
    }

    /// The directory of `movie`'s playlist, without a trailing slash.
    pub fn directory(&self, movie: &str) -> String {
        let key = self.key(movie);
        key.rsplit_once('/').map_or(key.clone(), |(d, _)| d.to_owned())
    }
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/')
}

/// Whether `movie` is a valid id: 1 to 64 of `A-Z a-z 0-9 - _`.
pub fn valid_movie_id(movie: &str) -> bool {
    (1..=MAX_MOVIE_ID_LEN).contains(&movie.len())
        && movie
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `signurl`'s settings (the shared ones plus its own).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Shared settings (key, prefix, hash, CORS, IP binding).
    pub common: CommonConfig,
    /// `PLAYLIST_KEY_TEMPLATE` (default `movies/movie_{movie}/index.m3u8`).
    pub template: PlaylistTemplate,
    /// `URL_TTL_SECONDS` (default 21600, 6 h).
    pub ttl_seconds: u64,
    /// `NOT_BEFORE_SKEW_SECONDS` (default 0: no `DateGreaterThan`).
    pub not_before_skew: Option<u64>,
    /// `CHECK_PLAYLIST_EXISTS` (default false).
    pub check_exists: bool,
    /// `S3_BUCKET` (required only with `CHECK_PLAYLIST_EXISTS=true`).
    pub bucket: Option<String>,
    /// `AUTH_MODE` and the other `AUTH_*` / `JWT_*` settings.
    pub auth: AuthSettings,
}

impl Settings {
    /// Reads the settings; errors name the variable.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let common = CommonConfig::from_env(env)?;
        let template = PlaylistTemplate::parse(
            env.get("PLAYLIST_KEY_TEMPLATE")
                .unwrap_or("movies/movie_{movie}/index.m3u8"),
        )
        .map_err(|r| ConfigError::new("PLAYLIST_KEY_TEMPLATE", r))?;
        let ttl_seconds: u64 = env.parse_or("URL_TTL_SECONDS", 21_600)?;
        if ttl_seconds == 0 || ttl_seconds > 366 * 86_400 {
            return Err(ConfigError::new(
                "URL_TTL_SECONDS",
                "must be between 1 and 31622400 (366 days)",
            ));
        }
        let skew: u64 = env.parse_or("NOT_BEFORE_SKEW_SECONDS", 0)?;
        let check_exists = env.bool_or("CHECK_PLAYLIST_EXISTS", false)?;
        let bucket = env.get("S3_BUCKET").map(str::to_owned);
        if check_exists && bucket.is_none() {
            return Err(ConfigError::new(
                "S3_BUCKET",
                "is required when CHECK_PLAYLIST_EXISTS=true",
            ));
        }
        let auth = AuthSettings::from_lookup(|name| env.get(name).map(str::to_owned))
            .map_err(|e| ConfigError::new(e.var, e.reason))?;
        Ok(Settings {
            common,
            template,
            ttl_seconds,
            not_before_skew: (skew > 0).then_some(skew),
            check_exists,
            bucket,
            auth,
        })
    }
}

/// What the handler needs: settings, the key, the optional store, a clock.
pub struct Deps {
    /// The settings.
    pub settings: Settings,
    /// The public base URL (from `CF_URL` or the secret's `cf_url`).
    pub base_url: BaseUrl,
    /// The signing key.
    pub key: KeyCache,
    /// The store for the existence check (`None` when it is off).
    pub store: Option<Arc<dyn ObjectStore>>,
    /// Seconds since the epoch (a parameter so tests can fix it).
    pub clock: Box<dyn Fn() -> u64 + Send + Sync>,
    /// Who may ask ([`Authorizer::open`] for `AUTH_MODE=none`).
    pub auth: Authorizer,
}

/// Why a request fails; each maps to a status and a stable `error_type`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SignurlError {
    /// Not GET/HEAD/OPTIONS.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// No `movie` parameter.
    #[error("missing movie parameter")]
    MissingMovie,
    /// A `movie` outside the documented set.
    #[error("invalid movie id: expected 1 to 64 of A-Z a-z 0-9 - _")]
    InvalidMovie,
    /// A `format` or `redirect` value that is not understood.
    #[error("invalid parameter: {0}")]
    InvalidParameter(&'static str),
    /// IP binding is on but the viewer's address is unknown.
    #[error("viewer address unknown: no valid CloudFront-Viewer-Address header")]
    ViewerAddressUnknown,
    /// The playlist does not exist (existence check on).
    #[error("playlist not found")]
    NotFound,
    /// S3 could not be reached after retries.
    #[error("storage unavailable")]
    Unavailable,
    /// The signing key could not be loaded (Secrets Manager unavailable).
    #[error("signing key unavailable")]
    KeyUnavailable,
    /// The signer refused (e.g. the URL would exceed 8,192 bytes).
    #[error("cannot sign: {0}")]
    Signing(String),
    /// No valid viewer token (401) or no entitlement to the movie (403).
    #[error("{0}")]
    Auth(AuthError),
    /// The issuer's keys or the shared secret cannot be had right now.
    #[error("viewer authentication unavailable")]
    AuthUnavailable,
}

impl SignurlError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            SignurlError::MethodNotAllowed => 405,
            SignurlError::MissingMovie
            | SignurlError::InvalidMovie
            | SignurlError::InvalidParameter(_)
            | SignurlError::ViewerAddressUnknown => 400,
            SignurlError::NotFound => 404,
            SignurlError::Unavailable | SignurlError::KeyUnavailable | SignurlError::AuthUnavailable => 503,
            SignurlError::Auth(e) => e.status(),
            SignurlError::Signing(_) => 500,
        }
    }

    /// A stable, machine-readable name.
    pub fn error_type(&self) -> &'static str {
        match self {
            SignurlError::MethodNotAllowed => "method_not_allowed",
            SignurlError::MissingMovie => "missing_movie",
            SignurlError::InvalidMovie => "invalid_movie",
            SignurlError::InvalidParameter(_) => "invalid_parameter",
            SignurlError::ViewerAddressUnknown => "viewer_address_unknown",
            SignurlError::NotFound => "not_found",
            SignurlError::Unavailable => "storage_unavailable",
            SignurlError::KeyUnavailable => "key_unavailable",
            SignurlError::Signing(_) => "signing_failed",
            SignurlError::Auth(e) => e.error_type(),
            SignurlError::AuthUnavailable => "auth_unavailable",
        }
    }
}

enum Format {
    Json,
    Text,
    Redirect,
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
    let outcome = respond(request, deps).await;
    let (mut response, movie) = match outcome {
        Ok((response, movie)) => (response, Some(movie)),
        Err(e) => (error_response(&e), None),
    };
    add_cors(
        &mut response.headers,
        cors.as_deref(),
        !deps.settings.common.cors_allowed_origins.is_empty(),
    );
    let status = response.status_code;
    tracing::info!(
        request_id = %event.context.request_id,
        path = request.raw_path.as_deref().unwrap_or(""),
        movie = movie.as_deref().unwrap_or(""),
        status,
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        strategy = "directory-policy",
        auth_mode = deps.auth.mode_name(),
        uris_signed = u64::from(status < 400 && request.request_context.http.method != http::Method::OPTIONS),
        signatures_computed = u64::from(status < 400 && request.request_context.http.method != http::Method::OPTIONS),
        "request"
    );
    Ok(response)
}

async fn respond(
    request: &ApiGatewayV2httpRequest,
    deps: &Deps,
) -> Result<(ApiGatewayV2httpResponse, String), SignurlError> {
    let method = &request.request_context.http.method;
    if method == http::Method::OPTIONS {
        let mut r = response(204, Body::Empty);
        r.headers.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        r.headers.insert(
            "access-control-allow-headers",
            HeaderValue::from_static("authorization, x-viewer-token"),
        );
        r.headers
            .insert("access-control-max-age", HeaderValue::from_static("600"));
        return Ok((r, String::new()));
    }
    if method != http::Method::GET && method != http::Method::HEAD {
        return Err(SignurlError::MethodNotAllowed);
    }
    let query = &request.query_string_parameters;
    let movie = query.first("movie").ok_or(SignurlError::MissingMovie)?;
    if !valid_movie_id(movie) {
        return Err(SignurlError::InvalidMovie);
    }
    let redirect = match query.first("redirect").map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => return Err(SignurlError::InvalidParameter("redirect must be true or false")),
    };
    let format = match (redirect, query.first("format")) {
        (true, _) => Format::Redirect,
        (false, None | Some("json")) => Format::Json,
        (false, Some("text")) => Format::Text,
        (false, Some(_)) => return Err(SignurlError::InvalidParameter("format must be json or text")),
    };
    let now = (deps.clock)();
    let viewer = deps
        .auth
        .authorize(request, movie, now)
        .await
        .map_err(|denial| match denial {
            Denial::Auth(e) => SignurlError::Auth(e),
            Denial::Unavailable => SignurlError::AuthUnavailable,
        })?;
    let settings = &deps.settings;
    let client_ip = if settings.common.bind_viewer_ip {
        let header = request
            .headers
            .get("cloudfront-viewer-address")
            .and_then(|v| v.to_str().ok());
        Some(header.and_then(viewer_ip).ok_or(SignurlError::ViewerAddressUnknown)?)
    } else {
        None
    };
    let key = settings.template.key(movie);
    if settings.check_exists
        && let Some(store) = &deps.store
    {
        match store.exists(&key).await {
            Ok(true) => {}
            Ok(false) | Err(StoreError::NotFound(_)) => return Err(SignurlError::NotFound),
            Err(e) => {
                tracing::warn!(error = %e, "existence check failed");
                return Err(SignurlError::Unavailable);
            }
        }
    }
    let mut expires = now.saturating_add(settings.ttl_seconds);
    if let Some(viewer) = &viewer
        && settings.auth.bind_token_expiry
    {
        // The token's leeway does not stretch the URL: an exp already past
        // (but within the leeway) would make a URL that is dead on arrival.
        if viewer.expires <= now {
            return Err(SignurlError::Auth(AuthError::Expired));
        }
        expires = expires.min(viewer.expires);
    }
    let base = &deps.base_url.url;
    let mut policy = Policy::new(format!("{base}/{}/*", settings.template.directory(movie)), expires);
    if let Some(skew) = settings.not_before_skew {
        policy = policy.not_before(now.saturating_sub(skew));
    }
    if let Some(ip) = client_ip {
        policy = policy.from_ip(Cidr::single(ip));
    }
    let loaded = deps.key.current().await.map_err(|e| {
        tracing::warn!(error = %e, "signing key unavailable");
        SignurlError::KeyUnavailable
    })?;
    let url = loaded
        .signer
        .sign_with_policy_and_copies(&format!("{base}/{key}"), &policy, &["", &settings.common.key_prefix])
        .map_err(|e| SignurlError::Signing(e.to_string()))?;
    let mut r = match format {
        Format::Json => {
            let body = serde_json::json!({"url": url, "expires": expires}).to_string();
            let mut r = response(200, Body::Text(body));
            r.headers
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        Format::Text => {
            let mut r = response(200, Body::Text(url));
            r.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            r
        }
        Format::Redirect => {
            let mut r = response(302, Body::Empty);
            let location = HeaderValue::from_str(&url).map_err(|e| SignurlError::Signing(e.to_string()))?;
            r.headers.insert(header::LOCATION, location);
            r
        }
    };
    // Each answer is for one viewer (and maybe one IP): never cache it.
    r.headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if method == http::Method::HEAD {
        r.body = None;
    }
    Ok((r, movie.to_owned()))
}

fn response(status: u16, body: Body) -> ApiGatewayV2httpResponse {
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = i64::from(status);
    r.body = match body {
        Body::Empty => None,
        other => Some(other),
    };
    r
}

/// The JSON error answer: `{"error": reason, "error_type": name}`.
pub fn error_response(e: &SignurlError) -> ApiGatewayV2httpResponse {
    let body = serde_json::json!({"error": e.to_string(), "error_type": e.error_type()}).to_string();
    let mut r = response(e.status(), Body::Text(body));
    r.headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let SignurlError::Auth(auth) = e
        && let Some(value) = auth.www_authenticate().and_then(|v| HeaderValue::from_str(&v).ok())
    {
        r.headers.insert(header::WWW_AUTHENTICATE, value);
    }
    if matches!(e, SignurlError::MethodNotAllowed) {
        r.headers
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, OPTIONS"));
    }
    r
}

fn add_cors(headers: &mut HeaderMap, allow: Option<&str>, configured: bool) {
    if let Some(value) = allow.and_then(|a| HeaderValue::from_str(a).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    if configured {
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn movie_ids() {
        for ok in ["1", "movie-1_A", &"a".repeat(64)] {
            assert!(valid_movie_id(ok), "{ok}");
        }
        for bad in [
            "",
            "../1",
            "1/2",
            "a.b",
            "%2e%2e",
            "a b",
            "ü",
            &"a".repeat(65),
            "*",
            "?",
        ] {
            assert!(!valid_movie_id(bad), "{bad}");
        }
    }

    #[test]
    fn templates() {
        let t = PlaylistTemplate::parse("movies/movie_{movie}/index.m3u8").unwrap();
        assert_eq!(t.key("7"), "movies/movie_7/index.m3u8");
        assert_eq!(t.directory("7"), "movies/movie_7");
        let t = PlaylistTemplate::parse("v/{movie}/hls/master.m3u8").unwrap();
        assert_eq!(t.directory("x"), "v/x/hls");
        for bad in [
            "movies/{movie}.m3u8",
            "index.m3u8",
            "/movies/{movie}/index.m3u8",
            "movies/../{movie}/index.m3u8",
            "movies//{movie}/index.m3u8",
            "movies/{movie}/index.mp4",
            "movies/{other}/{movie}/index.m3u8",
            "movies/{movie}/in dex.m3u8",
        ] {
            assert!(PlaylistTemplate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_defaults_and_errors() {
        let s = Settings::from_env(&Env::from_pairs([("SM_SECRET_NAME", "s")])).unwrap();
        assert_eq!(s.ttl_seconds, 21_600);
        assert_eq!(s.not_before_skew, None);
        assert!(!s.check_exists);
        let e = Settings::from_env(&Env::from_pairs([
            ("SM_SECRET_NAME", "s"),
            ("CHECK_PLAYLIST_EXISTS", "true"),
        ]))
        .unwrap_err();
        assert_eq!(e.var, "S3_BUCKET");
        let e =
            Settings::from_env(&Env::from_pairs([("SM_SECRET_NAME", "s"), ("URL_TTL_SECONDS", "abc")])).unwrap_err();
        assert_eq!(e.var, "URL_TTL_SECONDS");
        let e = Settings::from_env(&Env::from_pairs([
            ("SM_SECRET_NAME", "s"),
            ("PLAYLIST_KEY_TEMPLATE", "x.m3u8"),
        ]))
        .unwrap_err();
        assert_eq!(e.var, "PLAYLIST_KEY_TEMPLATE");
        assert_eq!(s.auth.mode, viewer_auth::Mode::None);
        let e = Settings::from_env(&Env::from_pairs([("SM_SECRET_NAME", "s"), ("AUTH_MODE", "oidc")])).unwrap_err();
        assert_eq!(e.var, "AUTH_MODE");
        let e = Settings::from_env(&Env::from_pairs([("SM_SECRET_NAME", "s"), ("AUTH_MODE", "jwt")])).unwrap_err();
        assert_eq!(e.var, "JWT_ISSUER");
    }
}
