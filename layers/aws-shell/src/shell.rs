//! The HTTP shell both functions share: the preflight, the method gate,
//! CORS and `Vary`, the JSON error answer and the one request log line.
//!
//! A function writes only its domain logic, a `respond` that returns an
//! [`Answer`] or an error implementing [`ErrorAnswer`]; [`serve`] does the
//! rest, identically for both.
//!
//! The events stay `aws_lambda_events`' payload-format-2.0 types (function
//! URLs and HTTP APIs share them) rather than `lambda_http`'s
//! `http::Request`/`http::Response`: the rewriter must know the exact size of
//! the JSON it hands the runtime (Lambda's 6 MB limit counts the base64 of a
//! compressed body), and with `lambda_http` the conversion to that JSON, and
//! its choice to base64 a body, happen after the handler has returned, in code
//! that cannot refuse an answer that is too large.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use lambda_runtime::LambdaEvent;

use crate::config::{BaseUrl, CommonConfig, ConfigError, Cors, Env, LogSettings};
use crate::key::{KeyCache, KeyError};
use crate::store::ObjectStore;

/// The crates that may log below INFO: ours, which log counts, names and
/// codes only. Everything else (the Lambda runtime, which logs every raw
/// event at TRACE; the AWS SDK, which logs responses, a secret's included;
/// hyper, rustls) is held at INFO whatever the operator sets, so that no
/// log level can expose a token, a cookie, a signature or a key.
pub const VERBOSE_TARGETS: &[&str] = &[
    "signed_hls_aws",
    "signurl",
    "rewriter",
    "playlist_rewrite",
    "cloudfront_sign",
    "viewer_auth",
];

/// Starts logging as Lambda asks (`AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`,
/// `AWS_LAMBDA_LOG_FORMAT`), with [`VERBOSE_TARGETS`] the only ones allowed
/// below INFO; the first thing `main` does. An invalid level still starts
/// logging (at INFO, so that the error can be read) and is returned.
pub fn start_logging(env: &Env) -> Result<(), ConfigError> {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let settings = crate::config::log_settings(env);
    let LogSettings { level, json } = settings.as_ref().copied().unwrap_or_default();
    let filter = Targets::new()
        .with_default(level.min(tracing::level_filters::LevelFilter::INFO))
        .with_targets(VERBOSE_TARGETS.iter().map(|t| (*t, level)));
    let format = tracing_subscriber::fmt::layer().with_target(false).without_time();
    // A second call (tests) keeps the first subscriber.
    let _ = if json {
        tracing_subscriber::registry()
            .with(format.json())
            .with(filter)
            .try_init()
    } else {
        tracing_subscriber::registry().with(format).with(filter).try_init()
    };
    settings.map(|_| ())
}

/// Unwraps a cold-start result, or logs the error (and prints it to stderr,
/// in case logging could not start) and exits with status 1
/// (Lambda then reports an init failure with this message). The error names
/// the variable or the source, never a secret value.
pub fn or_exit<T, E: fmt::Display>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, "cold start failed ({what})");
            eprintln!("cold start failed ({what}): {e}");
            std::process::exit(1)
        }
    }
}

/// Why a cold start failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The signing key cannot be used.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// What both functions build once per cold start.
pub struct Started {
    /// The signing key (loaded now, or on the first request that finds
    /// Secrets Manager back), refreshed every `KEY_REFRESH_SECONDS`.
    pub key: KeyCache,
    /// The public base URL: `CF_URL`, else the secret's `cf_url`.
    pub base_url: BaseUrl,
    /// The object store (S3, or `LOCAL_MEDIA_DIR`) when `bucket` was given.
    pub store: Option<Arc<dyn ObjectStore>>,
}

/// The cold start both functions share, in order: the key's source and the
/// store from `config`, the key, then the base URL (which the secret may
/// name). `bucket` is `None` for a function that reads no objects.
pub async fn start(config: &CommonConfig, bucket: Option<&str>) -> Result<Started, StartError> {
    let (source, store) = crate::aws::io_from_config(config, bucket).await;
    let key = KeyCache::load_lazy_from(source, config).await?;
    let secret_cf_url = key.snapshot().and_then(|k| k.secret_cf_url.clone());
    let base_url = config.base_url(secret_cf_url.as_deref())?;
    Ok(Started { key, base_url, store })
}

/// The methods both functions answer.
pub const ALLOWED_METHODS: &str = "GET, HEAD, OPTIONS";

/// An error a function answers with: a status, a stable `error_type`, and
/// any header the status needs (`WWW-Authenticate`, `Allow`). The message
/// (its `Display`) is the short reason sent to the viewer: never key
/// material, a token or a signature.
pub trait ErrorAnswer: fmt::Display {
    /// The HTTP status.
    fn status(&self) -> u16;
    /// A stable, machine-readable name.
    fn error_type(&self) -> &'static str;
    /// Headers that go with this error (none by default).
    fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        Vec::new()
    }
}

