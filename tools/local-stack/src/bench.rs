//! `local-stack bench`: the rewriter's warm path through the Lambda Runtime
//! API, against ONE moto server, next to its floors, in one run
//! (`make bench-functions`). Figures are printed, never asserted.
//!
//! In order:
//! 1. moto starts (one server for everything below); a bucket gets VOD media
//!    playlists of each size, Secrets Manager an RSA-2048 and an ECDSA P-256
//!    key (the repository's test keys);
//! 2. the floors: a GetObject of each playlist with the Rust SDK, and a
//!    no-op function (`noop-function`: a fixed answer) through the same
//!    Runtime API;
//! 3. per key, the real `rewriter` binary behind that Runtime API, as on
//!    Lambda (key from Secrets Manager, objects from S3), with
//!    `Accept-Encoding: gzip` as browsers send it:
//!    - *warm caches*: the same grant again: raw cache and signature cache hit;
//!    - *revalidated*: `RAW_CACHE_SECONDS=0`: a conditional GET (304) each time;
//!    - *cold caches*: `RAW_CACHE_BYTES=0` and a new grant per request: a
//!      whole GetObject and a signature each time (the path before issue 13);
//! 4. the pure rewrite of each playlist in this process (the playlist core,
//!    the rewriter's configuration, a warm signature cache), and the no-op
//!    function answering the rewriter's own warm answer: the runtime's cost
//!    of posting an answer that large.
//!
//! Times run from handing the event to the Runtime API to the last byte of
//! the answer arriving there (the Runtime API's own parsing left out).
//! The stage columns are medians of the rewriter's own log line.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use clap::Parser;
use cloudfront_sign::{
    HashAlgorithm, KeyPairId, KeySuffix, Policy, RESERVED_PARAMS, SigningKey, UrlSigner, Verifier, strip_params,
};
use playlist_rewrite::{Incoming, SignatureCache};
use serde_json::{Value, json};
use signed_hls_aws::{BaseUrl, Env, RewriterConfig};

use crate::coldstart::{median, p90};
use crate::fail;
use crate::runtime_api::{Function, Logs};

const TIMEOUT: Duration = Duration::from_secs(30);
const CF: &str = "https://d111111abcdef8.cloudfront.net";
const KEY_ID: &str = "K2JCJMDEHXQW5F";
const BUCKET: &str = "bench";
const RSA_PEM: &str = include_str!("../../../layers/cloudfront-sign/tests/fixtures/rsa2048_pkcs1.pem");
const EC_PEM: &str = include_str!("../../../layers/cloudfront-sign/tests/fixtures/ec_p256_pkcs8.pem");

#[derive(Parser)]
#[command(
    bin_name = "local-stack bench",
    about = "The rewriter's warm path through the Runtime API against one moto, as ratios to its floors"
)]
pub struct Options {
    /// The rewriter binary [default: beside this one].
    #[arg(long)]
    rewriter: Option<PathBuf>,
    /// The no-op function binary [default: noop-function beside this one].
    #[arg(long)]
    noop: Option<PathBuf>,
    /// An earlier rewriter binary, measured the same way (before/after).
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// moto's server [default: .venv/bin/moto_server of the current folder].
    #[arg(long, default_value = ".venv/bin/moto_server")]
    moto_server: PathBuf,
    /// Timed invocations per row (after one untimed).
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Playlist sizes, in segments.
    #[arg(long, value_delimiter = ',', default_values_t = [10usize, 1_000, 10_000])]
    sizes: Vec<usize>,
}

/// A rewriter process's mode: its label, extra settings, and whether each
/// request brings a new grant.
type Mode = (&'static str, &'static [(&'static str, &'static str)], bool);

/// One measured row.
struct Row {
    label: String,
    segments: usize,
    p50: f64,
    p90: f64,
    out_bytes: usize,
    stages: Option<Stages>,
}

/// Medians and totals from the rewriter's log lines of one row.
struct Stages {
    verify: f64,
    read: f64,
    rewrite: f64,
    encode: f64,
    duration: f64,
    body_source: String,
    s3_requests: f64,
    signatures: f64,
    /// Median of (round trip - the handler's own duration), per request:
    /// the runtime's share (event in, answer serialised and posted).
    outside: f64,
}

