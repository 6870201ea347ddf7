//! signurl end to end: the handler with real SDK clients against moto.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use base64::Engine as _;
use cloudfront_sign::{Verifier, VerifyingKey};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use signed_hls_aws::aws::{s3_client, sdk_config_for_endpoint, secrets_client};
use signed_hls_aws::secret::{SecretError, SecretsManagerSecret};
use signed_hls_aws::store::S3Store;
use signed_hls_aws::testing::{MotoServer, closed_endpoint};
use signed_hls_aws::{Backoff, Env, KeyCache, ObjectStore, SecretSource};
use signurl::{Deps, Settings, handler};

const PEM: &str = include_str!("../../../layers/cloudfront-sign/tests/fixtures/rsa2048_pkcs1.pem");
const EC_PEM: &str = include_str!("../../../layers/cloudfront-sign/tests/fixtures/ec_p256_pkcs8.pem");
const NOW: u64 = 1_900_000_000;
const CF: &str = "https://d111111abcdef8.cloudfront.net";

fn moto() -> &'static MotoServer {
    MotoServer::shared(env!("CARGO_MANIFEST_DIR"))
}

fn fast() -> Backoff {
    Backoff {
        attempts: 3,
        initial: std::time::Duration::from_millis(10),
        max: std::time::Duration::from_millis(20),
    }
}

async fn put_secret(name: &str, value: &str) -> SecretsManagerSecret {
    let sdk = sdk_config_for_endpoint(&moto().endpoint).await;
    let client = secrets_client(&sdk);
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
    SecretsManagerSecret::new(client, name, fast())
}

async fn deps_with(pairs: &[(&str, &str)], secret: &str, store: Option<Arc<dyn ObjectStore>>) -> Deps {
    let mut env: Vec<(&str, &str)> = vec![
        ("SM_SECRET_NAME", "ignored"),
        ("CF_URL", CF),
        ("CF_KEY_ID", "K2JCJMDEHXQW5F"),
    ];
    env.extend_from_slice(pairs);
    let settings = Settings::from_env(&Env::from_pairs(env)).unwrap();
    let name = format!("signurl-{}", unique());
    let source = Arc::new(put_secret(&name, secret).await);
    let key = KeyCache::load(source, &settings.common).await.unwrap();
    let base_url = settings.common.resolve_base_url(None).unwrap();
    Deps {
        settings,
        base_url,
        key,
        store,
        clock: Box::new(|| NOW),
        auth: signurl::auth::Authorizer::open(),
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

fn event(query: &str, headers: Value) -> LambdaEvent<ApiGatewayV2httpRequest> {
    event_method("GET", query, headers)
}

fn event_method(method: &str, query: &str, headers: Value) -> LambdaEvent<ApiGatewayV2httpRequest> {
    let mut params = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        params.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    let payload = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/content/media/signurl",
        "rawQueryString": query,
        "headers": headers,
        "queryStringParameters": params,
        "requestContext": {"http": {"method": method, "path": "/content/media/signurl", "sourceIp": "130.176.0.1"}, "requestId": "req-1"},
        "isBase64Encoded": false
    });
    LambdaEvent::new(serde_json::from_value(payload).unwrap(), Context::default())
}