/// The errors both functions share, mapped to statuses here only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommonError {
    /// Not GET, HEAD or OPTIONS.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The playlist does not exist.
    #[error("playlist not found")]
    NotFound,
    /// S3 could not be reached after retries.
    #[error("storage unavailable")]
    StorageUnavailable,
    /// The signing key could not be loaded (Secrets Manager unavailable).
    #[error("signing key unavailable")]
    KeyUnavailable,
}

impl ErrorAnswer for CommonError {
    fn status(&self) -> u16 {
        match self {
            CommonError::MethodNotAllowed => 405,
            CommonError::NotFound => 404,
            CommonError::StorageUnavailable | CommonError::KeyUnavailable => 503,
        }
    }

    fn error_type(&self) -> &'static str {
        match self {
            CommonError::MethodNotAllowed => "method_not_allowed",
            CommonError::NotFound => "not_found",
            CommonError::StorageUnavailable => "storage_unavailable",
            CommonError::KeyUnavailable => "key_unavailable",
        }
    }

    fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        match self {
            CommonError::MethodNotAllowed => vec![(header::ALLOW, HeaderValue::from_static(ALLOWED_METHODS))],
            _ => Vec::new(),
        }
    }
}

/// What a request did, for the one log line the shell writes per request.
/// Fields a function does not use stay at their zero value. Nothing here may
/// hold a token, a signature or key material: only counts, names and codes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestLog {
    /// The movie id (signurl).
    pub movie: String,
    /// How URIs were signed: `directory-policy`, `resign`, `per-uri`, `reuse`.
    pub strategy: &'static str,
    /// `none`, `jwt` or `shared-secret` (signurl).
    pub auth_mode: &'static str,
    /// URIs (or URLs) that got a credential.
    pub uris_signed: usize,
    /// URIs left as they were.
    pub uris_untouched: usize,
    /// Signatures computed by this request.
    pub signatures_computed: usize,
    /// Signatures found in the warm cache instead.
    pub signatures_reused: usize,
    /// Bytes of the object the answer was made from (read from the store,
    /// or held in memory: see `body_source`).
    pub bytes_in: usize,
    /// Bytes of the body sent (after compression).
    pub bytes_out: usize,
    /// Whether the body went out gzip-compressed.
    pub gzip: bool,
    /// How the object was had: [`BODY_CACHE`], [`BODY_REVALIDATED`] or
    /// [`BODY_FETCHED`]; empty when none was read.
    pub body_source: &'static str,
    /// Requests made to the object store (S3) by this request.
    pub s3_requests: usize,
    /// Time spent having the object (from memory, S3, or both).
    pub read: Duration,
    /// Time spent verifying the credential (the key's lookup included).
    pub verify: Duration,
    /// Time spent rewriting the playlist (signatures included).
    pub rewrite: Duration,
    /// Time spent encoding the answer (measuring it, or compressing it).
    pub encode: Duration,
    /// The rewriter's answer cache: `hit`, `miss` or `off`; empty when not reached.
    pub answer_cache: &'static str,
    /// The rewriter's verification memo: `hit` (the signature check skipped,
    /// every other check made), `miss` or `off`; empty when not reached.
    pub verify_memo: &'static str,
    /// Time a blocking playlist reload (`_HLS_msn`) waited for the segment
    /// or part it asked for (included in `read`).
    pub blocked: Duration,
    /// `_HLS_msn` of a blocking reload (not logged when not asked).
    pub hls_msn: Option<u64>,
    /// `_HLS_part` of a blocking reload (not logged when not asked).
    pub hls_part: Option<u64>,
}

/// [`RequestLog::body_source`]: served from the in-memory copy, no S3 request.
pub const BODY_CACHE: &str = "cache";
/// [`RequestLog::body_source`]: the in-memory copy, after S3 answered a
/// conditional read with 304 (no body sent).
pub const BODY_REVALIDATED: &str = "revalidated";
/// [`RequestLog::body_source`]: the whole object read from S3.
pub const BODY_FETCHED: &str = "fetched";

/// Milliseconds with microsecond precision, for the log line.
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// A successful answer before the shell adds CORS, `Vary` and the HEAD rule.
#[derive(Debug, Default)]
pub struct Answer {
    /// The response (status, headers, body).
    pub response: ApiGatewayV2httpResponse,
    /// Whether its body depends on `Accept-Encoding` (adds it to `Vary`).
    pub varies_by_encoding: bool,
    /// The `error_type` of an error answer, for the log line.
    pub error_type: Option<&'static str>,
}

