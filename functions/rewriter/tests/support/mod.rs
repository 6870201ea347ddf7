//! The rewriter's own test helpers: its dependencies over a media folder (or
//! moto's S3), viewer credentials, and a playlist's URIs. Events, answers,
//! keys and the corpus come from the shared `signed_hls_aws::testing`.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cloudfront_sign::{
    HashAlgorithm, KeyPairId, KeySuffix, Policy, RESERVED_PARAMS, SigningKey, UrlSigner, strip_params,
};
use rewriter::Deps;
use signed_hls_aws::aws::{s3_client, sdk_config_for_endpoint};
pub use signed_hls_aws::testing::*;
use signed_hls_aws::{Env, ObjectStore, RewriterConfig};

pub fn moto() -> &'static MotoServer {
    MotoServer::shared(env!("CARGO_MANIFEST_DIR"))
}

/// The rewriter's configuration: the test key in `secret`, `CF_URL`, and `pairs`.
pub fn config(secret: &std::path::Path, pairs: &[(&str, &str)]) -> RewriterConfig {
    let secret = secret.to_str().unwrap();
    let mut env: Vec<(&str, &str)> = vec![
        ("SIGNING_KEY_FILE", secret),
        ("CF_URL", CF),
        ("CF_KEY_ID", KEY_ID),
        ("S3_BUCKET", "unused"),
    ];
    env.extend_from_slice(pairs);
    RewriterConfig::from_env(&Env::from_pairs(env)).unwrap()
}

/// The handler's dependencies with the secret file `secret`, at [`NOW`].
pub async fn deps_with_secret(secret: &std::path::Path, pairs: &[(&str, &str)], store: Arc<dyn ObjectStore>) -> Deps {
    let config = config(secret, pairs);
    let started = started(&config.common, secret, Some(store)).await;
    Deps::new(config, started, Box::new(|| NOW)).unwrap()
}

/// The handler's dependencies with the test key, at [`NOW`].
pub async fn deps(pairs: &[(&str, &str)], store: Arc<dyn ObjectStore>) -> Deps {
    static KEY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    deps_with_secret(KEY.get_or_init(|| secret_file(PEM)), pairs, store).await
}

/// A monotonic clock that tests move by hand (the raw cache's freshness),
/// so that no test sleeps.
#[derive(Clone, Default)]
pub struct TestClock(Arc<AtomicU64>);

impl TestClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_micros() as u64, Ordering::SeqCst);
    }

    /// The clock as `Deps` takes it.
    pub fn boxed(&self) -> Box<dyn Fn() -> Duration + Send + Sync> {
        let micros = self.0.clone();
        Box::new(move || Duration::from_micros(micros.load(Ordering::SeqCst)))
    }
}

/// The handler's dependencies with the test key over `store`, with `clock`
/// as the monotonic clock.
pub async fn deps_at(pairs: &[(&str, &str)], store: Arc<dyn ObjectStore>, clock: &TestClock) -> Deps {
    deps(pairs, store).await.with_monotonic_clock(clock.boxed())
}

/// A fresh moto bucket holding `objects`.
pub async fn bucket(objects: &[(&str, Vec<u8>)]) -> String {
    let sdk = sdk_config_for_endpoint(&moto().endpoint).await;
    let s3 = s3_client(&sdk, true);
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
    name
}

/// The public half of a private key (SPKI PEM), as a secret's `public_keys` lists it.
pub fn public(private_pem: &str) -> String {
    SigningKey::from_pem(private_pem).unwrap().verifying_key().to_pem()
}

/// A secret file in the JSON format holding the test key, which lists
/// itself among its `public_keys`: the start of a rotation test, which then
/// writes the next secret over it.
pub fn json_secret_file() -> std::path::PathBuf {
    secret_file(
        &serde_json::json!({"key_pair_id": KEY_ID, "private_key": PEM, "public_keys": {KEY_ID: public(PEM)}})
            .to_string(),
    )
}

pub fn signer(pem: &str, id: &str) -> UrlSigner {
    UrlSigner::new(
        KeyPairId::new(id).unwrap(),
        SigningKey::from_pem(pem).unwrap(),
        HashAlgorithm::Sha1,
    )
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
        .sign_with_policy_and_copies(&full, policy, &KeySuffix::default())
        .unwrap();
    let stripped = strip_params(&url, &RESERVED_PARAMS);
    stripped.split_once('?').map(|(_, q)| q.to_owned()).unwrap_or_default()
}

pub fn movie_policy() -> Policy {
    Policy::new(format!("{CF}/movies/movie_1/*"), NOW + 3600)
}

/// A GET of `path` with `query`.
pub fn get(
    path: &str,
    query: &str,
    headers: serde_json::Value,
) -> lambda_runtime::LambdaEvent<aws_lambda_events::apigw::ApiGatewayV2httpRequest> {
    event("GET", path, query, headers)
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

/// Log lines captured by a test's tracing subscriber (a writer for it).
#[derive(Clone, Default)]
pub struct Captured(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A viewer's query for `path` (what reaches the rewriter): `policy` signed
/// by the deps' own KMS signer, CloudFront's parameters stripped.
pub async fn kms_viewer_query(deps: &Deps, path: &str, policy: &Policy) -> String {
    let key = deps.key.current().await.unwrap();
    let signature = key.signer.sign(&[policy.to_json().as_bytes()]).await.unwrap().remove(0);
    let url = key
        .signer
        .signatory()
        .url_with_policy_and_copies(
            &format!("{CF}{path}"),
            policy,
            cloudfront_sign::encoding::encode(&signature),
            &KeySuffix::default(),
        )
        .unwrap();
    let stripped = strip_params(&url, &RESERVED_PARAMS);
    stripped.split_once('?').map(|(_, q)| q.to_owned()).unwrap_or_default()
}
