//! Benchmark (not a test): the rewriter in KMS mode against moto's KMS
//! (issue 14). Prints moto's own time per `kms:Sign` call (the signer alone,
//! one call at a time), then, per playlist, the latency of a rewrite whose
//! signatures are all new (a fresh viewer window each run: KMS calls, up to
//! KMS_MAX_CONCURRENT_SIGNS at once) and of a warm one (all cached: no
//! KMS call), with the signatures per request.
//!
//! ```text
//! cargo run --release -p rewriter --example bench_kms -- [--spec RSA_2048|ECC_NIST_P256] [--runs N]
//! ```
//! moto signs in Python on this machine: real KMS latency (a few ms per call
//! in-region) replaces moto's per-call time in the first rows.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use cloudfront_sign::Policy;
use rewriter::{Deps, handler};
use serde_json::json;
use signed_hls_aws::{Env, RewriterConfig};
use support::*;

fn media(segments: usize) -> String {
    let mut p = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:4\n");
    for i in 0..segments {
        p.push_str(&format!("#EXTINF:4.000000,\nsegment_{i:05}.ts\n"));
    }
    p.push_str("#EXT-X-ENDLIST\n");
    p
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

async fn kms_deps(key_id: &str, mode: &str, store: std::sync::Arc<dyn signed_hls_aws::ObjectStore>) -> Deps {
    let env = [
        ("KMS_KEY_ID", key_id),
        ("CF_URL", CF),
        ("CF_KEY_ID", KEY_ID),
        ("S3_BUCKET", "unused"),
        ("REWRITE_MODE", mode),
        ("MAX_NEW_SIGNATURES", "0"),
    ];
    let config = RewriterConfig::from_env(&Env::from_pairs(env)).unwrap();
    let started = started_kms(&config.common, kms_source(&moto().endpoint, key_id).await, Some(store)).await;
    Deps::new(config, started, Box::new(|| NOW)).unwrap()
}

#[tokio::main]
async fn main() {
    let mut spec = "RSA_2048".to_owned();
    let mut runs = 10usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--spec" => spec = args.next().expect("--spec VALUE"),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let (key_id, _) = kms_key(&moto().endpoint, &spec).await;
    let master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\nv1/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=3\nv2/index.m3u8\n";
    let dir = MediaDir::new(&[
        ("movies/movie_1/index.m3u8", master.to_owned()),
        ("movies/movie_1/p10.m3u8", media(10)),
        ("movies/movie_1/p100.m3u8", media(100)),
    ]);

    // moto's own time per Sign call, through our signer, one at a time.
    let deps = kms_deps(&key_id, "resign", dir.store()).await;
    let signer = deps.key.current().await.unwrap().signer.clone();
    let mut per_call = Vec::new();
    for i in 0..runs.max(5) * 3 {
        let policy = Policy::new(format!("{CF}/movies/movie_1/*"), NOW + 3600 + i as u64).to_json();
        let t = Instant::now();
        signer.sign(&[policy.as_bytes()]).await.unwrap();
        per_call.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "{spec}: moto kms:Sign per call (sequential): p50 {:.2} ms",
        median(&mut per_call)
    );
    println!("| playlist | mode | signatures/request | new-signature rewrite p50 (ms) | warm rewrite p50 (ms) |");
    println!("| --- | --- | ---: | ---: | ---: |");
    for (name, mode) in [("index", "resign"), ("p10", "per-uri"), ("p100", "per-uri")] {
        let deps = kms_deps(&key_id, mode, dir.store()).await;
        let path = format!("/movies/movie_1/{name}.m3u8");
        let (mut fresh, mut warm, mut per_request) = (Vec::new(), Vec::new(), 0);
        for run in 0..runs {
            // A new window each run: every policy is new to the cache.
            let policy = Policy::new(format!("{CF}/movies/movie_1/*"), NOW + 7200 + 60 * run as u64);
            let q = kms_viewer_query(&deps, &path, &policy).await;
            let before = deps.signature_cache_stats().map_or(0, |s| s.1);
            let t = Instant::now();
            let r = handler(get(&path, &q, json!({})), &deps).await.unwrap();
            fresh.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(r.status_code, 200, "{}", text(&r));
            per_request = deps.signature_cache_stats().unwrap().1 - before;
            let t = Instant::now();
            let r = handler(get(&path, &q, json!({})), &deps).await.unwrap();
            warm.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(r.status_code, 200);
        }
        println!(
            "| {name} | {mode} | {per_request} | {:.2} | {:.2} |",
            median(&mut fresh),
            median(&mut warm)
        );
    }
}
