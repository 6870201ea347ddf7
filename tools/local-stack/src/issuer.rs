//! `--auth jwt`: a local OpenID Connect issuer for the demo and the tests.
//!
//! DEVELOPMENT ONLY. At start it makes a fresh P-256 key (32 bytes from the
//! OS), serves its discovery document and JWKS on a loopback port of its own
//! (up before the functions start, so their cold-start JWKS fetch succeeds),
//! and mints ES256 tokens on request — for anyone who asks, which is what a
//! demo "sign in" button needs and what a real issuer must never do.
//!
//! - `GET /.well-known/openid-configuration` → `{"issuer", "jwks_uri"}`
//! - `GET /jwks.json`
//! - `GET /token?sub=alice&movies=1,2&lifetime=3600` → `{"token", "expires"}`

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};

/// The `aud` of the tokens and the functions' `JWT_AUDIENCE`.
pub const AUDIENCE: &str = "signed-hls-local";

/// A local issuer: its key, key id and URL.
pub struct Issuer {
    key: SigningKey,
    kid: String,
    url: String,
}

impl Issuer {
    /// An issuer at `url` with a fresh key.
    pub fn generate(url: String) -> Result<Self, String> {
        use std::io::Read as _;
        let mut random = std::fs::File::open("/dev/urandom").map_err(|e| format!("/dev/urandom: {e}"))?;
        for _ in 0..8 {
            let mut bytes = [0u8; 32];
            random
                .read_exact(&mut bytes)
                .map_err(|e| format!("/dev/urandom: {e}"))?;
            if let Ok(key) = SigningKey::from_slice(&bytes) {
                let point = key.verifying_key().to_sec1_point(false);
                let kid = format!("local-{}", URL_SAFE_NO_PAD.encode(&point.as_bytes()[1..7]));
                return Ok(Issuer { key, kid, url });
            }
        }
        Err("could not make a P-256 key".to_owned())
    }

    /// The issuer URL (`iss`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks.json", self.url)
    }

    fn jwks(&self) -> Value {
        let point = self.key.verifying_key().to_sec1_point(false);
        let bytes = point.as_bytes();
        json!({"keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&bytes[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&bytes[33..65]),
        }]})
    }

    /// An ES256 token for `sub`, entitled to `movies`, valid `lifetime` seconds.
    pub fn mint(&self, sub: &str, movies: &[&str], lifetime: u64) -> (String, u64) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let exp = now + lifetime;
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let claims = json!({"iss": self.url, "aud": AUDIENCE, "sub": sub, "movies": movies, "iat": now, "exp": exp});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature: Signature = self.key.sign(input.as_bytes());
        (format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes())), exp)
    }
}

/// Serves the issuer on `listener` until the process ends.
pub fn spawn(issuer: Arc<Issuer>, listener: tokio::net::TcpListener) {
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks.json", get(jwks))
        .route("/token", get(token))
        .with_state(issuer);
    tokio::spawn(async move { axum::serve(listener, app).await });
}

fn json_response(value: Value) -> Response {
    let mut response = value.to_string().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn discovery(State(issuer): State<Arc<Issuer>>) -> Response {
    json_response(json!({"issuer": issuer.url, "jwks_uri": issuer.jwks_url()}))
}

async fn jwks(State(issuer): State<Arc<Issuer>>) -> Response {
    json_response(issuer.jwks())
}

async fn token(State(issuer): State<Arc<Issuer>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let sub = query.get("sub").map_or("viewer", String::as_str);
    let movies: Vec<&str> = query
        .get("movies")
        .map(|m| m.split([',', ' ']).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let lifetime = query
        .get("lifetime")
        .and_then(|l| l.parse().ok())
        .unwrap_or(3600u64)
        .clamp(1, 86_400);
    let (token, expires) = issuer.mint(sub, &movies, lifetime);
    json_response(json!({"token": token, "expires": expires}))
}
