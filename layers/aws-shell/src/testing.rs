//! Test support for the function crates (feature `testing`): one helper
//! module for every handler test.
//!
//! - events, and readers of the answers (`header`, `text`, `error_type`);
//! - the test keys and the corpus of playlists, all inside the repository;
//! - a media folder served by [`FsStore`] (handler tests run in-process over
//!   it) and a [`Started`] built from a key file, so that only the tests of
//!   the SDK wiring need moto;
//! - a moto server on a free loopback port, for those. moto's server comes
//!   from the repository's `.venv` (`moto[server]` in
//!   `tests/requirements.txt`, installed by `scripts/bootstrap.sh python`). A
//!   missing server is a loud failure, never a skip.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

use crate::config::CommonConfig;
use crate::secret::FileSecret;
use crate::shell::Started;
use crate::store::{Conditional, FsStore};
use crate::{Backoff, KeyCache, ObjectStore, StoreError};

/// The test RSA-2048 key (PKCS#1).
pub const PEM: &str = include_str!("../../cloudfront-sign/tests/fixtures/rsa2048_pkcs1.pem");
/// Another RSA-2048 key.
pub const OTHER_PEM: &str = include_str!("../../cloudfront-sign/tests/fixtures/rsa2048_other.pem");
/// The public half of [`OTHER_PEM`].
pub const OTHER_PUBLIC_PEM: &str = include_str!("../../cloudfront-sign/tests/fixtures/rsa2048_other_public.pem");
/// The test ECDSA P-256 key (PKCS#8).
pub const EC_PEM: &str = include_str!("../../cloudfront-sign/tests/fixtures/ec_p256_pkcs8.pem");
/// The key pair id the tests sign with.
pub const KEY_ID: &str = "K2JCJMDEHXQW5F";
/// The distribution the tests use.
pub const CF: &str = "https://d111111abcdef8.cloudfront.net";
/// The fixed clock of the tests.
pub const NOW: u64 = 1_900_000_000;

/// Retries that do not slow the tests down.
pub fn fast() -> Backoff {
    Backoff {
        attempts: 3,
        initial: Duration::from_millis(10),
        max: Duration::from_millis(20),
    }
}

/// A number unique in this process (for names of buckets, secrets, files).
pub fn unique() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

/// A payload-2.0 event, as a function URL or an HTTP API delivers it.
pub fn event(method: &str, path: &str, query: &str, headers: Value) -> LambdaEvent<ApiGatewayV2httpRequest> {
    let mut params = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        params.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    let payload = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "queryStringParameters": params,
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "130.176.0.1"}, "requestId": "req-1"},
        "isBase64Encoded": false
    });
    LambdaEvent::new(
        serde_json::from_value(payload).expect("a valid event"),
        Context::default(),
    )
}

/// A header of an answer.
pub fn header<'a>(r: &'a ApiGatewayV2httpResponse, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The body of an answer as text (a gzip body decompressed).
pub fn text(r: &ApiGatewayV2httpResponse) -> String {
    match r.body.as_ref() {
        Some(Body::Text(t)) => t.clone(),
        Some(Body::Binary(b)) => {
            use std::io::Read as _;
            let mut out = String::new();
            flate2::read::GzDecoder::new(&b[..])
                .read_to_string(&mut out)
                .expect("a gzip body");
            out
        }
        other => panic!("no body: {other:?}"),
    }
}

/// The body of an answer as JSON.
pub fn json_body(r: &ApiGatewayV2httpResponse) -> Value {
    serde_json::from_str(&text(r)).unwrap_or_else(|_| panic!("not JSON: {r:?}"))
}

/// The `error_type` of an error answer (which must carry a non-empty reason).
pub fn error_type(r: &ApiGatewayV2httpResponse) -> String {
    let v = json_body(r);
    assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    v["error_type"].as_str().expect("an error_type").to_owned()
}

/// The playlist corpus of the repository (`tests/fixtures/corpus`), by name.
pub fn corpus() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/corpus");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the playlist corpus {} is missing: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "m3u8"))
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, std::fs::read_to_string(&p).expect("a UTF-8 playlist"))
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no .m3u8 in {}", dir.display());
    out
}

/// A temporary folder of objects, removed on drop.
#[derive(Debug)]
pub struct MediaDir {
    path: PathBuf,
}