fn beside(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

fn playlist(segments: usize) -> String {
    let mut p = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n");
    for i in 0..segments {
        p.push_str(&format!("#EXTINF:4.000000,\nsegment_{i:05}.ts\n"));
    }
    p.push_str("#EXT-X-ENDLIST\n");
    p
}

fn now() -> u64 {
    signed_hls_aws::now_epoch()
}

fn signer(pem: &str) -> UrlSigner {
    let key = SigningKey::from_pem(pem).unwrap_or_else(|e| fail(e));
    UrlSigner::new(
        KeyPairId::new(KEY_ID).unwrap_or_else(|e| fail(e)),
        key,
        HashAlgorithm::Sha1,
    )
}

/// The query the rewriter sees for a viewer holding the movie's directory
/// until `expires`: CloudFront's parameters stripped, the `-PREFIX` copies kept.
fn viewer_query(signer: &UrlSigner, path: &str, expires: u64) -> String {
    let policy = Policy::new(format!("{CF}/movies/movie_1/*"), expires);
    let url = signer
        .sign_with_policy_and_copies(&format!("{CF}{path}"), &policy, &KeySuffix::default())
        .unwrap_or_else(|e| fail(e));
    let stripped = strip_params(&url, &RESERVED_PARAMS);
    stripped.split_once('?').map(|(_, q)| q.to_owned()).unwrap_or_default()
}

/// A function URL event (payload format 2.0), as CloudFront forwards it.
fn event(path: &str, query: &str) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {"host": "d111111abcdef8.cloudfront.net", "accept-encoding": "gzip"},
        "requestContext": {
            "accountId": "anonymous", "apiId": "bench", "domainName": "bench", "domainPrefix": "bench",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": "$default", "stage": "$default", "time": "", "timeEpoch": 0
        },
        "isBase64Encoded": false
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// (p50, p90) of `values` in ms.
fn percentiles(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    (median(&values), p90(&values))
}

/// moto on a free loopback port, killed when dropped.
struct Moto {
    _child: tokio::process::Child,
    endpoint: String,
}

async fn start_moto(binary: &Path) -> Moto {
    if !binary.exists() {
        fail(format!(
            "{} is missing: run scripts/bootstrap.sh python (moto[server])",
            binary.display()
        ));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| fail(e));
    let child = tokio::process::Command::new(binary)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| fail(format!("cannot start {}: {e}", binary.display())));
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if Instant::now() > deadline {
            fail("moto_server did not listen within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Moto {
        _child: child,
        endpoint: format!("http://127.0.0.1:{port}"),
    }
}

/// Invokes `function` with `events()` once untimed, then `runs` times;
/// (p50, p90, the last answer's payload).
async fn measure(
    function: &Function,
    what: &str,
    runs: usize,
    mut events: impl FnMut(usize) -> Value,
) -> (f64, f64, Vec<u8>, Vec<f64>) {
    let mut times = Vec::with_capacity(runs);
    let mut last = Vec::new();
    for i in 0..=runs {
        let event = events(i);
        let started = Instant::now();
        let received = function.invoke_raw(event).await;
        let payload = received.payload.unwrap_or_else(|e| fail(format!("{what}: {e}")));
        if i > 0 {
            times.push(ms(received.at - started));
        }
        let status = serde_json::from_slice::<Value>(&payload)
            .ok()
            .and_then(|v| v.get("statusCode").and_then(Value::as_u64))
            .unwrap_or(200);
        if status != 200 {
            let text = String::from_utf8_lossy(&payload);
            fail(format!("{what}: status {status}: {}", text.get(..300).unwrap_or(&text)));
        }
        last = payload.to_vec();
    }
    let (p50, p90) = percentiles(times.clone());
    (p50, p90, last, times)
}

/// The answer's body size as sent (gzip bytes, or text).
fn body_bytes(payload: &[u8]) -> usize {
    let v: Value = serde_json::from_slice(payload).unwrap_or_default();
    let body = v["body"].as_str().unwrap_or("");
    if v["isBase64Encoded"].as_bool() == Some(true) {
        body.len() / 4 * 3
    } else {
        body.len()
    }
}

/// Medians of the request log lines among `lines`, the first `skip` left
/// out; `times` are the round trips of the same requests, in order.
fn stages(lines: &[String], skip: usize, times: &[f64]) -> Option<Stages> {
    let fields: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| v["fields"].clone())
        .filter(|f| f["message"] == "request")
        .skip(skip)
        .collect();
    if fields.is_empty() {
        return None;
    }
    let med = |name: &str| {
        let values: Vec<f64> = fields.iter().filter_map(|f| f[name].as_f64()).collect();
        if values.is_empty() {
            return f64::NAN;
        }
        percentiles(values).0
    };
    let mean = |name: &str| {
        let values: Vec<f64> = fields.iter().filter_map(|f| f[name].as_f64()).collect();
        if values.is_empty() {
            return f64::NAN;
        }
        values.iter().sum::<f64>() / values.len() as f64
    };
    let mut sources: Vec<String> = fields
        .iter()
        .filter_map(|f| f["body_source"].as_str().map(str::to_owned))
        .collect();
    sources.sort();
    sources.dedup();
    let outside: Vec<f64> = fields
        .iter()
        .zip(times)
        .filter_map(|(f, t)| f["duration_ms"].as_f64().map(|d| t - d))
        .collect();
    Some(Stages {
        outside: if outside.is_empty() {
            f64::NAN
        } else {
            percentiles(outside).0
        },
        verify: med("verify_ms"),
        read: med("read_ms"),
        rewrite: med("rewrite_ms"),
        encode: med("encode_ms"),
        duration: med("duration_ms"),
        body_source: if sources.is_empty() {
            "-".into()
        } else {
            sources.join("+")
        },
        s3_requests: mean("s3_requests"),
        signatures: mean("signatures_computed"),
    })
}

fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

struct Setup {
    endpoint: String,
    secrets: Vec<(&'static str, &'static str, String)>,
}

/// The bucket with the playlists, and one secret per key: (name, pem, arn).
async fn setup(endpoint: &str, sizes: &[usize]) -> Setup {
    let sdk = signed_hls_aws::aws::sdk_config_for_endpoint(endpoint).await;
    let s3 = signed_hls_aws::aws::s3_client(&sdk, true);
    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap_or_else(|e| fail(format!("create bucket: {e}")));
    for n in sizes {
        s3.put_object()
            .bucket(BUCKET)
            .key(format!("movies/movie_1/p{n}.m3u8"))
            .body(playlist(*n).into_bytes().into())
            .send()
            .await
            .unwrap_or_else(|e| fail(format!("put object: {e}")));
    }
    let sm = signed_hls_aws::aws::secrets_client(&sdk);
    let mut secrets = Vec::new();
    for (name, pem) in [("RSA", RSA_PEM), ("ECDSA", EC_PEM)] {
        let secret = json!({"key_pair_id": KEY_ID, "private_key": pem, "cf_url": CF}).to_string();
        let out = sm
            .create_secret()
            .name(format!("bench-{name}-{}", std::process::id()))
            .secret_string(secret)
            .send()
            .await
            .unwrap_or_else(|e| fail(format!("create secret: {e}")));
        secrets.push((name, pem, out.arn().unwrap_or_default().to_owned()));
    }
    Setup {
        endpoint: endpoint.to_owned(),
        secrets,
    }
}

/// The floor: a GetObject of each playlist with the Rust SDK (body read whole).
async fn s3_floor(endpoint: &str, sizes: &[usize], runs: usize) -> Vec<Row> {
    let sdk = signed_hls_aws::aws::sdk_config_for_endpoint(endpoint).await;
    let s3 = signed_hls_aws::aws::s3_client(&sdk, true);
    let mut rows = Vec::new();
    for &n in sizes {
        let mut times = Vec::with_capacity(runs);
        let mut size = 0;
        for i in 0..=runs {
            let started = Instant::now();
            let out = s3
                .get_object()
                .bucket(BUCKET)
                .key(format!("movies/movie_1/p{n}.m3u8"))
                .send()
                .await
                .unwrap_or_else(|e| fail(format!("get object: {e}")));
            let body = out
                .body
                .collect()
                .await
                .unwrap_or_else(|e| fail(format!("get object body: {e}")));
            if i > 0 {
                times.push(ms(started.elapsed()));
            }
            size = body.into_bytes().len();
        }
        let (p50, p90) = percentiles(times);
        rows.push(Row {
            label: "S3 GET (Rust SDK)".into(),
            segments: n,
            p50,
            p90,
            out_bytes: size,
            stages: None,
        });
    }
    rows
}

