//! Who may watch, through the handler: tokens minted by PyJWT
//! (layers/viewer-auth/tests/fixtures, tests/auth/generate_tokens.py), the JWKS
//! served by a fake HTTP client that can rotate it, the shared secret in
//! Secrets Manager (moto).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use signed_hls_aws::aws::{sdk_config_for_endpoint, secrets_client};
use signed_hls_aws::secret::SecretsManagerSecret;
use signed_hls_aws::testing::{MotoServer, PEM, event, header, json_body, secret_file, started, unique};
use signed_hls_aws::{Backoff, Env, SecretSource, SignurlConfig};
use signurl::auth::{Authorizer, HttpGet};
use signurl::{Deps, handler};

const TOKENS: &str = include_str!("../../../layers/viewer-auth/tests/fixtures/tokens.json");
const JWKS: &str = include_str!("../../../layers/viewer-auth/tests/fixtures/jwks.json");
const ROTATED: &str = include_str!("../../../layers/viewer-auth/tests/fixtures/jwks-rotated.json");
const CF: &str = signed_hls_aws::testing::CF;
const JWKS_URL: &str = "https://issuer.test.invalid/.well-known/jwks.json";

fn fixtures() -> Value {
    serde_json::from_str(TOKENS).unwrap()
}

fn now() -> u64 {
    fixtures()["now"].as_u64().unwrap()
}

fn token(name: &str) -> String {
    fixtures()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Serves one JWKS (switchable), or fails; counts fetches.
#[derive(Default)]
struct FakeIssuer {
    body: Mutex<Option<&'static str>>,
    fetches: AtomicUsize,
}

#[async_trait]
impl HttpGet for FakeIssuer {
    async fn get(&self, url: &str, _max: usize) -> Result<Vec<u8>, String> {
        assert_eq!(url, JWKS_URL);
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.body
            .lock()
            .unwrap()
            .map(|b| b.as_bytes().to_vec())
            .ok_or_else(|| "connection refused".to_owned())
    }
}

fn moto() -> &'static MotoServer {
    MotoServer::shared(env!("CARGO_MANIFEST_DIR"))
}

async fn secret(value: Option<&str>) -> Arc<SecretsManagerSecret> {
    let sdk = sdk_config_for_endpoint(&moto().endpoint).await;
    let client = secrets_client(&sdk);
    let name = format!("signurl-auth-{}-{}", std::process::id(), unique());
    if let Some(value) = value {
        client
            .create_secret()
            .name(&name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }
    let fast = Backoff {
        attempts: 2,
        initial: std::time::Duration::from_millis(5),
        max: std::time::Duration::from_millis(10),
    };
    Arc::new(SecretsManagerSecret::new(client, name, fast))
}

async fn deps(pairs: &[(&str, &str)], http: Arc<FakeIssuer>, auth_secret: Option<Arc<dyn SecretSource>>) -> Deps {
    let mut env: Vec<(&str, &str)> = vec![
        ("SM_SECRET_NAME", "ignored"),
        ("CF_URL", CF),
        ("CF_KEY_ID", "K2JCJMDEHXQW5F"),
    ];
    env.extend_from_slice(pairs);
    let config = SignurlConfig::from_env(&Env::from_pairs(env)).unwrap();
    let started = started(&config.common, &secret_file(PEM), None).await;
    let auth = Authorizer::new(config.auth.clone(), http, auth_secret);
    let now = now();
    Deps::new(config, started, auth, Box::new(move || now))
}

fn jwt_env(min_refresh: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("AUTH_MODE", "jwt"),
        ("JWT_ISSUER", "https://issuer.test.invalid/"),
        ("JWT_AUDIENCE", "signed-hls"),
        ("JWT_JWKS_URL", JWKS_URL),
        ("JWT_JWKS_MIN_REFRESH_SECONDS", min_refresh),
        ("AUTH_TOKEN_COOKIE", "vt"),
        ("AUTH_TOKEN_QUERY_PARAM", "token"),
    ]
}

fn issuer(body: Option<&'static str>) -> Arc<FakeIssuer> {
    Arc::new(FakeIssuer {
        body: Mutex::new(body),
        fetches: AtomicUsize::new(0),
    })
}