impl MediaDir {
    /// A folder holding `objects` (key, bytes).
    pub fn new<B: AsRef<[u8]>>(objects: &[(&str, B)]) -> Self {
        let path = std::env::temp_dir().join(format!("signed-hls-media-{}-{}", std::process::id(), unique()));
        for (key, body) in objects {
            let file = path.join(key);
            std::fs::create_dir_all(file.parent().expect("a key with a folder")).expect("a media folder");
            std::fs::write(file, body).expect("an object");
        }
        std::fs::create_dir_all(&path).expect("a media folder");
        MediaDir { path }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder as an object store.
    pub fn store(&self) -> Arc<dyn ObjectStore> {
        Arc::new(FsStore::new(&self.path))
    }
}

impl Drop for MediaDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A store that counts reads (to prove that a refused request reads
/// nothing, or that an answer came from memory).
pub struct Counting {
    /// The store read through.
    pub inner: Arc<dyn ObjectStore>,
    /// Reads so far (plain and conditional: each would be an S3 request).
    pub reads: AtomicUsize,
    /// Conditional reads so far (with an ETag).
    pub conditional: AtomicUsize,
    /// Conditional reads answered "not modified".
    pub not_modified: AtomicUsize,
}

impl Counting {
    /// Counts the reads of `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Arc<Self> {
        Arc::new(Counting {
            inner,
            reads: AtomicUsize::new(0),
            conditional: AtomicUsize::new(0),
            not_modified: AtomicUsize::new(0),
        })
    }

    /// Reads so far.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    /// (conditional reads, of which answered "not modified") so far.
    pub fn conditional(&self) -> (usize, usize) {
        (
            self.conditional.load(Ordering::SeqCst),
            self.not_modified.load(Ordering::SeqCst),
        )
    }
}

#[async_trait]
impl ObjectStore for Counting {
    async fn get(&self, key: &str, limit: u64) -> Result<Vec<u8>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key, limit).await
    }
    async fn get_if_changed(&self, key: &str, limit: u64, etag: Option<&str>) -> Result<Conditional, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if etag.is_some() {
            self.conditional.fetch_add(1, Ordering::SeqCst);
        }
        let out = self.inner.get_if_changed(key, limit, etag).await?;
        if out == Conditional::NotModified {
            self.not_modified.fetch_add(1, Ordering::SeqCst);
        }
        Ok(out)
    }
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.inner.exists(key).await
    }
}

/// A file holding `contents` (a secret in any accepted format), in a fresh
/// temporary path; the caller may rewrite it (rotation).
pub fn secret_file(contents: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("signed-hls-secret-{}-{}", std::process::id(), unique()));
    std::fs::write(&path, contents).expect("a secret file");
    path
}

/// What the cold start builds, from a secret file and `store`, for `config`.
pub async fn started(config: &CommonConfig, secret: &Path, store: Option<Arc<dyn ObjectStore>>) -> Started {
    let key = KeyCache::load(Arc::new(FileSecret::new(secret)), config)
        .await
        .expect("the test key loads");
    let secret_cf_url = key.snapshot().and_then(|k| k.secret_cf_url.clone());
    let base_url = config.base_url(secret_cf_url.as_deref()).expect("a base URL");
    Started { key, base_url, store }
}

/// A running moto server. It stops when this value drops, and also when the
/// test process exits (a watchdog shell kills it once our end of its stdin closes).
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

