//! `local-stack`: signed-hls on one machine, no AWS account.
//!
//! Starts an S3 API over a folder (s3s-fs), the real `signurl` and `rewriter`
//! binaries behind a Lambda Runtime API, and an edge on 127.0.0.1 that routes,
//! checks signatures and strips CloudFront's parameters like the distribution
//! in terraform/. It prints one JSON line (`{"ready": ...}`) when it serves, for
//! scripts and tests, and stops everything on Ctrl-C or SIGTERM.
//!
//! `local-stack coldstart` measures one function's cold start through the
//! same Runtime API instead (`scripts/coldstart.py`, `make coldstart`), and
//! `local-stack bench` the rewriter's warm path next to its floors
//! (`make bench-functions`).

mod auth;
mod bench;
mod coldstart;
mod edge;
mod runtime_api;
mod s3;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::serve::ListenerExt as _;
use clap::Parser;
use cloudfront_sign::{SigningKey, Verifier, VerifyingKey};
use serde_json::json;

use crate::runtime_api::{Function, Logs};

/// The bucket name the functions see.
const BUCKET: &str = "signed-hls-local";

#[derive(Parser)]
#[command(
    name = "local-stack",
    about = "Run signed-hls locally: edge, functions and S3 API",
    after_help = "`local-stack coldstart --help`: measure a function's cold start instead.\n\
                  `local-stack bench --help`: measure the rewriter's warm path instead."
)]
struct Options {
    /// Port of the edge on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The media folder: S3 keys are paths below it (movies/movie_1/index.m3u8).
    #[arg(long)]
    media: PathBuf,
    /// The signing key (PEM); its public half is the trusted key group.
    #[arg(long, required_unless_present = "kms_key_id", conflicts_with = "kms_key_id")]
    private_key: Option<PathBuf>,
    /// Sign with this AWS KMS key instead (issue 14): the functions get
    /// `KMS_KEY_ID` and never read a private key; the edge trusts the key's
    /// public half, read with `GetPublicKey`. Needs `--kms-endpoint`.
    #[arg(long, requires = "kms_endpoint")]
    kms_key_id: Option<String>,
    /// The KMS endpoint (moto's server, e.g. http://127.0.0.1:5000), for
    /// the edge and the functions (`AWS_ENDPOINT_URL_KMS`).
    #[arg(long)]
    kms_endpoint: Option<String>,
    /// The key pair id of that key.
    #[arg(long, default_value = "KDEVLOCAL0000001")]
    key_pair_id: String,
    /// Further trusted public keys, as ID=FILE (rotation, tests).
    #[arg(long = "trust", value_name = "ID=FILE")]
    trusted: Vec<String>,
    /// The public base URL the policies name (default http://127.0.0.1:PORT).
    #[arg(long)]
    public_url: Option<String>,
    /// Folder holding the signurl and rewriter binaries (default: beside this one).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Processes per function (concurrent Lambda instances).
    #[arg(long, default_value_t = 2)]
    instances: usize,
    /// Extra environment for both functions, KEY=VALUE (e.g. REWRITE_MODE=per-uri).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Append one JSON line per edge request to this file.
    #[arg(long)]
    access_log: Option<PathBuf>,
    /// hls.js for the demo page.
    #[arg(long)]
    hls_js: Option<PathBuf>,
    /// Serve a local file at a path of the edge, as PATH=FILE (test harness
    /// pages and their player scripts: /players.html=tests/e2e/web/players.html).
    #[arg(long = "static", value_name = "PATH=FILE")]
    static_files: Vec<String>,
    /// Working folder for the S3 root (default .local/stack).
    #[arg(long, default_value = ".local/stack")]
    state_dir: PathBuf,
    /// Who may watch: `none`, or `jwt` for a local OpenID Connect issuer
    /// (tests/auth/auth_issuer.py: fresh keys, its JWKS on a loopback port)
    /// that the demo page signs in with.
    #[arg(long, default_value = "none", value_parser = ["none", "jwt"])]
    auth: String,
    /// With `--auth jwt`: the Python (with PyJWT) that runs the issuer
    /// [default: the repository's .venv/bin/python].
    #[arg(long)]
    python: Option<PathBuf>,
}

/// The public half of KMS key `key_id` (`GetPublicKey` at `endpoint`),
/// checked as the functions check it (a `SIGN_VERIFY` RSA_2048 or
/// ECC_NIST_P256 key).
async fn kms_public_key(endpoint: &str, key_id: &str, key_pair_id: &str) -> VerifyingKey {
    let sdk = signed_hls_aws::aws::sdk_config_for_endpoint(endpoint).await;
    let key_pair_id = key_pair_id
        .parse()
        .unwrap_or_else(|e| fail(format!("--key-pair-id {key_pair_id}: {e}")));
    let signer = signed_hls_aws::KmsSigner::connect(
        signed_hls_aws::aws::kms_client(&sdk),
        key_id,
        key_pair_id,
        1,
        signed_hls_aws::Backoff::default(),
    )
    .await
    .unwrap_or_else(|e| fail(format!("--kms-key-id {key_id}: {e}")));
    use signed_hls_aws::PolicySigner as _;
    signer.signatory().verifying_key().clone()
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("local-stack: {message}");
    std::process::exit(1)
}

