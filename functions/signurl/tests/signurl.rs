//! signurl's handler: in-process with the key from a file for every answer,
//! and with the real SDK clients against moto for what only they can show
//! (Secrets Manager's formats and failures, the existence check on S3).

use std::sync::Arc;

use base64::Engine as _;
use cloudfront_sign::{Verifier, VerifyingKey};
use serde_json::{Value, json};
use signed_hls_aws::aws::{s3_client, sdk_config_for_endpoint, secrets_client};
use signed_hls_aws::secret::{SecretError, SecretsManagerSecret};
use signed_hls_aws::shell::Started;
use signed_hls_aws::store::S3Store;
use signed_hls_aws::testing::*;
use signed_hls_aws::{Env, KeyCache, ObjectStore, SecretSource, SignurlConfig};
use signurl::{Deps, handler};

fn moto() -> &'static MotoServer {
    MotoServer::shared(env!("CARGO_MANIFEST_DIR"))
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

fn config(pairs: &[(&str, &str)]) -> SignurlConfig {
    let mut env: Vec<(&str, &str)> = vec![("SM_SECRET_NAME", "ignored"), ("CF_URL", CF), ("CF_KEY_ID", KEY_ID)];
    env.extend_from_slice(pairs);
    SignurlConfig::from_env(&Env::from_pairs(env)).unwrap()
}

/// The handler's dependencies: the key `secret` read from a file, at [`NOW`].
async fn deps_with(pairs: &[(&str, &str)], secret: &str, store: Option<Arc<dyn ObjectStore>>) -> Deps {
    let config = config(pairs);
    let started = started(&config.common, &secret_file(secret), store).await;
    Deps::new(config, started, signurl::auth::Authorizer::open(), Box::new(|| NOW))
}

fn signurl(
    method: &str,
    query: &str,
    headers: Value,
) -> lambda_runtime::LambdaEvent<aws_lambda_events::apigw::ApiGatewayV2httpRequest> {
    event(method, "/content/media/signurl", query, headers)
}

fn get(query: &str, headers: Value) -> lambda_runtime::LambdaEvent<aws_lambda_events::apigw::ApiGatewayV2httpRequest> {
    signurl("GET", query, headers)
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
    let r = handler(get("movie=1", json!({})), &deps).await.unwrap();
    assert_eq!(r.status_code, 200);
    assert_eq!(header(&r, "content-type"), Some("application/json"));
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    let body = json_body(&r);
    // URL_TTL_SECONDS rounded down to EXPIRY_GRANULARITY_SECONDS (60).
    assert_eq!((NOW + 21_600) % 60, 40);
    assert_eq!(body["expires"], NOW + 21_600 - 40);
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
        assert_eq!(grant.policy.date_less_than, NOW + 21_600 - 40);
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
        get("movie=abc_1-x&format=text", json!({"origin": "https://player.example"})),
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
        get("movie=1&redirect=true", json!({"origin": "https://evil.example"})),
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
        signurl("OPTIONS", "", json!({"origin": "https://player.example"})),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(r.status_code, 204);
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        Some("https://player.example")
    );

    let r = handler(signurl("POST", "movie=1", json!({})), &deps).await.unwrap();
    assert_eq!(
        (r.status_code, json_body(&r)["error_type"].as_str()),
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
        let r = handler(get(query, json!({})), &deps).await.unwrap();
        let body = json_body(&r);
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
            ("EXPIRY_GRANULARITY_SECONDS", "0"),
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
        let r = handler(get("movie=1", json!({"cloudfront-viewer-address": address})), &deps)
            .await
            .unwrap();
        assert_eq!(r.status_code, 200, "{address}");
        let url = json_body(&r)["url"].as_str().unwrap().to_owned();
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
        let r = handler(get("movie=1", headers), &deps).await.unwrap();
        assert_eq!(
            (r.status_code, json_body(&r)["error_type"].as_str()),
            (400, Some("viewer_address_unknown"))
        );
    }
}