impl Answer {
    /// An answer with `status`, `content_type` and `body`.
    pub fn new(status: u16, content_type: &'static str, body: Body) -> Self {
        let mut response = empty(status);
        response
            .headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response.body = match body {
            Body::Empty => None,
            other => Some(other),
        };
        Answer {
            response,
            ..Answer::default()
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.response.headers.insert(name, value);
        self
    }
}

/// How one function answers preflights and logs.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// Request headers a browser may send cross-origin (the preflight's
    /// `Access-Control-Allow-Headers`); empty for none.
    pub allow_headers: &'static str,
}

/// Serves one event: OPTIONS is answered here (204), other methods but GET
/// and HEAD get 405; `respond` produces the answer or its error; CORS,
/// `Vary` and the HEAD rule (no body) are applied to every answer; one log
/// line is written. Never fails: every outcome is an HTTP answer.
pub async fn serve<E, F>(
    event: &LambdaEvent<ApiGatewayV2httpRequest>,
    endpoint: Endpoint,
    cors: &Cors,
    respond: F,
) -> ApiGatewayV2httpResponse
where
    E: ErrorAnswer,
    F: AsyncFnOnce(&mut RequestLog) -> Result<Answer, E>,
{
    let started = Instant::now();
    let request = &event.payload;
    let method = &request.request_context.http.method;
    let mut log = RequestLog::default();
    let mut answer = if method == Method::OPTIONS {
        preflight(endpoint)
    } else if method != Method::GET && method != Method::HEAD {
        error_response(&CommonError::MethodNotAllowed)
    } else {
        respond(&mut log).await.unwrap_or_else(|e| error_response(&e))
    };
    finish(&mut answer, request, cors);
    log_request(event, &answer, &log, started);
    answer.response
}

fn finish(answer: &mut Answer, request: &ApiGatewayV2httpRequest, cors: &Cors) {
    let origin = request.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let headers = &mut answer.response.headers;
    if let Some(value) = cors.allow_origin(origin).and_then(|a| HeaderValue::from_str(&a).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    let mut vary = Vec::new();
    if cors.is_configured() {
        vary.push("Origin");
    }
    if answer.varies_by_encoding {
        vary.push("Accept-Encoding");
    }
    if !vary.is_empty()
        && let Ok(v) = HeaderValue::from_str(&vary.join(", "))
    {
        headers.insert(header::VARY, v);
    }
    if request.request_context.http.method == Method::HEAD {
        answer.response.body = None;
    }
}

fn preflight(endpoint: Endpoint) -> Answer {
    let mut response = empty(204);
    let headers = &mut response.headers;
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    if !endpoint.allow_headers.is_empty() {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(endpoint.allow_headers),
        );
    }
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    Answer {
        response,
        ..Answer::default()
    }
}

/// The JSON error answer: `{"error": reason, "error_type": name}`, never cached.
pub fn error_response(e: &dyn ErrorAnswer) -> Answer {
    let body = serde_json::json!({"error": e.to_string(), "error_type": e.error_type()}).to_string();
    let mut answer = Answer::new(e.status(), "application/json", Body::Text(body));
    let headers: &mut HeaderMap = &mut answer.response.headers;
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in e.headers() {
        headers.insert(name, value);
    }
    answer.error_type = Some(e.error_type());
    answer
}

fn empty(status: u16) -> ApiGatewayV2httpResponse {
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = i64::from(status);
    r
}

/// The request path: API Gateway's `{proxy+}` parameter when present, else
/// `rawPath` (function URLs have no path parameters).
pub fn request_path(request: &ApiGatewayV2httpRequest) -> String {
    match request.path_parameters.get("proxy") {
        Some(proxy) => format!("/{}", proxy.trim_start_matches('/')),
        None => request
            .raw_path
            .clone()
            .or_else(|| request.request_context.http.path.clone())
            .unwrap_or_default(),
    }
}

/// At most `max` bytes of `s`, cut on a character boundary.
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

/// The bytes a body carries (before any base64 of the payload).
pub fn body_len(body: &Body) -> usize {
    match body {
        Body::Text(t) => t.len(),
        Body::Binary(b) => b.len(),
        _ => 0,
    }
}

