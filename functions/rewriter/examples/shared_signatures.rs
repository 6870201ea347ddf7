//! Measurement (not a test): signatures per new viewer of the sample movie
//! (`tests/fixtures/media/movies/movie_1`: a master, two video renditions and
//! an audio one), for 1, 10 and 100 viewers arriving evenly over one minute,
//! with `EXPIRY_GRANULARITY_SECONDS` 0 (before issue 14: exact expiries) and
//! 60 (the default).
//!
//! ```text
//! cargo run --release -p rewriter --example shared_signatures
//! ```
//!
//! Each viewer asks signurl for a URL, then plays it: the master through the
//! rewriter, then every child playlist the master lists, each with the
//! query the rewritten master gave it, CloudFront's own parameters removed
//! (what the edge forwards). One warm signurl and one warm rewriter serve
//! everyone, as one Lambda instance each would; the first viewer arrives 40 s
//! into a minute (`NOW`), so a minute of arrivals spans two windows. A
//! signature is a cache miss of either function: an RSA signature with the
//! local key, a `kms:Sign` call with a KMS key.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cloudfront_sign::{RESERVED_PARAMS, strip_params};
use serde_json::json;
use signed_hls_aws::store::FsStore;
use signed_hls_aws::testing::{CF, KEY_ID, NOW, PEM, event, json_body, secret_file, started, text};
use signed_hls_aws::{Env, ObjectStore, RewriterConfig, SignurlConfig};

fn media() -> Arc<dyn ObjectStore> {
    Arc::new(FsStore::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/media"
    )))
}

/// `(path, query)` of `url` as the edge forwards it: CloudFront's parameters removed.
fn forwarded(url: &str) -> (String, String) {
    let stripped = strip_params(url, &RESERVED_PARAMS);
    let rest = stripped.strip_prefix(CF).unwrap_or(&stripped);
    match rest.split_once('?') {
        Some((path, query)) => (path.to_owned(), query.to_owned()),
        None => (rest.to_owned(), String::new()),
    }
}

/// The child playlists of a master: lines and `URI="..."` values ending in `.m3u8` (before the query).
fn children(master: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in master.lines() {
        let candidate = match line.find("URI=\"") {
            Some(i) => line[i + 5..].split('"').next().unwrap_or(""),
            None if !line.starts_with('#') => line.trim(),
            None => "",
        };
        if candidate.split('?').next().is_some_and(|p| p.ends_with(".m3u8")) {
            out.push(candidate.to_owned());
        }
    }
    out
}

async fn run(viewers: u64, granularity: &str, mode: &str) -> (u64, u64) {
    let secret = secret_file(PEM);
    let secret_path = secret.to_str().unwrap();
    let common = [
        ("SIGNING_KEY_FILE", secret_path),
        ("CF_URL", CF),
        ("CF_KEY_ID", KEY_ID),
        ("EXPIRY_GRANULARITY_SECONDS", granularity),
    ];
    let clock = Arc::new(AtomicU64::new(NOW));
    let tick = |c: &Arc<AtomicU64>| {
        let c = c.clone();
        Box::new(move || c.load(Ordering::Relaxed)) as Box<dyn Fn() -> u64 + Send + Sync>
    };

    let config = SignurlConfig::from_env(&Env::from_pairs(common)).unwrap();
    let s = started(&config.common, &secret, None).await;
    let signurl = signurl::Deps::new(config, s, signurl::auth::Authorizer::open(), tick(&clock));

    let mut pairs = common.to_vec();
    pairs.extend([("S3_BUCKET", "unused"), ("REWRITE_MODE", mode)]);
    let config = RewriterConfig::from_env(&Env::from_pairs(pairs)).unwrap();
    let s = started(&config.common, &secret, Some(media())).await;
    let rewriter = rewriter::Deps::new(config, s, tick(&clock)).unwrap();

    for i in 0..viewers {
        clock.store(NOW + i * 60 / viewers, Ordering::Relaxed);
        let r = signurl::handler(event("GET", "/content/media/signurl", "movie=1", json!({})), &signurl)
            .await
            .unwrap();
        assert_eq!(r.status_code, 200);
        let (path, query) = forwarded(json_body(&r)["url"].as_str().unwrap());
        let r = rewriter::handler(event("GET", &path, &query, json!({})), &rewriter)
            .await
            .unwrap();
        assert_eq!(r.status_code, 200, "{}", text(&r));
        let master = text(&r);
        let dir = path.rsplit_once('/').unwrap().0;
        for child in children(&master) {
            let (path, query) = forwarded(&format!("{CF}{dir}/{child}"));
            let r = rewriter::handler(event("GET", &path, &query, json!({})), &rewriter)
                .await
                .unwrap();
            assert_eq!(r.status_code, 200, "{path}: {}", text(&r));
        }
    }
    let _ = std::fs::remove_file(&secret);
    let rewriter_misses = rewriter.signature_cache_stats().map_or(0, |(_, misses)| misses);
    (signurl.signatures.misses(), rewriter_misses)
}

#[tokio::main]
async fn main() {
    println!("signatures per new viewer of movie_1 (signurl + rewriter), viewers arriving over one minute");
    println!("| REWRITE_MODE | viewers | granularity 0 (before) | granularity 60 (after) |");
    println!("| --- | ---: | --- | --- |");
    for mode in ["resign", "per-uri"] {
        for viewers in [1u64, 10, 100] {
            let mut cells = Vec::new();
            for granularity in ["0", "60"] {
                let (signurl, rewriter) = run(viewers, granularity, mode).await;
                let total = signurl + rewriter;
                cells.push(format!(
                    "{:.2} ({total} = {signurl} signurl + {rewriter} rewriter)",
                    total as f64 / viewers as f64
                ));
            }
            println!("| {mode} | {viewers} | {} | {} |", cells[0], cells[1]);
        }
    }
}
