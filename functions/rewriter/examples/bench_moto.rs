//! Benchmark (not a test): warm invocation latency of the rewriter handler
//! against moto's S3, for playlists of 10, 1,000 and 10,000 segments, and the
//! process's peak RSS.
//!
//! ```text
//! cargo run --release -p rewriter --example bench_moto -- [SEGMENTS ...] [--mode resign|per-uri|reuse] [--runs N]
//! ```
//! One process per size gives a clean peak RSS (`functions/rewriter/bench.sh` does that).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use rewriter::handler;
use serde_json::json;
use support::*;

fn playlist(segments: usize) -> String {
    let mut p = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n");
    for i in 0..segments {
        p.push_str(&format!("#EXTINF:4.000000,\nsegment_{i:05}.ts\n"));
    }
    p.push_str("#EXT-X-ENDLIST\n");
    p
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")
                    .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))
            })
        })
        .unwrap_or(0)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut sizes = Vec::new();
    let mut mode = "resign".to_owned();
    let mut runs = 30usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--mode" => mode = args.next().expect("--mode VALUE"),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            n => sizes.push(n.parse::<usize>().expect("a segment count")),
        }
    }
    if sizes.is_empty() {
        sizes = vec![10, 1_000, 10_000];
    }
    let objects: Vec<(String, Vec<u8>)> = sizes
        .iter()
        .map(|n| (format!("movies/movie_1/p{n}.m3u8"), playlist(*n).into_bytes()))
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = objects.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let bucket = bucket(&refs).await;
    // The cold-start part that is ours: fetch the secret from (moto's)
    // Secrets Manager and parse the key.
    let sdk = signed_hls_aws::aws::sdk_config_for_endpoint(&moto().endpoint).await;
    let sm = signed_hls_aws::aws::secrets_client(&sdk);
    let name = format!("bench-{}", std::process::id());
    sm.create_secret().name(&name).secret_string(PEM).send().await.unwrap();
    let source = std::sync::Arc::new(signed_hls_aws::secret::SecretsManagerSecret::new(sm, &name, fast()));
    let common = signed_hls_aws::CommonConfig::from_env(&signed_hls_aws::Env::from_pairs([
        ("SM_SECRET_NAME", name.as_str()),
        ("CF_KEY_ID", KEY_ID),
    ]))
    .unwrap();
    let t = Instant::now();
    let _key = signed_hls_aws::KeyCache::load(source, &common).await.unwrap();
    println!(
        "key fetched from Secrets Manager (moto) and parsed: {:.2} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let s3 = signed_hls_aws::aws::s3_client(&sdk, true);
    let store = std::sync::Arc::new(signed_hls_aws::store::S3Store::new(s3, &bucket, fast()));
    let deps = deps(&[("REWRITE_MODE", &mode)], store).await;
    println!("mode={mode} runs={runs} (moto S3 on loopback, RSA-2048 SHA-1, handler called in-process)");
    println!(
        "{:>9} {:>10} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "segments", "cold_ms", "warm_p50", "warm_p90", "gzip_p50", "out_bytes", "peak_rss_MiB"
    );
    for n in sizes {
        let path = format!("/movies/movie_1/p{n}.m3u8");
        let q = viewer_query(&signer(PEM, KEY_ID), &path, &movie_policy());
        let t = Instant::now();
        let r = handler(get(&path, &q, json!({})), &deps).await.unwrap();
        let cold = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(r.status_code, 200, "{}", text(&r));
        let out_bytes = text(&r).len();
        let mut warm = Vec::with_capacity(runs);
        let mut gz = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let r = handler(get(&path, &q, json!({})), &deps).await.unwrap();
            warm.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(r.status_code, 200);
            let t = Instant::now();
            let r = handler(get(&path, &q, json!({"accept-encoding": "gzip"})), &deps)
                .await
                .unwrap();
            gz.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(r.status_code, 200);
        }
        let p50 = median(&mut warm);
        let p90 = warm[(warm.len() * 9 / 10).min(warm.len() - 1)];
        println!(
            "{n:>9} {cold:>10.2} {p50:>10.2} {p90:>10.2} {:>10.2} {out_bytes:>10} {:>12.1}",
            median(&mut gz),
            peak_rss_kib() as f64 / 1024.0
        );
    }
}