/// Splits the value of `option` at its first `=`, or fails naming the option.
fn key_value<'a>(option: &str, spec: &'a str, expected: &str) -> (&'a str, &'a str) {
    spec.split_once('=')
        .unwrap_or_else(|| fail(format!("{option} {spec}: expected {expected}")))
}

#[tokio::main]
async fn main() {
    if std::env::args_os().nth(1).is_some_and(|command| command == "coldstart") {
        let options = coldstart::Options::parse_from(std::env::args_os().skip(1));
        return coldstart::main(options).await;
    }
    if std::env::args_os().nth(1).is_some_and(|command| command == "bench") {
        let options = bench::Options::parse_from(std::env::args_os().skip(1));
        return bench::main(options).await;
    }
    let options = Options::parse();
    let media = std::fs::canonicalize(&options.media)
        .unwrap_or_else(|e| fail(format!("--media {}: {e}", options.media.display())));
    let mut verifier = Verifier::new();
    // Where the functions' key is: a file, or KMS (no private key anywhere).
    let key_env: Vec<(String, String)> = match (&options.private_key, &options.kms_key_id) {
        (Some(private_key), _) => {
            let key_file = std::fs::canonicalize(private_key)
                .unwrap_or_else(|e| fail(format!("--private-key {}: {e}", private_key.display())));
            let pem =
                std::fs::read_to_string(&key_file).unwrap_or_else(|e| fail(format!("{}: {e}", key_file.display())));
            let key = SigningKey::from_pem(&pem).unwrap_or_else(|e| fail(format!("{}: {e}", key_file.display())));
            verifier.trust(&options.key_pair_id, key.verifying_key());
            vec![("SIGNING_KEY_FILE".into(), key_file.display().to_string())]
        }
        (None, Some(kms_key_id)) => {
            let endpoint = options.kms_endpoint.as_deref().unwrap_or_default();
            verifier.trust(
                &options.key_pair_id,
                kms_public_key(endpoint, kms_key_id, &options.key_pair_id).await,
            );
            vec![
                ("KMS_KEY_ID".into(), kms_key_id.clone()),
                ("AWS_ENDPOINT_URL_KMS".into(), endpoint.to_owned()),
            ]
        }
        (None, None) => fail("--private-key or --kms-key-id is required"),
    };
    for spec in &options.trusted {
        let (id, file) = key_value("--trust", spec, "ID=FILE");
        let pem = std::fs::read_to_string(file).unwrap_or_else(|e| fail(format!("{file}: {e}")));
        verifier.trust(
            id,
            VerifyingKey::from_pem(&pem).unwrap_or_else(|e| fail(format!("{file}: {e}"))),
        );
    }

    // The bucket is a link to the media folder inside the S3 root.
    let s3_root = options.state_dir.join("s3");
    std::fs::create_dir_all(&s3_root).unwrap_or_else(|e| fail(format!("{}: {e}", s3_root.display())));
    let bucket = s3_root.join(BUCKET);
    let _ = std::fs::remove_file(&bucket);
    std::os::unix::fs::symlink(&media, &bucket).unwrap_or_else(|e| fail(format!("{}: {e}", bucket.display())));
    let s3 = s3::serve(&s3_root).await.unwrap_or_else(|e| fail(e));

    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], options.port)))
        .await
        .unwrap_or_else(|e| fail(format!("cannot listen on 127.0.0.1:{}: {e}", options.port)));
    let edge_address = listener.local_addr().unwrap_or_else(|e| fail(e));
    let public_base = options
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{edge_address}"));
    let public_base = public_base.trim_end_matches('/').to_owned();

    let mut env: Vec<(String, String)> = vec![
        ("CF_URL".into(), public_base.clone()),
        ("CF_KEY_ID".into(), options.key_pair_id.clone()),
        ("S3_BUCKET".into(), BUCKET.into()),
        ("AWS_ENDPOINT_URL".into(), format!("http://{s3}")),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID".into(), s3::ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY".into(), s3::SECRET_KEY.into()),
        ("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()),
        ("CORS_ALLOWED_ORIGINS".into(), "*".into()),
    ];
    // What the ready line and the banner say about the key (never its content).
    let key_description = key_env
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(" ");
    env.extend(key_env);
    // --auth jwt: the issuer listens before the functions start, so that their
    // cold-start JWKS fetch finds it.
    let mut auth_info = json!({"mode": "none"});
    let mut issuer = None;
    if options.auth == "jwt" {
        let started = auth::Issuer::start(options.python.as_deref())
            .await
            .unwrap_or_else(|e| fail(e));
        env.push(("AUTH_MODE".into(), "jwt".into()));
        env.push(("JWT_ISSUER".into(), started.url.clone()));
        env.push(("JWT_AUDIENCE".into(), auth::AUDIENCE.into()));
        env.push(("JWT_JWKS_URL".into(), started.jwks_url.clone()));
        auth_info = json!({"mode": "jwt", "issuer": started.url, "token_url": started.token_url});
        issuer = Some(started);
    }
    for spec in &options.env {
        let (name, value) = key_value("--env", spec, "KEY=VALUE");
        env.retain(|(existing, _)| existing != name);
        env.push((name.to_owned(), value.to_owned()));
    }
    let bin_dir = options.bin_dir.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default()
    });
    let timeout = Duration::from_secs(30);
    let start = |name: &'static str| {
        let binary = bin_dir.join(name);
        let env = env.clone();
        async move {
            if !binary.exists() {
                fail(format!(
                    "{} is missing: build it (cargo build -p {name})",
                    binary.display()
                ));
            }
            Function::start(name, &binary, &env, options.instances, timeout, Logs::Stderr)
                .await
                .unwrap_or_else(|e| fail(e))
        }
    };
    let signurl = start("signurl").await;
    let rewriter = start("rewriter").await;
    // A cold start that fails exits at once; give it a moment to show.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for function in [&signurl, &rewriter] {
        if let Some(reason) = function.exited() {
            fail(format!("{reason}: see its log above"));
        }
    }

    let access_log = options.access_log.as_ref().map(|path| {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
        std::sync::Mutex::new(file)
    });
    let edge = Arc::new(edge::Edge {
        public_base: public_base.clone(),
        verifier,
        signurl,
        rewriter,
        media_root: media.clone(),
        hls_js: options.hls_js.clone(),
        static_files: options
            .static_files
            .iter()
            .map(|spec| {
                let (path, file) = key_value("--static", spec, "PATH=FILE");
                if !path.starts_with('/') {
                    fail(format!("--static {spec}: the path must start with /"));
                }
                (path.to_owned(), PathBuf::from(file))
            })
            .collect(),
        access_log,
        auth_info: auth_info.to_string(),
    });

    // The functions' own origins (function URLs), reachable without the edge:
    // the rewriter must refuse a request that did not come through CloudFront.
    let mut origins = serde_json::Map::new();
    for name in ["signurl", "rewriter"] {
        let origin = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap_or_else(|e| fail(e));
        let address = origin.local_addr().unwrap_or_else(|e| fail(e));
        origins.insert(name.into(), json!(format!("http://{address}")));
        let app = Router::new().fallback(
            move |state: State<Arc<edge::Edge>>, peer: ConnectInfo<SocketAddr>, request: Request| {
                origin_request(name, state, peer, request)
            },
        );
        let app = app
            .with_state(edge.clone())
            .into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(origin.tap_io(no_delay), app).await });
    }

    let app = Router::new().fallback(edge::handle).with_state(edge.clone());
    let server = axum::serve(
        listener.tap_io(no_delay),
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal());
    println!(
        "{}",
        json!({"ready": {
            "edge": format!("http://{edge_address}"),
            "public_url": public_base,
            "key_pair_id": options.key_pair_id,
            "key": key_description,
            "media": media.display().to_string(),
            "s3_endpoint": format!("http://{s3}"),
            "origins": origins,
            "auth": auth_info,
        }})
    );
    eprintln!(
        "\nsigned-hls is running locally\n  open        http://{edge_address}/\n  signurl     http://{edge_address}/content/media/signurl?movie=1\n  key pair id {}\n  key         {}\n  media       {}\nCtrl-C stops everything.\n",
        options.key_pair_id,
        key_description,
        media.display()
    );
    if let Err(e) = server.await {
        eprintln!("local-stack: {e}");
    }
    edge.signurl.stop();
    edge.rewriter.stop();
    if let Some(issuer) = issuer.as_mut() {
        issuer.stop();
    }
    eprintln!("local-stack: stopped");
}

async fn origin_request(
    name: &'static str,
    State(edge): State<Arc<edge::Edge>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let function = if name == "signurl" {
        &edge.signurl
    } else {
        &edge.rewriter
    };
    let (parts, _body) = request.into_parts();
    let query = parts.uri.query().unwrap_or("").to_owned();
    edge::invoke(function, &parts, peer, &query).await
}

/// Small request/response exchanges on loopback: without TCP_NODELAY, Nagle
/// and delayed ACKs add ~40 ms to exchanges under concurrent load.
fn no_delay(stream: &mut tokio::net::TcpStream) {
    let _ = stream.set_nodelay(true);
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return interrupt.await.unwrap_or(()),
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
}
