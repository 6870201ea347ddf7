//! The local edge: the same routes, signature checks and parameter stripping
//! as the CloudFront distribution in terraform/, in front of the function
//! processes and the media folder.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cloudfront_sign::{RESERVED_PARAMS, Verifier, strip_params};
use serde_json::{Map, Value, json};

use crate::runtime_api::Function;

/// Lambda refuses a synchronous response payload above this size.
const LAMBDA_MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// Everything the edge needs to answer a request.
pub struct Edge {
    /// The public base URL the distribution answers on (what policies name).
    pub public_base: String,
    /// The trusted key group.
    pub verifier: Verifier,
    /// The signurl function (`/content/media/signurl`).
    pub signurl: Function,
    /// The rewriter function (`*.m3u8`).
    pub rewriter: Function,
    /// The media store: S3 keys are paths below this folder.
    pub media_root: PathBuf,
    /// hls.js for the demo page, if installed.
    pub hls_js: Option<PathBuf>,
    /// Further local files served at fixed paths (`--static PATH=FILE`):
    /// the test harness pages and their player scripts, never from a CDN.
    pub static_files: Vec<(String, PathBuf)>,
    /// Where to append one JSON line per request, if anywhere.
    pub access_log: Option<std::sync::Mutex<std::fs::File>>,
    /// `/local/auth.json` for the demo page: `{"mode": "none"}` or, with
    /// `--auth jwt`, the local issuer's `token_url`.
    pub auth_info: String,
}

const INDEX_HTML: &str = include_str!("../web/index.html");
/// The credential refresh shared by the demo page and the test harness pages.
const REFRESH_JS: &str = include_str!("../web/refresh.js");

/// The one handler: routes like the distribution's cache behaviours.
pub async fn handle(
    State(edge): State<Arc<Edge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let started = Instant::now();
    // Only the head matters (GET/HEAD); `Parts` can be held across awaits.
    let (request, _body) = request.into_parts();
    let method = request.method.clone();
    let path = request.uri.path().to_owned();
    let query = request.uri.query().unwrap_or("").to_owned();
    let (route, mut response) = if method == Method::OPTIONS {
        ("preflight", StatusCode::NO_CONTENT.into_response())
    } else if method != Method::GET && method != Method::HEAD {
        (
            "refused",
            text(StatusCode::METHOD_NOT_ALLOWED, "only GET, HEAD and OPTIONS"),
        )
    } else if path == "/" || path == "/index.html" {
        ("page", page(INDEX_HTML.as_bytes().to_vec(), "text/html; charset=utf-8"))
    } else if path == "/local/auth.json" {
        ("page", page(edge.auth_info.clone().into_bytes(), "application/json"))
    } else if path == "/vendor/hls.min.js" {
        ("page", hls_js(&edge).await)
    } else if path == "/refresh.js" {
        (
            "page",
            page(REFRESH_JS.as_bytes().to_vec(), "text/javascript; charset=utf-8"),
        )
    } else if let Some((_, file)) = edge.static_files.iter().find(|(served, _)| *served == path) {
        ("page", static_file(file).await)
    } else if path == "/content/media/signurl" {
        ("signurl", invoke(&edge.signurl, &request, peer, &query).await)
    } else {
        let route = if path.ends_with(".m3u8") { "rewriter" } else { "media" };
        let response = match refusal(&edge, &path, &query, peer) {
            Some(denied) => denied,
            None => {
                if route == "rewriter" {
                    invoke(&edge.rewriter, &request, peer, &origin_query(&query)).await
                } else {
                    media(&edge.media_root, &path, &request.headers, method == Method::HEAD).await
                }
            }
        };
        (route, response)
    };
    cors(response.headers_mut());
    log(&edge, &method, &path, &query, route, &response, started);
    response
}

/// The query the origin sees: CloudFront removes its own parameters and
/// forwards every other one (the `-PREFIX` copies, `_HLS_msn`, `_HLS_part`,
/// `_HLS_skip`), in order.
fn origin_query(query: &str) -> String {
    let forwarded = strip_params(&format!("?{query}"), &RESERVED_PARAMS);
    forwarded.trim_start_matches('?').to_owned()
}

/// The low-latency delivery directives of a query (`_HLS_*`), for the access
/// log: names and values of those parameters only, never a credential.
fn delivery_directives(query: &str) -> Map<String, Value> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .filter(|(name, _)| name.starts_with("_HLS_"))
        .map(|(name, value)| {
            let decoded = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
            (name.to_owned(), Value::String(decoded.into_owned()))
        })
        .collect()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The signed-URL check of a protected behaviour (trusted key group): the