/// The moto server binary of the repository whose member crate is `manifest_dir`.
pub fn moto_binary(manifest_dir: &str) -> PathBuf {
    let mut dir = Path::new(manifest_dir);
    loop {
        let candidate = dir.join(".venv/bin/moto_server");
        if candidate.exists() {
            return candidate;
        }
        match dir.parent() {
            Some(parent) => dir = parent,
            None => panic!(
                "moto_server not found in a .venv above {manifest_dir}: run `scripts/bootstrap.sh python` \
                 (installs moto[server] from tests/requirements.txt)"
            ),
        }
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; the caller binds it next).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// An address on which nothing listens (for "service unavailable" tests).
pub fn closed_endpoint() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

impl MotoServer {
    /// Starts moto on a free port and waits until it accepts connections.
    pub fn start(manifest_dir: &str) -> Self {
        let binary = moto_binary(manifest_dir);
        let port = free_port();
        // The watchdog: moto runs in the background; `read` returns when our
        // end of the pipe closes (drop or process exit), then moto is killed.
        let script = format!(
            "'{}' -H 127.0.0.1 -p {port} >/dev/null 2>&1 & pid=$!; read _ignored; kill $pid 2>/dev/null; wait $pid 2>/dev/null",
            binary.display()
        );
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("cannot start sh for moto_server");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {addr} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        MotoServer {
            child,
            endpoint: format!("http://{addr}"),
        }
    }

    /// One server shared by all the tests of this process, started on first use.
    pub fn shared(manifest_dir: &str) -> &'static MotoServer {
        static SHARED: OnceLock<MotoServer> = OnceLock::new();
        SHARED.get_or_init(|| MotoServer::start(manifest_dir))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        if let Some(stdin) = self.child.stdin.as_mut() {
            let _ = stdin.write_all(b"\n");
        }
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// A fresh KMS signing key in moto (`RSA_2048` or `ECC_NIST_P256`, `SIGN_VERIFY`):
/// its id and its public key (SPKI DER), read back with `GetPublicKey`.
pub async fn kms_key(endpoint: &str, spec: &str) -> (String, Vec<u8>) {
    let sdk = crate::aws::sdk_config_for_endpoint(endpoint).await;
    let kms = crate::aws::kms_client(&sdk);
    let created = kms
        .create_key()
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .key_spec(aws_sdk_kms::types::KeySpec::from(spec))
        .send()
        .await
        .expect("moto creates the key");
    let id = created.key_metadata().expect("key metadata").key_id().to_owned();
    let public = kms.get_public_key().key_id(&id).send().await.expect("GetPublicKey");
    (id, public.public_key().expect("a public key").as_ref().to_vec())
}

/// The KMS key `key_id` at `endpoint`, as a function's key source (`CF_KEY_ID` [`KEY_ID`]).
pub async fn kms_source(endpoint: &str, key_id: &str) -> crate::KeySource {
    let sdk = crate::aws::sdk_config_for_endpoint(endpoint).await;
    crate::KeySource::Kms(crate::KmsKey {
        client: crate::aws::kms_client(&sdk),
        key_id: key_id.to_owned(),
        key_pair_id: crate::config::resolve_key_pair_id(Some(&KEY_ID.parse().expect("a key id")), None)
            .expect("a key id"),
        max_concurrent: 4,
        backoff: fast(),
    })
}

/// What the cold start builds in KMS mode: the key from `source`, lazily
/// (an unreachable KMS starts without a key and answers 503).
pub async fn started_kms(
    config: &CommonConfig,
    source: crate::KeySource,
    store: Option<Arc<dyn ObjectStore>>,
) -> Started {
    let key = KeyCache::load_lazy_from(source, config)
        .await
        .expect("a KMS key source");
    let base_url = config.base_url(None).expect("a base URL");
    Started { key, base_url, store }
}

/// The SPKI DER public key of a test private key (PEM: PKCS#1 RSA or
/// PKCS#8 P-256), as KMS's `GetPublicKey` returns it.
pub fn spki_der(private_pem: &str) -> Vec<u8> {
    if private_pem.contains("RSA PRIVATE KEY") {
        use rsa::pkcs1::DecodeRsaPrivateKey as _;
        use rsa::pkcs8::EncodePublicKey as _;
        let key = rsa::PrivateKey::from_pkcs1_pem(private_pem).expect("an RSA key");
        key.to_public_key()
            .to_public_key_der()
            .expect("SPKI")
            .as_bytes()
            .to_vec()
    } else {
        use p256::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _};
        let key = p256::SecretKey::from_pkcs8_pem(private_pem).expect("a P-256 key");
        key.public_key().to_public_key_der().expect("SPKI").as_bytes().to_vec()
    }
}

/// What [`FakeKms`] answers to `Sign`.
#[derive(Debug, Clone)]
pub enum FakeSign {
    /// Every call is throttled (`ThrottlingException`, which the signer retries).
    Throttle,
    /// Signs with this private key (PEM: PKCS#1 RSA or PKCS#8 P-256), as
    /// KMS documents it: a `RAW` message is hashed with SHA-256 first, a
    /// `DIGEST` one is signed as the SHA-256 digest it is. A message
    /// containing `refuse` is answered `DisabledException` (permanent: not retried).
    Key {
        /// The private key.
        pem: String,
        /// Messages holding these bytes are refused.
        refuse: Option<Vec<u8>>,
    },
}

/// A hand-written KMS on a free loopback port, for what moto's cannot do:
/// throttle every call, refuse some messages only, or honour
/// `MessageType=DIGEST` (moto signs the digest as if it were the message).
/// `GetPublicKey` answers `public_key` (SPKI DER) for an `RSA_2048` or
/// `ECC_NIST_P256` key. Counts `Sign` calls; runs until the process exits.
pub struct FakeKms {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    signs: Arc<AtomicUsize>,
    digests: Arc<AtomicUsize>,
}

/// One `Sign` answer of [`FakeKms`]: (HTTP status line, JSON body).
fn fake_sign(body: &[u8], how: &FakeSign, digests: &AtomicUsize) -> (&'static str, String) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (pem, refuse) = match how {
        FakeSign::Throttle => {
            return (
                "400 Bad Request",
                json!({"__type": "ThrottlingException", "message": "Rate exceeded"}).to_string(),
            );
        }
        FakeSign::Key { pem, refuse } => (pem, refuse),
    };
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let message = request["Message"]
        .as_str()
        .and_then(|m| b64.decode(m).ok())
        .unwrap_or_default();
    if refuse
        .as_ref()
        .is_some_and(|r| message.windows(r.len()).any(|w| w == r.as_slice()))
    {
        return (
            "400 Bad Request",
            json!({"__type": "DisabledException", "message": "refused by the test"}).to_string(),
        );
    }
    let digest: Vec<u8> = match request["MessageType"].as_str() {
        Some("DIGEST") => {
            digests.fetch_add(1, Ordering::SeqCst);
            message
        }
        _ => {
            use sha2::Digest as _;
            sha2::Sha256::digest(&message).to_vec()
        }
    };
    let signature = if pem.contains("RSA PRIVATE KEY") {
        use rsa::pkcs1::DecodeRsaPrivateKey as _;
        let key = rsa::PrivateKey::from_pkcs1_pem(pem).expect("an RSA key");
        key.sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
            .expect("RSA signs a digest")
    } else {
        use p256::ecdsa::signature::hazmat::PrehashSigner as _;
        use p256::pkcs8::DecodePrivateKey as _;
        let key = p256::ecdsa::SigningKey::from_pkcs8_pem(pem).expect("a P-256 key");
        let signature: p256::ecdsa::DerSignature = key.sign_prehash(&digest).expect("ECDSA signs a digest");
        signature.as_bytes().to_vec()
    };
    (
        "200 OK",
        json!({"KeyId": "fake", "Signature": b64.encode(signature), "SigningAlgorithm": request["SigningAlgorithm"]})
            .to_string(),
    )
}