fn rewriter_env(setup: &Setup, arn: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("SM_SECRET_NAME", arn),
        ("AWS_ENDPOINT_URL", setup.endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("S3_BUCKET", BUCKET),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    env
}

/// One rewriter process per mode; each row of `sizes` through it.
/// Returns the rows, the warm answers (by size) and the process's peak RSS.
async fn rewriter_rows(
    binary: &Path,
    label: &str,
    env: Vec<(String, String)>,
    sizes: &[usize],
    runs: usize,
    signer: &UrlSigner,
    fresh_grants: bool,
) -> (Vec<Row>, Vec<Vec<u8>>, f64) {
    let function = Function::start("rewriter", binary, &env, 1, TIMEOUT, Logs::Capture)
        .await
        .unwrap_or_else(|e| fail(e));
    let mut rows = Vec::new();
    let mut answers = Vec::new();
    let expires = now() + 3600;
    for &n in sizes {
        let path = format!("/movies/movie_1/p{n}.m3u8");
        // A new grant per request signs anew (RSA: ~1 ms in this process, untimed).
        let queries: Vec<String> = if fresh_grants {
            (0..=runs)
                .map(|i| viewer_query(signer, &path, expires + (n * 1_000 + i) as u64))
                .collect()
        } else {
            vec![viewer_query(signer, &path, expires)]
        };
        let (p50, p90, answer, times) = measure(&function, label, runs, |i| {
            event(&path, &queries[if fresh_grants { i } else { 0 }])
        })
        .await;
        if let Some(reason) = function.exited() {
            fail(reason);
        }
        rows.push(Row {
            label: label.to_owned(),
            segments: n,
            p50,
            p90,
            out_bytes: body_bytes(&answer),
            stages: stages(&function.take_logs(), 1, &times),
        });
        answers.push(answer);
    }
    let rss = function.pids().first().map_or(f64::NAN, |pid| peak_rss_mib(*pid));
    function.shutdown().await;
    (rows, answers, rss)
}

/// The pure rewrite in this process: p50 ms with a warm signature cache.
fn core_rewrite(pem: &str, n: usize, runs: usize) -> f64 {
    let signer = signer(pem);
    let config = RewriterConfig::from_env(&Env::from_pairs([
        ("SIGNING_KEY_FILE", "unused"),
        ("S3_BUCKET", BUCKET),
        ("CF_KEY_ID", KEY_ID),
    ]))
    .unwrap_or_else(|e| fail(e));
    let base = BaseUrl::parse(CF).unwrap_or_else(|e| fail(e));
    let playlist_config = config.playlist_config(&base).unwrap_or_else(|e| fail(e));
    let path = format!("/movies/movie_1/p{n}.m3u8");
    let url = format!("{CF}{path}?{}", viewer_query(&signer, &path, now() + 3600));
    let mut verifier = Verifier::new();
    verifier.trust(KEY_ID, signer.verifying_key());
    let incoming = Incoming::verify(&verifier, &url, &KeySuffix::default(), now(), None).unwrap_or_else(|e| fail(e));
    let body = playlist(n).into_bytes();
    let cache = SignatureCache::default();
    let playlist_url = format!("{CF}{path}");
    let mut times = Vec::with_capacity(runs);
    for i in 0..=runs {
        let started = Instant::now();
        let out = playlist_rewrite::rewrite(&body, &playlist_url, &incoming, &playlist_config, &signer, &cache)
            .unwrap_or_else(|e| fail(e));
        std::hint::black_box(&out);
        if i > 0 {
            times.push(ms(started.elapsed()));
        }
    }
    percentiles(times).0
}

/// The no-op function answering `answer` (or its fixed tiny answer).
async fn noop_row(binary: &Path, answer: Option<&[u8]>, runs: usize, label: &str, segments: usize) -> Row {
    let mut env = Vec::new();
    let file = answer.map(|answer| {
        let file = std::env::temp_dir().join(format!("bench-answer-{}-{segments}-{label}", std::process::id()));
        std::fs::write(&file, answer).unwrap_or_else(|e| fail(e));
        env.push(("NOOP_ANSWER_FILE".to_owned(), file.display().to_string()));
        file
    });
    let function = Function::start("noop", binary, &env, 1, TIMEOUT, Logs::Discard)
        .await
        .unwrap_or_else(|e| fail(e));
    let (p50, p90, last, _) = measure(&function, label, runs, |_| event("/movies/movie_1/p.m3u8", "")).await;
    function.shutdown().await;
    if let Some(file) = file {
        let _ = std::fs::remove_file(file);
    }
    Row {
        label: label.to_owned(),
        segments,
        p50,
        p90,
        out_bytes: body_bytes(&last),
        stages: None,
    }
}

fn print_rows(rows: &[Row], noop: f64, s3: &[Row], same_answer: &[(String, usize, f64)]) {
    println!(
        "| rewriter | segments | p50 ms | p90 ms | ÷ no-op | ÷ S3 GET | ÷ no-op, same answer | body bytes | body | S3 req | sigs | verify | read | rewrite | encode | handler | outside |"
    );
    println!(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for r in rows {
        let s3_p50 = s3.iter().find(|s| s.segments == r.segments).map_or(f64::NAN, |s| s.p50);
        let same = same_answer
            .iter()
            .find(|(l, n, _)| *n == r.segments && r.label.starts_with(l.as_str()))
            .map_or(String::from("-"), |(_, _, p50)| format!("{:.2}", r.p50 / p50));
        let st = r.stages.as_ref();
        let f = |v: Option<f64>| {
            v.filter(|v| v.is_finite())
                .map_or("-".to_owned(), |v| format!("{v:.2}"))
        };
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.1} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.segments,
            r.p50,
            r.p90,
            r.p50 / noop,
            r.p50 / s3_p50,
            same,
            r.out_bytes,
            st.map_or("-".into(), |s| s.body_source.clone()),
            f(st.map(|s| s.s3_requests)),
            f(st.map(|s| s.signatures)),
            f(st.map(|s| s.verify)),
            f(st.map(|s| s.read)),
            f(st.map(|s| s.rewrite)),
            f(st.map(|s| s.encode)),
            f(st.map(|s| s.duration)),
            f(st.map(|s| s.outside)),
        );
    }
}

