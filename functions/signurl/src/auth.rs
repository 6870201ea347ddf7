//! Who may watch: the I/O around the pure `viewer-auth` crate.
//!
//! - `AUTH_MODE=jwt`: the issuer's JWKS, fetched over HTTPS (the URL from
//!   `JWT_JWKS_URL`, or from the issuer's OpenID Connect discovery document),
//!   cached for `JWT_JWKS_CACHE_SECONDS` and fetched again when a token names
//!   an unknown `kid` — at most once per `JWT_JWKS_MIN_REFRESH_SECONDS`, so
//!   that a flood of made-up `kid`s cannot turn into a flood of fetches.
//!   A failed fetch keeps the keys already held; with none held the request
//!   gets a 503.
//! - `AUTH_MODE=shared-secret`: the HMAC key from Secrets Manager
//!   (`AUTH_SECRET_NAME`, read with the same retries as the signing key) or a
//!   file (`AUTH_SECRET_FILE`, local runs), read once and kept; while it
//!   cannot be read, requests get a 503 and the next one tries again.
//!
//! The HTTP client is hyper-util's client over hyper-rustls: the very crates
//! (hyper 1, rustls with aws-lc-rs, the system's roots) that the AWS SDK
//! already links, so the JWKS fetch adds no TLS stack and no crate to the
//! build (reqwest would add its own copy of the stack's glue and features).
//!
//! Nothing here logs a token, a claim value or the secret.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use signed_hls_aws::SecretSource;
use viewer_auth::{
    AuthError, AuthSettings, JwksSource, JwtRules, KeySet, MAX_JWKS_BYTES, Mode, RequestParts, SecretLocation,
    SharedSecretRules, TokenLocations, VIEWER_TOKEN_HEADER, Viewer,
};

/// Fetches a URL's body with GET, bounded in size and time.
#[async_trait]
pub trait HttpGet: Send + Sync {
    /// The body of a 200 answer, at most `max_bytes`; an error otherwise.
    async fn get(&self, url: &str, max_bytes: usize) -> Result<Vec<u8>, String>;
}

/// [`HttpGet`] over hyper-util + hyper-rustls (HTTPS with the system's
/// roots; plain HTTP only reaches loopback URLs, which configuration checks).
pub struct HyperGet {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    timeout: Duration,
}

impl HyperGet {
    /// A client with a 4 s limit per fetch (connect, TLS, answer, body).
    pub fn new() -> Result<Self, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("no TLS root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(HyperGet {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout: Duration::from_secs(4),
        })
    }
}

#[async_trait]
impl HttpGet for HyperGet {
    async fn get(&self, url: &str, max_bytes: usize) -> Result<Vec<u8>, String> {
        if !viewer_auth::is_allowed_url(url) {
            return Err("refused: not https (or http to loopback)".to_owned());
        }
        let uri: http::Uri = url.parse().map_err(|_| "invalid URL".to_owned())?;
        let fetch = async {
            let response = self.client.get(uri).await.map_err(|e| format!("request failed: {e}"))?;
            if response.status() != http::StatusCode::OK {
                return Err(format!("status {}", response.status().as_u16()));
            }
            let body = Limited::new(response.into_body(), max_bytes)
                .collect()
                .await
                .map_err(|e| format!("body: {e}"))?;
            Ok(body.to_bytes().to_vec())
        };
        tokio::time::timeout(self.timeout, fetch)
            .await
            .unwrap_or_else(|_| Err("timed out".to_owned()))
    }
}

/// The most time one key-set refresh (discovery + JWKS) may take.
const FETCH_BUDGET: Duration = Duration::from_secs(5);

struct Cached {
    keys: Arc<KeySet>,
    fetched: Instant,
}