fn body_json(r: &ApiGatewayV2httpResponse) -> Value {
    match r.body.as_ref() {
        Some(aws_lambda_events::encodings::Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("no text body: {other:?}"),
    }
}

fn header<'a>(r: &'a ApiGatewayV2httpResponse, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

fn verifier(pem: &str) -> Verifier {
    let mut v = Verifier::new();
    v.trust(
        "K2JCJMDEHXQW5F",
        cloudfront_sign::SigningKey::from_pem(pem).unwrap().verifying_key(),
    );
    v
}

#[tokio::test]
async fn json_answer_is_a_directory_policy_with_prefixed_copies() {
    let deps = deps_with(&[], PEM, None).await;
    let r = handler(event("movie=1", json!({})), &deps).await.unwrap();
    assert_eq!(r.status_code, 200);
    assert_eq!(header(&r, "content-type"), Some("application/json"));
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    let body = body_json(&r);
    assert_eq!(body["expires"], NOW + 21_600);
    let url = body["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{CF}/movies/movie_1/index.m3u8?Policy=")),
        "{url}"
    );
    assert!(url.contains("&Policy-PREFIX=") && url.contains("&Key-Pair-Id-PREFIX=K2JCJMDEHXQW5F"));
    let v = verifier(PEM);
    for suffix in ["", "-PREFIX"] {
        let grant = v.verify_url(url, suffix, NOW, None).unwrap();
        assert_eq!(grant.policy.resource, format!("{CF}/movies/movie_1/*"));
        assert_eq!(grant.policy.date_less_than, NOW + 21_600);
        assert_eq!(grant.policy.date_greater_than, None);
        assert_eq!(grant.policy.ip_address, None);
    }
    // The grant covers the movie's segments, not another movie.
    let seg = format!("{CF}/movies/movie_1/seg1.ts?{}", url.split_once('?').unwrap().1);
    v.verify_url(&seg, "", NOW, None).unwrap();
    let other = format!("{CF}/movies/movie_2/index.m3u8?{}", url.split_once('?').unwrap().1);
    assert_eq!(
        v.verify_url(&other, "", NOW, None).unwrap_err().code(),
        "resource_mismatch"
    );
    assert!(v.verify_url(url, "", NOW + 21_600, None).is_err());
}