/// Runs the whole bench and prints its tables.
pub async fn main(options: Options) {
    let rewriter = options.rewriter.clone().unwrap_or_else(|| beside("rewriter"));
    let noop = options.noop.clone().unwrap_or_else(|| beside("noop-function"));
    for binary in [Some(&rewriter), Some(&noop), options.baseline.as_ref()]
        .into_iter()
        .flatten()
    {
        if !binary.exists() {
            fail(format!("{} is missing", binary.display()));
        }
    }
    if options.runs == 0 || options.sizes.is_empty() {
        fail("--runs and --sizes must not be empty");
    }
    let runs = options.runs;
    let sizes = &options.sizes;
    let moto = start_moto(&options.moto_server).await;
    let setup = setup(&moto.endpoint, sizes).await;
    println!(
        "signed-hls bench: one moto ({}), {runs} timed invocations per row after one untimed, \
         Accept-Encoding: gzip; times in ms, from the event handed to the Runtime API to the answer's last byte there\n",
        moto.endpoint
    );

    // The floors.
    let s3 = s3_floor(&setup.endpoint, sizes, runs).await;
    let noop_tiny = noop_row(&noop, None, runs, "no-op function", 0).await;
    println!("## Floors\n");
    println!("| floor | segments | p50 ms | p90 ms | body bytes |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for r in s3.iter().chain(std::iter::once(&noop_tiny)) {
        println!(
            "| {} | {} | {:.2} | {:.2} | {} |",
            r.label, r.segments, r.p50, r.p90, r.out_bytes
        );
    }

    let mut all_rows = Vec::new();
    let mut same_answer = Vec::new();
    let mut cores = Vec::new();
    let mut rss = Vec::new();
    let mut binaries = vec![("", rewriter.clone())];
    if let Some(baseline) = &options.baseline {
        binaries.push(("baseline ", baseline.clone()));
    }
    for (name, pem, arn) in &setup.secrets {
        let signer = signer(pem);
        for (prefix, binary) in &binaries {
            let modes: &[Mode] = if prefix.is_empty() {
                &[
                    ("warm caches", &[], false),
                    ("revalidated (304)", &[("RAW_CACHE_SECONDS", "0")], false),
                    ("cold caches", &[("RAW_CACHE_BYTES", "0")], true),
                ]
            } else {
                &[("same grant", &[], false), ("new grant", &[], true)]
            };
            for (mode, extra, fresh) in modes {
                let label = format!("{prefix}{name} {mode}");
                let env = rewriter_env(&setup, arn, extra);
                let (rows, answers, peak) = rewriter_rows(binary, &label, env, sizes, runs, &signer, *fresh).await;
                rss.push((label.clone(), peak));
                if prefix.is_empty() && mode.starts_with("warm") {
                    for (&n, answer) in sizes.iter().zip(&answers) {
                        let row = noop_row(&noop, Some(answer), runs, &format!("{name} answer"), n).await;
                        same_answer.push((format!("{name} "), n, row.p50));
                    }
                }
                all_rows.extend(rows);
            }
        }
        for &n in sizes {
            cores.push((*name, n, core_rewrite(pem, n, runs)));
        }
    }

    println!("\n## Rewriter through the Runtime API\n");
    println!(
        "÷ no-op: the no-op function's fixed answer (p50 {:.2} ms); ÷ S3 GET: the floor of the same size; \
         ÷ no-op, same answer: the no-op function posting this rewriter's own warm answer.\n\
         body: where the playlist came from (rewriter's log line); S3 req and sigs: per request; \
         verify/read/rewrite/encode/handler: medians of the log line's stage times; \
         outside: median of (round trip - handler), the runtime's share.\n",
        noop_tiny.p50
    );
    print_rows(&all_rows, noop_tiny.p50, &s3, &same_answer);

    println!("\n## The rewrite alone, and posting the answer\n");
    println!("| key | segments | core rewrite p50 ms | no-op posting the same answer p50 ms |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, n, core) in &cores {
        let post = same_answer
            .iter()
            .find(|(l, m, _)| m == n && l.trim() == *name)
            .map_or(f64::NAN, |(_, _, p)| *p);
        println!("| {name} | {n} | {core:.2} | {post:.2} |");
    }

    println!("\n## Peak RSS (VmHWM) of each rewriter process, after its largest playlist\n");
    for (label, mib) in &rss {
        println!("- {label}: {mib:.1} MiB");
    }

    println!("\n## Targets\n");
    for (name, _, _) in &setup.secrets {
        let warm = |n: usize| {
            all_rows
                .iter()
                .find(|r| r.segments == n && r.label == format!("{name} warm caches"))
                .map(|r| r.p50)
        };
        let same = |n: usize| {
            same_answer
                .iter()
                .find(|(l, m, _)| *m == n && l.trim() == *name)
                .map(|(_, _, p)| *p)
        };
        if let (Some(w), Some(s)) = (warm(1_000), same(1_000)) {
            println!(
                "- {name}, 1,000 segments, warm VOD from the raw cache: p50 {w:.2} ms = {:.2}x the no-op function \
                 posting the same answer ({s:.2} ms), {:.1}x the no-op's fixed answer ({:.2} ms); target 1.5x: {}",
                w / s,
                w / noop_tiny.p50,
                noop_tiny.p50,
                if w <= 1.5 * s { "met" } else { "missed" }
            );
        }
        let core = cores.iter().find(|(k, n, _)| k == name && *n == 10_000).map(|c| c.2);
        if let (Some(w), Some(s), Some(c)) = (warm(10_000), same(10_000), core) {
            let bound = 2.0 * c + s;
            println!(
                "- {name}, 10,000 segments: p50 {w:.2} ms; 2 x core rewrite ({c:.2} ms) + posting the answer ({s:.2} ms) \
                 = {bound:.2} ms: {:.2}x that; target 1x: {}",
                w / bound,
                if w <= bound { "met" } else { "missed" }
            );
        }
    }
    drop(moto);
}