/// The issuer's keys, cached, refreshed on schedule and on an unknown `kid`
/// (rate-limited).
pub struct JwksCache {
    source: JwksSource,
    http: Arc<dyn HttpGet>,
    max_age: Duration,
    min_interval: Duration,
    current: RwLock<Option<Cached>>,
    last_attempt: Mutex<Option<Instant>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl JwksCache {
    /// A cache with no keys yet.
    pub fn new(source: JwksSource, http: Arc<dyn HttpGet>, max_age: Duration, min_interval: Duration) -> Self {
        JwksCache {
            source,
            http,
            max_age,
            min_interval,
            current: RwLock::new(None),
            last_attempt: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    fn snapshot(&self) -> Option<(Arc<KeySet>, Instant)> {
        let guard = self.current.read().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().map(|c| (Arc::clone(&c.keys), c.fetched))
    }

    /// The keys, fetched first when there are none or they are older than
    /// the cache lifetime (a failed fetch keeps serving the old ones).
    pub async fn keys(&self) -> Option<Arc<KeySet>> {
        match self.snapshot() {
            Some((keys, fetched)) if fetched.elapsed() < self.max_age => Some(keys),
            other => {
                let seen = other.map(|(k, _)| k);
                self.refresh(seen.as_ref()).await
            }
        }
    }

    /// Fetches the keys again unless someone else just did, or the last
    /// attempt is more recent than the minimum interval; returns the keys
    /// held afterwards. `seen` is the set the caller already tried.
    pub async fn refresh(&self, seen: Option<&Arc<KeySet>>) -> Option<Arc<KeySet>> {
        let _one_at_a_time = self.refreshing.lock().await;
        let current = self.snapshot().map(|(k, _)| k);
        if let Some(now_held) = &current
            && seen.is_none_or(|s| !Arc::ptr_eq(s, now_held))
        {
            return current; // refreshed while this request waited
        }
        {
            let mut last = self.last_attempt.lock().unwrap_or_else(|e| e.into_inner());
            // With no keys at all, every request is refused anyway: try
            // again each second rather than wait out the full interval.
            let interval = if current.is_none() {
                self.min_interval.min(Duration::from_secs(1))
            } else {
                self.min_interval
            };
            if last.is_some_and(|t| t.elapsed() < interval) {
                return current;
            }
            *last = Some(Instant::now());
        }
        // Discovery and JWKS together within one bound, well inside the
        // function's timeout.
        let fetched = tokio::time::timeout(FETCH_BUDGET, self.fetch())
            .await
            .unwrap_or_else(|_| Err("timed out".to_owned()));
        match fetched {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "jwks fetched");
                let keys = Arc::new(keys);
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Cached {
                    keys: Arc::clone(&keys),
                    fetched: Instant::now(),
                });
                Some(keys)
            }
            Err(e) => {
                tracing::warn!(error = %e, kept = current.is_some(), "jwks fetch failed");
                current
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let url = match &self.source {
            JwksSource::Url(url) => url.clone(),
            JwksSource::Discovery(doc) => {
                let body = self
                    .http
                    .get(doc, MAX_JWKS_BYTES)
                    .await
                    .map_err(|e| format!("discovery: {e}"))?;
                viewer_auth::discovered_jwks_uri(&body).ok_or("discovery: no jwks_uri, or not https".to_owned())?
            }
        };
        let body = self
            .http
            .get(&url, MAX_JWKS_BYTES)
            .await
            .map_err(|e| format!("jwks: {e}"))?;
        KeySet::from_json(&body).map_err(|e| e.to_string())
    }
}

/// The shared secret, read once it can be.
pub struct SharedSecret {
    source: Arc<dyn SecretSource>,
    rules: RwLock<Option<Arc<SharedSecretRules>>>,
    loading: tokio::sync::Mutex<()>,
    movies_claim: String,
    leeway: u64,
    max_lifetime: u64,
    max_token_bytes: usize,
}

impl SharedSecret {
    async fn rules(&self) -> Result<Arc<SharedSecretRules>, Denial> {
        if let Some(rules) = self.rules.read().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(rules);
        }
        let _one_at_a_time = self.loading.lock().await;
        if let Some(rules) = self.rules.read().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(rules);
        }
        let bytes = self.source.fetch().await.map_err(|e| {
            tracing::warn!(error = %e, source = %self.source.describe(), "viewer-token secret unavailable");
            Denial::Unavailable
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let mut rules = SharedSecretRules::new(text.trim().as_bytes().to_vec()).map_err(|e| {
            tracing::error!(error = %e, source = %self.source.describe(), "viewer-token secret unusable");
            Denial::Unavailable
        })?;
        rules.movies_claim = self.movies_claim.clone();
        rules.leeway = self.leeway;
        rules.max_lifetime = self.max_lifetime;
        rules.max_token_bytes = self.max_token_bytes;
        let rules = Arc::new(rules);
        *self.rules.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&rules));
        tracing::info!("viewer-token secret loaded");
        Ok(rules)
    }
}

/// Why a request is not let through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// 401 or 403.
    Auth(AuthError),
    /// The keys or the secret cannot be had right now (503).
    Unavailable,
}

enum Gate {
    Open,
    /// shared-secret mode without a secret source: fail closed (503).
    NoSecret,
    Jwt {
        rules: JwtRules,
        jwks: JwksCache,
    },
    Shared(SharedSecret),
}

