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
//! arrives loaded in [`Deps`]. The URL's terms are a pure function,
//! [`url_policy`]. The preflight, the method gate, CORS, the error answer and
//! the log line are the shared shell's ([`signed_hls_aws::shell`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;

use std::net::IpAddr;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::query_map::QueryMap;
use cloudfront_sign::{Cidr, Policy, encoding, round_expiry};
use http::header::InvalidHeaderValue;
use http::{HeaderName, HeaderValue, header};
use lambda_runtime::LambdaEvent;
use playlist_rewrite::SignatureCache;
use signed_hls_aws::http::viewer_ip;
use signed_hls_aws::shell::{self, Answer, CommonError, Endpoint, ErrorAnswer, RequestLog, Started};
use signed_hls_aws::{BaseUrl, KeyCache, ObjectStore, SignError, SignurlConfig, StoreError};
use thiserror::Error;
use viewer_auth::AuthError;

use crate::auth::{Authorizer, Denial};

/// The longest movie id accepted.
pub const MAX_MOVIE_ID_LEN: usize = 64;

/// One signature per movie (and IP, when bound) per expiry window: a few
/// hundred bytes each.
const SIGNATURE_CACHE_ENTRIES: usize = 4096;

/// A browser may send the viewer's token cross-origin.
const ENDPOINT: Endpoint = Endpoint {
    allow_headers: "authorization, x-viewer-token",
};