#[tokio::test]
async fn existence_check_404_and_503() {
    let sdk = sdk_config_for_endpoint(&moto().endpoint).await;
    let s3 = s3_client(&sdk, true);
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
        handler(get("movie=1", json!({})), &deps).await.unwrap().status_code,
        200
    );
    let r = handler(get("movie=2", json!({})), &deps).await.unwrap();
    assert_eq!(
        (r.status_code, json_body(&r)["error_type"].as_str()),
        (404, Some("not_found"))
    );

    let down = s3_client(&sdk_config_for_endpoint(&closed_endpoint()).await, true);
    let store: Arc<dyn ObjectStore> = Arc::new(S3Store::new(down, &bucket, fast()));
    let deps = deps_with(&env, PEM, Some(store)).await;
    let r = handler(get("movie=1", json!({})), &deps).await.unwrap();
    assert_eq!(
        (r.status_code, json_body(&r)["error_type"].as_str()),
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
            let config = SignurlConfig::from_env(&Env::from_pairs([("SM_SECRET_NAME", "x")])).unwrap();
            let key = KeyCache::load(Arc::new(source), &config.common).await.unwrap();
            assert_eq!(
                key.snapshot().unwrap().signer.signatory().key_pair_id().as_str(),
                "KFROMSECRET"
            );
            let base = config
                .common
                .base_url(key.snapshot().unwrap().secret_cf_url.as_deref())
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
    let config = config(&[]);
    let down = SecretsManagerSecret::new(
        secrets_client(&sdk_config_for_endpoint(&closed_endpoint()).await),
        "x",
        fast(),
    );
    // load() fails; load_lazy() starts without a key.
    assert!(
        KeyCache::load(Arc::new(down.clone()), &config.common)
            .await
            .unwrap_err()
            .is_unavailable()
    );
    let key = KeyCache::load_lazy(Arc::new(down), &config.common).await.unwrap();
    let started = Started {
        base_url: config.common.base_url(None).unwrap(),
        key,
        store: None,
    };
    let deps = Deps::new(config, started, signurl::auth::Authorizer::open(), Box::new(|| NOW));
    let r = handler(get("movie=1", json!({})), &deps).await.unwrap();
    assert_eq!(
        (r.status_code, json_body(&r)["error_type"].as_str()),
        (503, Some("key_unavailable"))
    );
}

/// Issue 14: viewers who ask within the same EXPIRY_GRANULARITY_SECONDS
/// window get the same URL, signed once; `0` keeps the exact expiry.
#[tokio::test]
async fn viewers_in_one_expiry_window_share_the_signature() {
    use std::sync::atomic::{AtomicU64, Ordering};
    for (granularity, same) in [("60", true), ("0", false)] {
        let config = config(&[("EXPIRY_GRANULARITY_SECONDS", granularity)]);
        let started = started(&config.common, &secret_file(PEM), None).await;
        let clock = Arc::new(AtomicU64::new(NOW));
        let tick = clock.clone();
        let deps = Deps::new(
            config,
            started,
            signurl::auth::Authorizer::open(),
            Box::new(move || tick.load(Ordering::Relaxed)),
        );
        let mut urls = Vec::new();
        // NOW % 60 == 40: NOW and NOW + 19 are in one window.
        for at in [NOW, NOW + 19] {
            clock.store(at, Ordering::Relaxed);
            let r = handler(get("movie=1", json!({})), &deps).await.unwrap();
            assert_eq!(r.status_code, 200);
            let body = json_body(&r);
            let url = body["url"].as_str().unwrap().to_owned();
            let grant = verifier(PEM).verify_url(&url, "-PREFIX", at, None).unwrap();
            assert_eq!(body["expires"], grant.policy.date_less_than);
            urls.push(url);
        }
        assert_eq!(urls[0] == urls[1], same, "granularity {granularity}");
        let expected = if same { (1, 1) } else { (0, 2) };
        assert_eq!((deps.signatures.hits(), deps.signatures.misses()), expected);
    }
}