/// 403 to answer, or `None` when the request may reach the origin.
fn refusal(edge: &Edge, path: &str, query: &str, peer: SocketAddr) -> Option<Response> {
    let url = if query.is_empty() {
        format!("{}{path}", edge.public_base)
    } else {
        format!("{}{path}?{query}", edge.public_base)
    };
    let denied = edge.verifier.verify_url(&url, "", now(), Some(peer.ip())).err()?;
    let mut response = text(StatusCode::FORBIDDEN, &format!("access denied: {denied}"));
    if let Ok(code) = HeaderValue::from_str(denied.code()) {
        response.headers_mut().insert("x-edge-denied", code);
    }
    Some(response)
}

/// Calls a function with the payload a Lambda function URL sends (format 2.0).
pub async fn invoke(function: &Function, request: &Parts, peer: SocketAddr, query: &str) -> Response {
    let mut headers = Map::new();
    for (name, value) in &request.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| *v = Value::String(format!("{},{value}", v.as_str().unwrap_or(""))))
            .or_insert(Value::String(value));
    }
    // The origin request policy forwards the viewer's address; the source IP is CloudFront's.
    headers.insert("cloudfront-viewer-address".into(), Value::String(peer.to_string()));
    let mut parameters = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        parameters.insert(decode(name), Value::String(decode(value)));
    }
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let path = request.uri.path();
    let event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "queryStringParameters": if parameters.is_empty() { Value::Null } else { Value::Object(parameters) },
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "local",
            "http": {
                "method": request.method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": request.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or(""),
            },
            "requestId": format!("edge-{millis}"),
            "routeKey": "$default",
            "stage": "$default",
            "time": "",
            "timeEpoch": millis,
        },
        "isBase64Encoded": false,
    });
    match function.invoke(event).await {
        Ok(payload) => from_lambda(payload),
        Err(reason) => text(StatusCode::BAD_GATEWAY, &format!("origin error: {reason}")),
    }
}

/// A function URL response payload turned into HTTP, with Lambda's size limit.
fn from_lambda(payload: Value) -> Response {
    let size = payload.to_string().len();
    if size > LAMBDA_MAX_RESPONSE_BYTES {
        return text(
            StatusCode::BAD_GATEWAY,
            &format!("origin error: Lambda response of {size} bytes exceeds the 6 MB limit"),
        );
    }
    let status = payload
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::OK);
    let body = payload.get("body").and_then(Value::as_str).unwrap_or("");
    let body = if payload.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        match STANDARD.decode(body) {
            Ok(bytes) => bytes,
            Err(_) => return text(StatusCode::BAD_GATEWAY, "origin error: body is not base64"),
        }
    } else {
        body.as_bytes().to_vec()
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    if let Some(map) = payload.get("headers").and_then(Value::as_object) {
        for (name, value) in map {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::from_bytes(name.as_bytes()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                headers.insert(name, value);
            }
        }
    }
    if let Some(cookies) = payload.get("cookies").and_then(Value::as_array) {
        for cookie in cookies.iter().filter_map(Value::as_str) {
            if let Ok(value) = HeaderValue::from_str(cookie) {
                headers.append(header::SET_COOKIE, value);
            }
        }
    }
    response
}

/// The S3 origin: the object at the path, with byte ranges as S3 serves them.
async fn media(root: &Path, path: &str, headers: &HeaderMap, head: bool) -> Response {
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned();
    let relative = Path::new(decoded.trim_start_matches('/'));
    if relative.components().any(|c| !matches!(c, Component::Normal(_))) {
        return text(StatusCode::BAD_REQUEST, "bad path");
    }
    let Ok(bytes) = tokio::fs::read(root.join(relative)).await else {
        return text(StatusCode::NOT_FOUND, "no such object");
    };
    let total = bytes.len();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| byte_range(r, total));
    let (status, slice) = match range {
        Some(Some((start, end))) => (StatusCode::PARTIAL_CONTENT, bytes[start..=end].to_vec()),
        Some(None) => {
            let mut response = text(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable");
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{total}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return response;
        }
        None => (StatusCode::OK, bytes),
    };
    let length = slice.len();
    let mut response = if head {
        (status, Body::empty()).into_response()
    } else {
        (status, slice).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(value) = HeaderValue::from_str(&length.to_string()) {
        headers.insert(header::CONTENT_LENGTH, value);
    }
    if let Some(Some((start, end))) = range
        && let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{end}/{total}"))
    {
        headers.insert(header::CONTENT_RANGE, value);
    }
    response
}

/// `Some(Some((first, last)))` for a satisfiable single range, `Some(None)`
/// for an unsatisfiable one, `None` when there is no usable Range header.
fn byte_range(header: &str, total: usize) -> Option<Option<(usize, usize)>> {
    let spec = header.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None; // multipart ranges: serve the whole object, as S3 does
    }
    let (start, end) = spec.split_once('-')?;
    let range = match (start.parse::<usize>().ok(), end.parse::<usize>().ok()) {
        (Some(start), Some(end)) if start <= end && start < total => Some((start, end.min(total - 1))),
        (Some(start), None) if end.is_empty() && start < total => Some((start, total - 1)),
        (None, Some(suffix)) if start.is_empty() && suffix > 0 && total > 0 => {
            Some((total.saturating_sub(suffix), total - 1))
        }
        _ => None,
    };
    Some(range)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "m3u8" => "application/vnd.apple.mpegurl",
        "ts" => "video/mp2t",
        "mp4" | "m4s" | "m4v" => "video/mp4",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "vtt" | "webvtt" => "text/vtt",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

async fn static_file(file: &Path) -> Response {
    match tokio::fs::read(file).await {
        Ok(bytes) => page(bytes, static_content_type(file)),
        Err(e) => text(StatusCode::NOT_FOUND, &format!("{}: {e}", file.display())),
    }
}

fn static_content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

async fn hls_js(edge: &Edge) -> Response {
    let file = match &edge.hls_js {
        Some(path) => tokio::fs::read(path).await.ok(),
        None => None,
    };
    match file {
        Some(bytes) => page(bytes, "text/javascript; charset=utf-8"),
        None => text(
            StatusCode::NOT_FOUND,
            "hls.js is not installed: run make demo (it installs it with npm)",
        ),
    }
}

fn page(bytes: Vec<u8>, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response()
}

fn text(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

/// The response headers policy: CORS for any origin locally.
fn cors(headers: &mut HeaderMap) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Range, Authorization, X-Viewer-Token"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Content-Length, Content-Range"),
    );
}