/// Whether `movie` is a valid id: 1 to 64 of `A-Z a-z 0-9 - _`.
pub fn valid_movie_id(movie: &str) -> bool {
    (1..=MAX_MOVIE_ID_LEN).contains(&movie.len())
        && movie
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the handler needs, built once per cold start.
pub struct Deps {
    /// The settings.
    pub config: SignurlConfig,
    /// The public base URL (from `CF_URL` or the secret's `cf_url`).
    pub base_url: BaseUrl,
    /// The signing key.
    pub key: KeyCache,
    /// The store for the existence check (`None` when it is off).
    pub store: Option<Arc<dyn ObjectStore>>,
    /// Seconds since the epoch (a parameter so tests can fix it).
    pub clock: Box<dyn Fn() -> u64 + Send + Sync>,
    /// Who may ask.
    pub auth: Authorizer,
    /// The signatures made so far: viewers of a movie who ask within the
    /// same `EXPIRY_GRANULARITY_SECONDS` window share one.
    pub signatures: SignatureCache,
}

impl Deps {
    /// Assembles the handler's dependencies from the cold start's results.
    pub fn new(
        config: SignurlConfig,
        started: Started,
        auth: Authorizer,
        clock: Box<dyn Fn() -> u64 + Send + Sync>,
    ) -> Self {
        Deps {
            config,
            base_url: started.base_url,
            key: started.key,
            store: started.store,
            clock,
            auth,
            signatures: SignatureCache::new(SIGNATURE_CACHE_ENTRIES),
        }
    }
}

/// Why a request fails; each maps to a status and a stable `error_type`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SignurlError {
    /// What both functions share (405, 404, 503).
    #[error(transparent)]
    Common(#[from] CommonError),
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
    /// The signer refused (e.g. the URL would exceed 8,192 bytes).
    #[error("cannot sign: {0}")]
    Signing(#[from] cloudfront_sign::Error),
    /// The signed URL cannot be a `Location` header.
    #[error("cannot sign: the URL is not a valid Location header")]
    Location(#[source] InvalidHeaderValue),
    /// No valid viewer token (401) or no entitlement to the movie (403).
    #[error("{0}")]
    Auth(AuthError),
    /// The issuer's keys or the shared secret cannot be had right now.
    #[error("viewer authentication unavailable")]
    AuthUnavailable,
}

impl From<Denial> for SignurlError {
    fn from(denial: Denial) -> Self {
        match denial {
            Denial::Auth(e) => SignurlError::Auth(e),
            Denial::Unavailable => SignurlError::AuthUnavailable,
        }
    }
}

impl ErrorAnswer for SignurlError {
    fn status(&self) -> u16 {
        match self {
            SignurlError::Common(e) => e.status(),
            SignurlError::MissingMovie
            | SignurlError::InvalidMovie
            | SignurlError::InvalidParameter(_)
            | SignurlError::ViewerAddressUnknown => 400,
            SignurlError::AuthUnavailable => 503,
            SignurlError::Auth(e) => e.status(),
            SignurlError::Signing(_) | SignurlError::Location(_) => 500,
        }
    }

    fn error_type(&self) -> &'static str {
        match self {
            SignurlError::Common(e) => e.error_type(),
            SignurlError::MissingMovie => "missing_movie",
            SignurlError::InvalidMovie => "invalid_movie",
            SignurlError::InvalidParameter(_) => "invalid_parameter",
            SignurlError::ViewerAddressUnknown => "viewer_address_unknown",
            SignurlError::Signing(_) | SignurlError::Location(_) => "signing_failed",
            SignurlError::Auth(e) => e.error_type(),
            SignurlError::AuthUnavailable => "auth_unavailable",
        }
    }

    fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        match self {
            SignurlError::Common(e) => e.headers(),
            SignurlError::Auth(auth) => auth
                .www_authenticate()
                .and_then(|v| HeaderValue::from_str(&v).ok())
                .map(|v| vec![(header::WWW_AUTHENTICATE, v)])
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

/// How the URL is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `{"url": ..., "expires": epoch}` (the default).
    Json,
    /// The bare URL as text.
    Text,
    /// A 302 to the URL.
    Redirect,
}

impl Format {
    /// From the `format` and `redirect` query parameters.
    pub fn from_query(query: &QueryMap) -> Result<Self, SignurlError> {
        let redirect = match query.first("redirect").map(str::to_ascii_lowercase).as_deref() {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(_) => return Err(SignurlError::InvalidParameter("redirect must be true or false")),
        };
        match (redirect, query.first("format")) {
            (true, _) => Ok(Format::Redirect),
            (false, None | Some("json")) => Ok(Format::Json),
            (false, Some("text")) => Ok(Format::Text),
            (false, Some(_)) => Err(SignurlError::InvalidParameter("format must be json or text")),
        }
    }

    fn answer(self, url: String, expires: u64) -> Result<Answer, SignurlError> {
        Ok(match self {
            Format::Json => {
                let body = serde_json::json!({"url": url, "expires": expires}).to_string();
                Answer::new(200, "application/json", Body::Text(body))
            }
            Format::Text => Answer::new(200, "text/plain; charset=utf-8", Body::Text(url)),
            Format::Redirect => {
                let location = HeaderValue::try_from(url).map_err(SignurlError::Location)?;
                let mut answer =
                    Answer::new(302, "text/plain; charset=utf-8", Body::Empty).header(header::LOCATION, location);
                answer.response.headers.remove(header::CONTENT_TYPE);
                answer
            }
        })
    }
}

/// The terms of a URL for `resource` issued at `now`: valid for `ttl`
/// seconds but no later than `token_expires` (when the viewer's token binds
/// the expiry), the expiry then rounded down to a multiple of `granularity`
/// ([`round_expiry`]: never to or before `now`), from `now - skew` when a
/// skew is set, and for `ip` only when given. A token already expired
/// (within its leeway) makes no URL: it would be dead on arrival.
///
/// With a granularity, every viewer of a movie who asks within the same
/// window (and has no IP or skew condition) gets the same policy bytes:
/// signurl signs it once, and the rewriter's policies for them match too.
pub fn url_policy(
    resource: String,
    now: u64,
    ttl: u64,
    granularity: u64,
    skew: Option<u64>,
    token_expires: Option<u64>,
    ip: Option<IpAddr>,
) -> Result<Policy, AuthError> {
    let mut expires = now.saturating_add(ttl);
    if let Some(token_expires) = token_expires {
        if token_expires <= now {
            return Err(AuthError::Expired);
        }
        expires = expires.min(token_expires);
    }
    let mut policy = Policy::new(resource, round_expiry(expires, granularity, now));
    if let Some(skew) = skew {
        policy = policy.not_before(now.saturating_sub(skew));
    }
    if let Some(ip) = ip {
        policy = policy.from_ip(Cidr::single(ip));
    }
    Ok(policy)
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

async fn respond(request: &ApiGatewayV2httpRequest, deps: &Deps, log: &mut RequestLog) -> Result<Answer, SignurlError> {
    log.strategy = "directory-policy";
    log.auth_mode = deps.auth.mode_name();
    let query = &request.query_string_parameters;
    let movie = query.first("movie").ok_or(SignurlError::MissingMovie)?;
    if !valid_movie_id(movie) {
        return Err(SignurlError::InvalidMovie);
    }
    log.movie = movie.to_owned();
    let format = Format::from_query(query)?;
    let now = (deps.clock)();
    let viewer = deps.auth.authorize(request, movie, now).await?;
    let config = &deps.config;
    let ip = match config.common.bind_viewer_ip {
        true => Some(bound_viewer_ip(request)?),
        false => None,
    };
    let key = config.template.key(movie);
    check_exists(deps, &key).await?;
    let token_expires = viewer.filter(|_| config.auth.bind_token_expiry).map(|v| v.expires);
    let base = &deps.base_url.url;
    let resource = format!("{base}/{}/*", config.template.directory(movie));
    let policy = url_policy(
        resource,
        now,
        config.ttl_seconds,
        config.common.expiry_granularity,
        config.not_before_skew,
        token_expires,
        ip,
    )
    .map_err(SignurlError::Auth)?;
    let loaded = deps.key.current().await.map_err(|e| {
        tracing::warn!(error = %e, "signing key unavailable");
        CommonError::KeyUnavailable
    })?;
    let signatory = loaded.signer.signatory();
    let json = policy.to_json();
    let signature = match deps.signatures.lookup(signatory, &json) {
        Some(signature) => {
            log.signatures_reused = 1;
            signature.to_string()
        }
        None => {
            let signed = loaded.signer.sign(&[json.as_bytes()]).await.map_err(|e| match e {
                SignError::Unavailable(_) => {
                    tracing::warn!(error = %e, "signing key unavailable");
                    SignurlError::from(CommonError::KeyUnavailable)
                }
                other => SignurlError::from(cloudfront_sign::Error::Sign(other.to_string())),
            })?;
            let signature = encoding::encode(signed.first().map_or(&[][..], Vec::as_slice));
            deps.signatures.store(signatory, &json, signature.as_str().into());
            log.signatures_computed = 1;
            signature
        }
    };
    let url = signatory.url_with_policy_and_copies(
        &format!("{base}/{key}"),
        &policy,
        signature,
        &config.common.key_suffix,
    )?;
    log.uris_signed = 1;
    // Each answer is for one viewer (and maybe one IP): never cache it.
    Ok(format
        .answer(url, policy.date_less_than)?
        .header(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
}

/// The viewer's address from `CloudFront-Viewer-Address`, required when the
/// URL is bound to it.
fn bound_viewer_ip(request: &ApiGatewayV2httpRequest) -> Result<IpAddr, SignurlError> {
    request
        .headers
        .get("cloudfront-viewer-address")
        .and_then(|v| v.to_str().ok())
        .and_then(viewer_ip)
        .ok_or(SignurlError::ViewerAddressUnknown)
}

/// With `CHECK_PLAYLIST_EXISTS`, a 404 for a playlist that is not there.
async fn check_exists(deps: &Deps, key: &str) -> Result<(), SignurlError> {
    let Some(store) = &deps.store else {
        return Ok(());
    };
    match store.exists(key).await {
        Ok(true) => Ok(()),
        Ok(false) | Err(StoreError::NotFound(_)) => Err(CommonError::NotFound.into()),
        Err(e) => {
            tracing::warn!(error = %e, "existence check failed");
            Err(CommonError::StorageUnavailable.into())
        }
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
    fn url_terms() {
        let r = || "https://d.example/movies/movie_1/*".to_owned();
        let p = url_policy(r(), 1000, 600, 0, None, None, None).unwrap();
        assert_eq!(
            (p.date_less_than, p.date_greater_than, p.ip_address),
            (1600, None, None)
        );
        // The token caps the expiry, never extends it.
        assert_eq!(
            url_policy(r(), 1000, 600, 0, None, Some(1200), None)
                .unwrap()
                .date_less_than,
            1200
        );
        assert_eq!(
            url_policy(r(), 1000, 600, 0, None, Some(9999), None)
                .unwrap()
                .date_less_than,
            1600
        );
        // A token at or past its expiry (within its leeway) makes no URL.
        assert_eq!(
            url_policy(r(), 1000, 600, 0, None, Some(1000), None).unwrap_err(),
            AuthError::Expired
        );
        assert_eq!(
            url_policy(r(), 1000, 600, 0, Some(30), None, None)
                .unwrap()
                .date_greater_than,
            Some(970)
        );
        assert_eq!(
            url_policy(r(), 10, 600, 0, Some(30), None, None)
                .unwrap()
                .date_greater_than,
            Some(0)
        );
        // Rounded down to the granularity: viewers a few seconds apart share
        // the policy; never later than the token, never dead on arrival.
        let at = |now, token| url_policy(r(), now, 600, 60, None, token, None).unwrap().date_less_than;
        assert_eq!((at(1000, None), at(1019, None), at(1020, None)), (1560, 1560, 1620));
        assert_eq!(at(1000, Some(1250)), 1200);
        assert_eq!(at(1000, Some(1030)), 1020);
        assert_eq!(at(1025, Some(1030)), 1030);
        let ip: IpAddr = "2001:db8::7".parse().unwrap();
        let p = url_policy(r(), 1000, 600, 0, None, None, Some(ip)).unwrap();
        assert_eq!(p.ip_address, Some(Cidr::single(ip)));
        assert_eq!(
            url_policy(r(), u64::MAX - 5, 600, 0, None, None, None)
                .unwrap()
                .date_less_than,
            u64::MAX
        );
    }

    #[test]
    fn formats() {
        let q = |pairs: &[(&str, &str)]| {
            let map: std::collections::HashMap<String, Vec<String>> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect();
            QueryMap::from(map)
        };
        assert_eq!(Format::from_query(&q(&[])).unwrap(), Format::Json);
        assert_eq!(Format::from_query(&q(&[("format", "text")])).unwrap(), Format::Text);
        assert_eq!(
            Format::from_query(&q(&[("redirect", "TRUE"), ("format", "x")])).unwrap(),
            Format::Redirect
        );
        for bad in [&[("format", "xml")][..], &[("redirect", "maybe")][..]] {
            assert_eq!(
                Format::from_query(&q(bad)).unwrap_err().error_type(),
                "invalid_parameter"
            );
        }
    }
}
