//! Shared set-up for the rewriter's integration tests and benchmark: moto,
//! a bucket, the signing key, events and viewer credentials.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use cloudfront_sign::{Policy, RESERVED_PARAMS, SigningKey, UrlSigner, strip_params};
use lambda_runtime::{Context, LambdaEvent};
use rewriter::{Deps, Settings};
use serde_json::{Value, json};
use signed_hls_aws::aws::{s3_client, sdk_config_for_endpoint};
use signed_hls_aws::secret::FileSecret;
use signed_hls_aws::store::S3Store;
use signed_hls_aws::testing::MotoServer;
use signed_hls_aws::{Backoff, Env, KeyCache, ObjectStore, StoreError};

pub const PEM: &str = include_str!("../../../../layers/cloudfront-sign/tests/fixtures/rsa2048_pkcs1.pem");
pub const OTHER_PEM: &str = include_str!("../../../../layers/cloudfront-sign/tests/fixtures/rsa2048_other.pem");
pub const OTHER_PUBLIC_PEM: &str =
    include_str!("../../../../layers/cloudfront-sign/tests/fixtures/rsa2048_other_public.pem");
pub const KEY_ID: &str = "K2JCJMDEHXQW5F";
pub const CF: &str = "https://d111111abcdef8.cloudfront.net";
pub const NOW: u64 = 1_900_000_000;

pub fn moto() -> &'static MotoServer {
    MotoServer::shared(env!("CARGO_MANIFEST_DIR"))
}

pub fn fast() -> Backoff {
    Backoff {
        attempts: 3,
        initial: std::time::Duration::from_millis(10),
        max: std::time::Duration::from_millis(20),
    }
}

pub fn unique() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

/// The corpus of test playlists, `../shared/corpus` from the repository root.
pub fn corpus() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the playlist corpus {} is missing: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "m3u8"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no .m3u8 in {}", dir.display());
    out
}

/// A fresh bucket holding `objects`.
pub async fn bucket(objects: &[(&str, Vec<u8>)]) -> (String, aws_sdk_s3::Client) {
    let sdk = sdk_config_for_endpoint(&moto().endpoint).await;
    let s3 = s3_client(&sdk);
    let name = format!("media-{}-{}", std::process::id(), unique());
    s3.create_bucket().bucket(&name).send().await.unwrap();
    for (key, body) in objects {
        s3.put_object()
            .bucket(&name)
            .key(*key)
            .body(body.clone().into())
            .send()
            .await
            .unwrap();
    }
    (name, s3)
}

/// A store that counts reads (to prove a refused request never reads).
pub struct Counting {
    pub inner: Arc<dyn ObjectStore>,
    pub reads: AtomicUsize,
}

#[async_trait]
impl ObjectStore for Counting {
    async fn get(&self, key: &str, limit: u64) -> Result<Vec<u8>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key, limit).await
    }
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.inner.exists(key).await
    }
}

pub fn key_file() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("signed-hls-rewriter-key-{}.pem", std::process::id()));
    if !path.exists() {
        std::fs::write(&path, PEM).unwrap();
    }
    path
}

pub async fn deps(pairs: &[(&str, &str)], store: Arc<dyn ObjectStore>) -> Deps {
    let key_file = key_file();
    let mut env: Vec<(&str, &str)> = vec![
        ("SIGNING_KEY_FILE", key_file.to_str().unwrap()),
        ("CF_URL", CF),
        ("CF_KEY_ID", KEY_ID),
        ("S3_BUCKET", "unused"),
    ];
    env.extend_from_slice(pairs);
    let settings = Settings::from_env(&Env::from_pairs(env)).unwrap();
    let key = KeyCache::load(Arc::new(FileSecret::new(&key_file)), &settings.common)
        .await
        .unwrap();
    let base_url = settings.common.resolve_base_url(None).unwrap();
    Deps::new(settings, base_url, key, store, Box::new(|| NOW))
}

pub async fn s3_deps(pairs: &[(&str, &str)], bucket: &str) -> Deps {
    let sdk = sdk_config_for_endpoint(&moto().endpoint).await;
    deps(pairs, Arc::new(S3Store::new(s3_client(&sdk), bucket, fast()))).await
}

pub fn signer(pem: &str, id: &str) -> UrlSigner {
    UrlSigner::new(
        id,
        SigningKey::from_pem(pem).unwrap(),
        cloudfront_sign::HashAlgorithm::Sha1,
    )
    .unwrap()
}

/// What the rewriter sees of a viewer's URL (`path` on CF, or a full URL) signed with `policy`: CloudFront
/// has removed its own parameters, the `-PREFIX` copies remain.
pub fn viewer_query(signer: &UrlSigner, path: &str, policy: &Policy) -> String {
    let full = if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("{CF}{path}")
    };
    let url = signer
        .sign_with_policy_and_copies(&full, policy, &["", "-PREFIX"])
        .unwrap();
    let stripped = strip_params(&url, &RESERVED_PARAMS);
    stripped.split_once('?').map(|(_, q)| q.to_owned()).unwrap_or_default()
}

pub fn movie_policy() -> Policy {
    Policy::new(format!("{CF}/movies/movie_1/*"), NOW + 3600)
}

pub fn event(path: &str, query: &str, headers: Value) -> LambdaEvent<ApiGatewayV2httpRequest> {
    event_method("GET", path, query, headers)
}

pub fn event_method(method: &str, path: &str, query: &str, headers: Value) -> LambdaEvent<ApiGatewayV2httpRequest> {
    let payload = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "130.176.0.1"}, "requestId": "req-1"},
        "isBase64Encoded": false
    });
    LambdaEvent::new(serde_json::from_value(payload).unwrap(), Context::default())
}

pub fn header<'a>(r: &'a ApiGatewayV2httpResponse, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

pub fn text(r: &ApiGatewayV2httpResponse) -> String {
    match r.body.as_ref() {
        Some(Body::Text(t)) => t.clone(),
        Some(Body::Binary(b)) => {
            use std::io::Read as _;
            let mut out = String::new();
            flate2::read::GzDecoder::new(&b[..]).read_to_string(&mut out).unwrap();
            out
        }
        other => panic!("no body: {other:?}"),
    }
}

pub fn error_type(r: &ApiGatewayV2httpResponse) -> String {
    let v: Value = serde_json::from_str(&text(r)).unwrap_or_else(|_| panic!("not a JSON error: {r:?}"));
    assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()));
    v["error_type"].as_str().unwrap().to_owned()
}

/// Every URI of a playlist: the non-tag lines and the `URI="..."` attributes.
pub fn uris(playlist: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in playlist.lines() {
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            let mut rest = line;
            while let Some(i) = rest.find("URI=\"") {
                let after = &rest[i + 5..];
                let Some(end) = after.find('"') else { break };
                out.push(after[..end].to_owned());
                rest = &after[end..];
            }
        } else {
            out.push(line.to_owned());
        }
    }
    out
}