fn get(query: &str, headers: Value) -> LambdaEvent<ApiGatewayV2httpRequest> {
    event("GET", "/content/media/signurl", query, headers)
}

fn bearer(token: &str) -> Value {
    json!({"authorization": format!("Bearer {token}")})
}

fn body(r: &ApiGatewayV2httpResponse) -> Value {
    json_body(r)
}

#[tokio::test]
async fn valid_tokens_get_a_url_capped_at_the_token_expiry() {
    let deps = deps(&jwt_env("30"), issuer(Some(JWKS)), None).await;
    for name in ["rs256 valid", "es256 valid"] {
        let r = handler(get("movie=1", bearer(&token(name))), &deps).await.unwrap();
        assert_eq!(r.status_code, 200, "{name}: {:?}", r.body);
        // The fixture tokens expire 600 s after `now`, before URL_TTL_SECONDS (6 h).
        assert_eq!(body(&r)["expires"], now() + 600, "{name}");
    }
}

#[tokio::test]
async fn the_url_outlives_the_token_when_binding_is_off() {
    let mut env = jwt_env("30");
    env.push(("AUTH_BIND_TOKEN_EXPIRY", "false"));
    let deps = deps(&env, issuer(Some(JWKS)), None).await;
    let r = handler(get("movie=1", bearer(&token("rs256 valid"))), &deps)
        .await
        .unwrap();
    assert_eq!(body(&r)["expires"], now() + 21_600);
}

#[tokio::test]
async fn every_place_a_token_may_travel() {
    let deps = deps(&jwt_env("30"), issuer(Some(JWKS)), None).await;
    let t = token("rs256 valid");
    let sigv4 =
        "AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00";
    for (query, headers) in [
        ("movie=1".to_owned(), json!({"x-viewer-token": t})),
        (
            "movie=1".to_owned(),
            json!({"authorization": sigv4, "x-viewer-token": t}),
        ),
        ("movie=1".to_owned(), json!({"cookie": format!("theme=dark; vt={t}")})),
        (format!("movie=1&token={t}"), json!({})),
    ] {
        let r = handler(get(&query, headers.clone()), &deps).await.unwrap();
        assert_eq!(r.status_code, 200, "{headers}: {:?}", r.body);
    }
}

#[tokio::test]
async fn missing_and_invalid_tokens_are_401_with_www_authenticate() {
    let deps = deps(&jwt_env("30"), issuer(Some(JWKS)), None).await;
    let r = handler(get("movie=1", json!({})), &deps).await.unwrap();
    assert_eq!(r.status_code, 401);
    assert_eq!(header(&r, "www-authenticate"), Some("Bearer realm=\"signed-hls\""));
    assert_eq!(body(&r)["error_type"], "missing_token");
    for name in [
        "wrong issuer",
        "wrong audience",
        "alg none",
        "HS256 keyed with the public key (alg confusion)",
        "expired",
        "nbf in the future",
        "tampered payload",
        "garbage",
        "oversized",
    ] {
        let t = token(name);
        let r = handler(get("movie=1", bearer(&t)), &deps).await.unwrap();
        assert_eq!(r.status_code, 401, "{name}");
        let www = header(&r, "www-authenticate").unwrap();
        assert!(
            www.starts_with("Bearer realm=\"signed-hls\", error=\"invalid_token\", error_description=\""),
            "{name}: {www}"
        );
        let text = serde_json::to_string(&body(&r)).unwrap();
        assert!(!text.contains(&t) && !www.contains(&t), "{name}: token echoed");
        assert_eq!(header(&r, "cache-control"), Some("no-store"));
    }
}