#[tokio::test]
async fn text_redirect_head_and_options() {
    let deps = deps_with(&[("CORS_ALLOWED_ORIGINS", "https://player.example")], PEM, None).await;
    let r = handler(
        event("movie=abc_1-x&format=text", json!({"origin": "https://player.example"})),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(r.status_code, 200);
    assert_eq!(header(&r, "content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        Some("https://player.example")
    );
    assert_eq!(header(&r, "vary"), Some("Origin"));
    let Some(aws_lambda_events::encodings::Body::Text(url)) = &r.body else {
        panic!()
    };
    assert!(url.starts_with(&format!("{CF}/movies/movie_abc_1-x/index.m3u8?")));

    let r = handler(
        event("movie=1&redirect=true", json!({"origin": "https://evil.example"})),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(r.status_code, 302);
    assert!(
        header(&r, "location")
            .unwrap()
            .starts_with(&format!("{CF}/movies/movie_1/index.m3u8?Policy="))
    );
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    assert_eq!(header(&r, "vary"), Some("Origin"));

    let r = handler(
        event_method("OPTIONS", "", json!({"origin": "https://player.example"})),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(r.status_code, 204);
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        Some("https://player.example")
    );

    let r = handler(event_method("POST", "movie=1", json!({})), &deps)
        .await
        .unwrap();
    assert_eq!(
        (r.status_code, body_json(&r)["error_type"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

#[tokio::test]
async fn bad_input_is_400_with_a_reason() {
    let deps = deps_with(&[], PEM, None).await;
    for (query, error_type) in [
        ("", "missing_movie"),
        ("movie=", "missing_movie"),
        ("movie=../1", "invalid_movie"),
        ("movie=..%2F1", "invalid_movie"),
        ("movie=1/../../2", "invalid_movie"),
        ("movie=*", "invalid_movie"),
        ("movie=a.b", "invalid_movie"),
        ("movie=1&format=xml", "invalid_parameter"),
        ("movie=1&redirect=maybe", "invalid_parameter"),
    ] {
        let r = handler(event(query, json!({})), &deps).await.unwrap();
        let body = body_json(&r);
        assert_eq!(r.status_code, 400, "{query}");
        // An empty movie= is read as absent by the event parser or as invalid; both are 400.
        if query != "movie=" {
            assert_eq!(body["error_type"], error_type, "{query}");
        }
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
}

#[tokio::test]
async fn ip_binding_skew_and_sha256() {
    let deps = deps_with(
        &[
            ("BIND_VIEWER_IP", "true"),
            ("NOT_BEFORE_SKEW_SECONDS", "30"),
            ("HASH_ALGORITHM", "sha256"),
            ("URL_TTL_SECONDS", "60"),
        ],
        EC_PEM,
        None,
    )
    .await;
    for (address, ip) in [
        ("198.51.100.7:4431", "198.51.100.7"),
        ("2001:db8::5:4431", "2001:db8::5"),
        ("[2001:db8::5]:443", "2001:db8::5"),
    ] {
        let r = handler(event("movie=1", json!({"cloudfront-viewer-address": address})), &deps)
            .await
            .unwrap();
        assert_eq!(r.status_code, 200, "{address}");
        let url = body_json(&r)["url"].as_str().unwrap().to_owned();
        assert!(url.contains("Hash-Algorithm=SHA256"));
        let v = verifier(EC_PEM);
        let ip: std::net::IpAddr = ip.parse().unwrap();
        let grant = v.verify_url(&url, "-PREFIX", NOW, Some(ip)).unwrap();
        assert_eq!(grant.policy.date_greater_than, Some(NOW - 30));
        assert_eq!(grant.policy.date_less_than, NOW + 60);
        assert_eq!(
            grant.policy.ip_address.unwrap().to_string().split('/').next().unwrap(),
            ip.to_string()
        );
        let other: std::net::IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(
            v.verify_url(&url, "", NOW, Some(other)).unwrap_err().code(),
            "ip_not_allowed"
        );
    }
    for headers in [json!({}), json!({"cloudfront-viewer-address": "garbage"})] {
        let r = handler(event("movie=1", headers), &deps).await.unwrap();
        assert_eq!(
            (r.status_code, body_json(&r)["error_type"].as_str()),
            (400, Some("viewer_address_unknown"))
        );
    }
}

#[tokio::test]
async fn existence_check_404_and_503() {
    let sdk = sdk_config_for_endpoint(&moto().endpoint).await;
    let s3 = s3_client(&sdk);
    let bucket = format!("media-{}", unique());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key("movies/movie_1/index.m3u8")
        .body(b"#EXTM3U\n".to_vec().into())
        .send()
        .await
        .unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(S3Store::new(s3, &bucket, fast()));
    let env = [("CHECK_PLAYLIST_EXISTS", "true"), ("S3_BUCKET", bucket.as_str())];
    let deps = deps_with(&env, PEM, Some(store)).await;
    assert_eq!(
        handler(event("movie=1", json!({})), &deps).await.unwrap().status_code,
        200
    );
    let r = handler(event("movie=2", json!({})), &deps).await.unwrap();
    assert_eq!(
        (r.status_code, body_json(&r)["error_type"].as_str()),
        (404, Some("not_found"))
    );

    let down = s3_client(&sdk_config_for_endpoint(&closed_endpoint()).await);
    let store: Arc<dyn ObjectStore> = Arc::new(S3Store::new(down, &bucket, fast()));
    let deps = deps_with(&env, PEM, Some(store)).await;
    let r = handler(event("movie=1", json!({})), &deps).await.unwrap();
    assert_eq!(
        (r.status_code, body_json(&r)["error_type"].as_str()),
        (503, Some("storage_unavailable"))
    );
}

#[tokio::test]
async fn every_secret_format_from_secrets_manager() {
    let b64 = base64::engine::general_purpose::STANDARD.encode(PEM);
    let formats = [
        PEM.to_owned(),
        b64.clone(),
        json!({"key_pair_id": "KFROMSECRET", "private_key": PEM, "cf_url": "https://dsecret.cloudfront.net"})
            .to_string(),
        json!({"private_key": b64}).to_string(),
        EC_PEM.to_owned(),
    ];
    let want = cloudfront_sign::SigningKey::from_pem(PEM)
        .unwrap()
        .verifying_key()
        .to_pem();
    for (i, secret) in formats.iter().enumerate() {
        let source = put_secret(&format!("format-{i}-{}", unique()), secret).await;
        let material = source.load().await.unwrap_or_else(|e| panic!("format {i}: {e}"));
        if i < 4 {
            assert_eq!(material.key.verifying_key().to_pem(), want, "format {i}");
        }
        if i == 2 {
            // CF_KEY_ID and CF_URL unset: both come from the JSON secret.
            let settings = Settings::from_env(&Env::from_pairs([("SM_SECRET_NAME", "x")])).unwrap();
            let key = KeyCache::load(Arc::new(source), &settings.common).await.unwrap();
            assert_eq!(key.snapshot().unwrap().signer.key_pair_id(), "KFROMSECRET");
            let base = settings
                .common
                .resolve_base_url(key.snapshot().unwrap().secret_cf_url.as_deref())
                .unwrap();
            assert_eq!(base.url, "https://dsecret.cloudfront.net");
        }
    }
    let _ = VerifyingKey::from_pem(&want).unwrap();

    // A binary secret holding a DER key.
    let der = include_bytes!("../../../layers/cloudfront-sign/tests/fixtures/rsa2048_pkcs8.der");
    let sdk = sdk_config_for_endpoint(&moto().endpoint).await;
    let client = secrets_client(&sdk);
    let name = format!("binary-{}", unique());
    client
        .create_secret()
        .name(&name)
        .secret_binary(aws_sdk_secretsmanager::primitives::Blob::new(der.to_vec()))
        .send()
        .await
        .unwrap();
    let material = SecretsManagerSecret::new(client, &name, fast()).load().await.unwrap();
    assert_eq!(material.key.verifying_key().to_pem(), want);
}

#[tokio::test]
async fn secret_errors_missing_garbage_and_unavailable() {
    let sdk = sdk_config_for_endpoint(&moto().endpoint).await;
    let missing = SecretsManagerSecret::new(secrets_client(&sdk), "no-such-secret", fast());
    assert!(matches!(missing.load().await, Err(SecretError::NotFound(_))));
    let garbage = put_secret(&format!("garbage-{}", unique()), "hunter2").await;
    let e = garbage.load().await.unwrap_err();
    assert!(
        matches!(e, SecretError::Invalid(_)) && !e.to_string().contains("hunter2"),
        "{e}"
    );
    let down = SecretsManagerSecret::new(
        secrets_client(&sdk_config_for_endpoint(&closed_endpoint()).await),
        "x",
        fast(),
    );
    let started = std::time::Instant::now();
    let e = down.load().await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(30),
        "retried with backoff"
    );
}

#[tokio::test]
async fn secrets_manager_down_at_cold_start_answers_503_then_recovers() {
    let settings = Settings::from_env(&Env::from_pairs([
        ("SM_SECRET_NAME", "x"),
        ("CF_URL", CF),
        ("CF_KEY_ID", "K2JCJMDEHXQW5F"),
    ]))
    .unwrap();
    let down = SecretsManagerSecret::new(
        secrets_client(&sdk_config_for_endpoint(&closed_endpoint()).await),
        "x",
        fast(),
    );
    // load() fails; load_lazy() starts without a key.
    assert!(
        KeyCache::load(Arc::new(down.clone()), &settings.common)
            .await
            .unwrap_err()
            .is_unavailable()
    );
    let key = KeyCache::load_lazy(Arc::new(down), &settings.common).await.unwrap();
    let deps = Deps {
        base_url: settings.common.resolve_base_url(None).unwrap(),
        settings,
        key,
        store: None,
        clock: Box::new(|| NOW),
        auth: signurl::auth::Authorizer::open(),
    };
    let r = handler(event("movie=1", json!({})), &deps).await.unwrap();
    assert_eq!(
        (r.status_code, body_json(&r)["error_type"].as_str()),
        (503, Some("key_unavailable"))
    );
}