impl FakeKms {
    /// Starts it.
    pub fn start(spec: &str, public_key: &[u8], how: FakeSign) -> Self {
        use base64::Engine as _;
        use std::io::{BufRead as _, BufReader, Read as _};
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        let signs = Arc::new(AtomicUsize::new(0));
        let digests = Arc::new(AtomicUsize::new(0));
        let (counter, digest_counter) = (signs.clone(), digests.clone());
        let algorithm = if spec == "RSA_2048" {
            "RSASSA_PKCS1_V1_5_SHA_256"
        } else {
            "ECDSA_SHA_256"
        };
        let public = json!({
            "KeyId": "fake",
            "KeySpec": spec,
            "KeyUsage": "SIGN_VERIFY",
            "PublicKey": base64::engine::general_purpose::STANDARD.encode(public_key),
            "SigningAlgorithms": [algorithm],
        })
        .to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (counter, digests, public, how) =
                    (counter.clone(), digest_counter.clone(), public.clone(), how.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream);
                    loop {
                        let (mut target, mut length) = (String::new(), 0usize);
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            let line = line.trim_end();
                            if line.is_empty() {
                                break;
                            }
                            if let Some((name, value)) = line.split_once(':') {
                                match name.trim().to_ascii_lowercase().as_str() {
                                    "x-amz-target" => target = value.trim().to_owned(),
                                    "content-length" => length = value.trim().parse().unwrap_or(0),
                                    _ => {}
                                }
                            }
                        }
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        let (status, answer) = if target.ends_with("GetPublicKey") {
                            ("200 OK", public.clone())
                        } else {
                            counter.fetch_add(1, Ordering::SeqCst);
                            fake_sign(&body, &how, &digests)
                        };
                        let response = format!(
                            "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{answer}",
                            answer.len()
                        );
                        if reader.get_mut().write_all(response.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FakeKms {
            endpoint,
            signs,
            digests,
        }
    }

    /// `Sign` calls answered so far.
    pub fn signs(&self) -> usize {
        self.signs.load(Ordering::SeqCst)
    }

    /// `Sign` calls with `MessageType=DIGEST` signed so far.
    pub fn digests(&self) -> usize {
        self.digests.load(Ordering::SeqCst)
    }
}

/// Verifies, with Python's `cryptography` (independently of our Rust
/// code), that each `(policy bytes, signature)` was signed by the key whose
/// SPKI DER is `public_key`, with SHA-256 (RSA PKCS#1 v1.5 or ECDSA DER).
/// Panics with Python's answer otherwise.
pub fn verify_in_python(manifest_dir: &str, public_key: &[u8], signed: &[(Vec<u8>, Vec<u8>)]) {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let python = Path::new(manifest_dir).join("../../.venv/bin/python");
    let input = json!({
        "public_key": b64(public_key),
        "signed": signed.iter().map(|(m, s)| json!([b64(m), b64(s)])).collect::<Vec<_>>(),
    })
    .to_string();
    let script = r#"
import base64, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
data = json.load(sys.stdin)
key = serialization.load_der_public_key(base64.b64decode(data["public_key"]))
for message, signature in data["signed"]:
    message, signature = base64.b64decode(message), base64.b64decode(signature)
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    else:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
print("verified", len(data["signed"]))
"#;
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write to python");
    let out = child.wait_with_output().expect("python runs");
    assert!(
        out.status.success(),
        "python refused a signature: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