#[tokio::test]
async fn valid_token_without_the_movie_is_403() {
    let deps = deps(&jwt_env("30"), issuer(Some(JWKS)), None).await;
    let r = handler(get("movie=3", bearer(&token("rs256 valid"))), &deps)
        .await
        .unwrap();
    assert_eq!(r.status_code, 403);
    assert_eq!(body(&r)["error_type"], "not_entitled");
    assert_eq!(header(&r, "www-authenticate"), None);
    let r = handler(
        get(
            "movie=1",
            bearer(&token("no movies claim: valid but entitled to nothing")),
        ),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(r.status_code, 403);
    let r = handler(get("movie=99", bearer(&token("star entitles every movie"))), &deps)
        .await
        .unwrap();
    assert_eq!(r.status_code, 200);
}

#[tokio::test]
async fn unknown_kid_refreshes_the_jwks_once_and_accepts_the_rotated_key() {
    let http = issuer(Some(JWKS));
    let deps = deps(&jwt_env("0"), Arc::clone(&http), None).await;
    let rotated_in = token("unknown kid, then rotated in");
    let r = handler(get("movie=1", bearer(&rotated_in)), &deps).await.unwrap();
    assert_eq!(r.status_code, 401, "rsa-2 is not published yet");
    assert_eq!(body(&r)["error_type"], "unknown_key");
    assert_eq!(
        http.fetches.load(Ordering::SeqCst),
        2,
        "first load, then one refresh for the unknown kid"
    );
    *http.body.lock().unwrap() = Some(ROTATED);
    let r = handler(get("movie=1", bearer(&rotated_in)), &deps).await.unwrap();
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    assert_eq!(http.fetches.load(Ordering::SeqCst), 3);
    // rsa-1 has been rotated away: its tokens are refused now.
    let r = handler(get("movie=1", bearer(&token("rs256 valid"))), &deps)
        .await
        .unwrap();
    assert_eq!(r.status_code, 401);
}

#[tokio::test]
async fn unknown_kid_refreshes_are_rate_limited() {
    let http = issuer(Some(JWKS));
    let deps = deps(&jwt_env("3600"), Arc::clone(&http), None).await;
    for _ in 0..20 {
        let r = handler(get("movie=1", bearer(&token("unknown kid, then rotated in"))), &deps)
            .await
            .unwrap();
        assert_eq!(r.status_code, 401);
    }
    assert_eq!(
        http.fetches.load(Ordering::SeqCst),
        1,
        "made-up kids must not cause fetches"
    );
}

#[tokio::test]
async fn jwks_unreachable_is_503_and_recovers() {
    let http = issuer(None);
    let deps = deps(&jwt_env("0"), Arc::clone(&http), None).await;
    let r = handler(get("movie=1", bearer(&token("rs256 valid"))), &deps)
        .await
        .unwrap();
    assert_eq!(r.status_code, 503);
    assert_eq!(body(&r)["error_type"], "auth_unavailable");
    *http.body.lock().unwrap() = Some(JWKS);
    let r = handler(get("movie=1", bearer(&token("rs256 valid"))), &deps)
        .await
        .unwrap();
    assert_eq!(r.status_code, 200);
}

#[tokio::test]
async fn shared_secret_from_secrets_manager() {
    let doc = fixtures();
    let source: Arc<dyn SecretSource> = secret(Some(doc["secret"].as_str().unwrap())).await;
    let env = [("AUTH_MODE", "shared-secret"), ("AUTH_SECRET_NAME", "see-source")];
    let deps = deps(&env, issuer(None), Some(source)).await;
    let r = handler(get("movie=1", bearer(&token("shared valid"))), &deps)
        .await
        .unwrap();
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    assert_eq!(body(&r)["expires"], now() + 300);
    let r = handler(get("movie=3", json!({"x-viewer-token": token("shared valid")})), &deps)
        .await
        .unwrap();
    assert_eq!(r.status_code, 403);
    for name in [
        "shared expired",
        "shared wrong secret",
        "shared tampered payload",
        "shared lifetime too long",
    ] {
        let r = handler(get("movie=1", bearer(&token(name))), &deps).await.unwrap();
        assert_eq!(r.status_code, 401, "{name}");
    }
}

#[tokio::test]
async fn shared_secret_missing_is_503() {
    let source: Arc<dyn SecretSource> = secret(None).await;
    let env = [("AUTH_MODE", "shared-secret"), ("AUTH_SECRET_NAME", "see-source")];
    let deps = deps(&env, issuer(None), Some(source)).await;
    let r = handler(get("movie=1", bearer(&token("shared valid"))), &deps)
        .await
        .unwrap();
    assert_eq!(r.status_code, 503);
}

#[tokio::test]
async fn auth_none_stays_open() {
    let deps = deps(&[], issuer(None), None).await;
    let r = handler(get("movie=1", json!({})), &deps).await.unwrap();
    assert_eq!(r.status_code, 200);
}