fn log_request(event: &LambdaEvent<ApiGatewayV2httpRequest>, answer: &Answer, log: &RequestLog, started: Instant) {
    let path = request_path(&event.payload);
    tracing::info!(
        request_id = %event.context.request_id,
        method = %event.payload.request_context.http.method,
        path = %truncate(&path, 200),
        status = answer.response.status_code,
        duration_ms = ms(started.elapsed()),
        movie = %log.movie,
        strategy = log.strategy,
        auth_mode = log.auth_mode,
        uris_signed = log.uris_signed,
        uris_untouched = log.uris_untouched,
        signatures_computed = log.signatures_computed,
        signatures_reused = log.signatures_reused,
        bytes_in = log.bytes_in,
        bytes_out = log.bytes_out.max(answer.response.body.as_ref().map_or(0, body_len)),
        gzip = log.gzip,
        body_source = log.body_source,
        s3_requests = log.s3_requests,
        read_ms = ms(log.read),
        verify_ms = ms(log.verify),
        rewrite_ms = ms(log.rewrite),
        encode_ms = ms(log.encode),
        answer_cache = log.answer_cache,
        verify_memo = log.verify_memo,
        blocked_ms = ms(log.blocked),
        hls_msn = log.hls_msn,
        hls_part = log.hls_part,
        error_type = answer.error_type.unwrap_or(""),
        // The failed check, for a refused credential (403).
        denied = if answer.response.status_code == 403 { answer.error_type.unwrap_or("") } else { "" },
        "request"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("no such thing: {0}")]
    struct Missing(&'static str);

    impl ErrorAnswer for Missing {
        fn status(&self) -> u16 {
            404
        }
        fn error_type(&self) -> &'static str {
            "missing"
        }
        fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
            vec![(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))]
        }
    }

    fn event(method: &str, origin: Option<&str>) -> LambdaEvent<ApiGatewayV2httpRequest> {
        let headers = match origin {
            Some(o) => serde_json::json!({"origin": o}),
            None => serde_json::json!({}),
        };
        let payload = serde_json::json!({
            "version": "2.0", "rawPath": "/x", "rawQueryString": "", "headers": headers,
            "requestContext": {"http": {"method": method, "path": "/x"}, "requestId": "r"},
            "isBase64Encoded": false
        });
        LambdaEvent::new(
            serde_json::from_value(payload).unwrap(),
            lambda_runtime::Context::default(),
        )
    }

    fn header<'a>(r: &'a ApiGatewayV2httpResponse, name: &str) -> Option<&'a str> {
        r.headers.get(name).and_then(|v| v.to_str().ok())
    }

    async fn ok(log: &mut RequestLog) -> Result<Answer, Missing> {
        log.uris_signed = 1;
        let mut answer = Answer::new(200, "text/plain", Body::Text("hello".into()));
        answer.varies_by_encoding = true;
        Ok(answer)
    }

    const SIGNURL_LIKE: Endpoint = Endpoint {
        allow_headers: "authorization, x-viewer-token",
    };

    #[tokio::test]
    async fn preflight_method_gate_cors_vary_and_head() {
        let cors = Cors::new(vec!["https://a.example".into()]).unwrap();
        let r = serve(&event("OPTIONS", Some("https://a.example")), SIGNURL_LIKE, &cors, ok).await;
        assert_eq!(r.status_code, 204);
        assert_eq!(header(&r, "access-control-allow-methods"), Some(ALLOWED_METHODS));
        assert_eq!(
            header(&r, "access-control-allow-headers"),
            Some("authorization, x-viewer-token")
        );
        assert_eq!(header(&r, "access-control-allow-origin"), Some("https://a.example"));
        let no_headers = Endpoint { allow_headers: "" };
        let r = serve(&event("OPTIONS", None), no_headers, &cors, ok).await;
        assert_eq!(header(&r, "access-control-allow-headers"), None);

        let r = serve(&event("DELETE", None), SIGNURL_LIKE, &cors, ok).await;
        assert_eq!((r.status_code, header(&r, "allow")), (405, Some(ALLOWED_METHODS)));
        assert_eq!(header(&r, "cache-control"), Some("no-store"));

        let r = serve(&event("GET", Some("https://b.example")), SIGNURL_LIKE, &cors, ok).await;
        assert_eq!(r.status_code, 200);
        assert_eq!(header(&r, "access-control-allow-origin"), None);
        assert_eq!(header(&r, "vary"), Some("Origin, Accept-Encoding"));
        let r = serve(&event("HEAD", None), SIGNURL_LIKE, &Cors::default(), ok).await;
        assert_eq!((r.status_code, r.body.is_none()), (200, true));
        assert_eq!(header(&r, "vary"), Some("Accept-Encoding"));
    }

    #[tokio::test]
    async fn errors_are_json_with_their_headers() {
        let r = serve(
            &event("GET", None),
            SIGNURL_LIKE,
            &Cors::default(),
            async |_: &mut RequestLog| Err::<Answer, _>(Missing("movie")),
        )
        .await;
        assert_eq!(r.status_code, 404);
        assert_eq!(header(&r, "content-type"), Some("application/json"));
        assert_eq!(header(&r, "www-authenticate"), Some("Bearer"));
        assert_eq!(header(&r, "vary"), None);
        let Some(Body::Text(body)) = &r.body else {
            panic!("a JSON body")
        };
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": "no such thing: movie", "error_type": "missing"})
        );
    }
}