fn log(edge: &Edge, method: &Method, path: &str, query: &str, route: &str, response: &Response, started: Instant) {
    let Some(file) = &edge.access_log else { return };
    let elapsed = started.elapsed();
    let header = |name: HeaderName| response.headers().get(name).and_then(|v| v.to_str().ok());
    // Epoch milliseconds of the arrival: tests line a blocking reload up
    // with the moment its part was published.
    let arrived_ms = SystemTime::now()
        .checked_sub(elapsed)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64);
    let line = json!({
        "time": now(),
        "arrived_ms": arrived_ms,
        "method": method.as_str(),
        "path": path,
        "hls": delivery_directives(query),
        "route": route,
        "status": response.status().as_u16(),
        "denied": header(HeaderName::from_static("x-edge-denied")),
        "cache_control": header(header::CACHE_CONTROL),
        "retry_after": header(header::RETRY_AFTER),
        "ms": elapsed.as_secs_f64() * 1000.0,
    });
    if let Ok(mut file) = file.lock() {
        let _ = writeln!(file, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::{byte_range, delivery_directives, origin_query};
    use serde_json::json;

    #[test]
    fn the_origin_gets_every_parameter_but_cloudfronts_own() {
        let query = "_HLS_msn=12&Policy=p&Signature=s&Key-Pair-Id=K&Policy-PREFIX=pp&Signature-PREFIX=sp\
                     &Key-Pair-Id-PREFIX=K&_HLS_part=3&Expires=9&Hash-Algorithm=SHA256&_HLS_skip=YES";
        assert_eq!(
            origin_query(query),
            "_HLS_msn=12&Policy-PREFIX=pp&Signature-PREFIX=sp&Key-Pair-Id-PREFIX=K&_HLS_part=3&_HLS_skip=YES"
        );
        assert_eq!(origin_query(""), "");
    }

    #[test]
    fn the_access_log_names_delivery_directives_and_no_credential() {
        let query = "Policy=p&Signature=s&Key-Pair-Id=K&Policy-PREFIX=pp&_HLS_msn=12&_HLS_part=3&_HLS_skip=v2";
        let logged = serde_json::Value::Object(delivery_directives(query));
        assert_eq!(logged, json!({"_HLS_msn": "12", "_HLS_part": "3", "_HLS_skip": "v2"}));
        assert_eq!(delivery_directives("Policy=p&Signature=s").len(), 0);
    }

    #[test]
    fn byte_ranges_follow_rfc_9110() {
        assert_eq!(byte_range("bytes=0-9", 100), Some(Some((0, 9))));
        assert_eq!(byte_range("bytes=90-200", 100), Some(Some((90, 99))));
        assert_eq!(byte_range("bytes=10-", 100), Some(Some((10, 99))));
        assert_eq!(byte_range("bytes=-10", 100), Some(Some((90, 99))));
        assert_eq!(byte_range("bytes=100-", 100), Some(None));
        assert_eq!(byte_range("bytes=5-1", 100), Some(None));
        assert_eq!(byte_range("bytes=0-1,5-6", 100), None);
        assert_eq!(byte_range("items=0-1", 100), None);
    }
}