/// The gate in front of signing, from [`AuthSettings`].
pub struct Authorizer {
    mode: &'static str,
    locations: TokenLocations,
    gate: Gate,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Authorizer {
    /// `AUTH_MODE=none`: every request passes.
    pub fn open() -> Self {
        Authorizer {
            mode: "none",
            locations: TokenLocations::default(),
            gate: Gate::Open,
        }
    }

    /// The gate for `settings`. `http` fetches the JWKS (jwt mode); `secret`
    /// reads the shared secret (shared-secret mode).
    pub fn new(settings: AuthSettings, http: Arc<dyn HttpGet>, secret: Option<Arc<dyn SecretSource>>) -> Self {
        let gate = match &settings.mode {
            Mode::None => Gate::Open,
            Mode::Jwt(jwt) => {
                let mut rules = JwtRules::new(jwt.issuer.clone(), jwt.audience.clone());
                rules.algorithms = jwt.algorithms.clone();
                rules.movies_claim = settings.movies_claim.clone();
                rules.leeway = settings.leeway;
                rules.max_token_bytes = settings.max_token_bytes;
                Gate::Jwt {
                    rules,
                    jwks: JwksCache::new(
                        jwt.jwks.clone(),
                        http,
                        Duration::from_secs(jwt.jwks_cache_seconds),
                        Duration::from_secs(jwt.jwks_min_refresh_seconds),
                    ),
                }
            }
            Mode::SharedSecret { max_lifetime, .. } => match secret {
                Some(source) => Gate::Shared(SharedSecret {
                    source,
                    rules: RwLock::new(None),
                    loading: tokio::sync::Mutex::new(()),
                    movies_claim: settings.movies_claim.clone(),
                    leeway: settings.leeway,
                    max_lifetime: *max_lifetime,
                    max_token_bytes: settings.max_token_bytes,
                }),
                None => Gate::NoSecret,
            },
        };
        let mode = match settings.mode {
            Mode::None => "none",
            Mode::Jwt(_) => "jwt",
            Mode::SharedSecret { .. } => "shared-secret",
        };
        Authorizer {
            mode,
            locations: settings.locations,
            gate,
        }
    }

    /// `none`, `jwt` or `shared-secret`, for logs.
    pub fn mode_name(&self) -> &'static str {
        self.mode
    }

    /// Whether a mode other than `none` is on.
    pub fn enabled(&self) -> bool {
        !matches!(self.gate, Gate::Open)
    }

    /// Loads the keys or the secret ahead of the first request (cold start);
    /// a failure is logged and retried by the requests.
    pub async fn warm_up(&self) {
        match &self.gate {
            Gate::Open => tracing::warn!("AUTH_MODE=none: anyone may obtain a signed URL for any movie"),
            Gate::Jwt { jwks, .. } => {
                if jwks.keys().await.is_none() {
                    tracing::warn!("jwks unavailable at cold start; requests answer 503 until it loads");
                }
            }
            Gate::Shared(secret) => {
                let _ = secret.rules().await;
            }
            Gate::NoSecret => {
                tracing::error!("AUTH_MODE=shared-secret without a secret source: every request answers 503")
            }
        }
    }

    /// The viewer behind `request`, entitled to `movie` at `now`; `None` when
    /// the gate is open.
    pub async fn authorize(
        &self,
        request: &ApiGatewayV2httpRequest,
        movie: &str,
        now: u64,
    ) -> Result<Option<Viewer>, Denial> {
        if matches!(self.gate, Gate::Open) {
            return Ok(None);
        }
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        let mut cookies: Vec<&str> = request.cookies.iter().flatten().map(String::as_str).collect();
        cookies.extend(
            request
                .headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        let query = self
            .locations
            .query_param
            .as_deref()
            .and_then(|name| request.query_string_parameters.first(name));
        let parts = RequestParts {
            authorization: header("authorization"),
            viewer_token: header(VIEWER_TOKEN_HEADER),
            cookies: &cookies,
            query,
        };
        let token = self.locations.find(&parts).map_err(Denial::Auth)?;
        let viewer = match &self.gate {
            Gate::Open => return Ok(None),
            Gate::NoSecret => return Err(Denial::Unavailable),
            Gate::Jwt { rules, jwks } => {
                let keys = jwks.keys().await.ok_or(Denial::Unavailable)?;
                match rules.verify(token, &keys, now) {
                    Err(e) if e.is_unknown_key() => match jwks.refresh(Some(&keys)).await {
                        Some(fresh) if !Arc::ptr_eq(&fresh, &keys) => rules.verify(token, &fresh, now),
                        _ => Err(e),
                    },
                    other => other,
                }
            }
            Gate::Shared(secret) => secret.rules().await?.verify(token, now),
        }
        .map_err(Denial::Auth)?;
        viewer.authorize(movie).map_err(Denial::Auth)?;
        Ok(Some(viewer))
    }
}

/// The gate from the settings, with the real HTTP client and, for
/// shared-secret mode, Secrets Manager (or the file) as the secret source.
pub async fn authorizer_from_settings(settings: &AuthSettings) -> Result<Authorizer, String> {
    let http: Arc<dyn HttpGet> = Arc::new(HyperGet::new()?);
    let secret: Option<Arc<dyn SecretSource>> = match &settings.mode {
        Mode::SharedSecret { secret, .. } => Some(match secret {
            SecretLocation::SecretsManager(id) => {
                let sdk = signed_hls_aws::aws::sdk_config_from_env().await;
                Arc::new(signed_hls_aws::secret::SecretsManagerSecret::new(
                    signed_hls_aws::aws::secrets_client(&sdk),
                    id.clone(),
                    signed_hls_aws::Backoff::default(),
                ))
            }
            SecretLocation::File(path) => Arc::new(signed_hls_aws::secret::FileSecret::new(path.clone())),
        }),
        _ => None,
    };
    Ok(Authorizer::new(settings.clone(), http, secret))
}
