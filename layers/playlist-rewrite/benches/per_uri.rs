//! Per-URI signing of a 10,000-segment media playlist, with RSA-2048 and
//! ECDSA P-256 keys: `cold` starts every iteration with an empty signature
//! cache (10,000 new signatures: what each new viewer costs), `warm` reuses
//! one (the same viewer again, or a retry after `Error::SigningBudget`).
//!
//! cargo bench -p playlist-rewrite --bench per_uri

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{HOST, media, signer_and_grant};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use playlist_rewrite::{Config, SignatureCache, Strategy, rewrite};

const SEGMENTS: usize = 10_000;

fn bench(c: &mut Criterion) {
    let keys = [
        (
            "rsa2048",
            include_str!("../../cloudfront-sign/tests/fixtures/rsa2048_pkcs1.pem"),
        ),
        (
            "ecdsa_p256",
            include_str!("../../cloudfront-sign/tests/fixtures/ec_p256_pkcs8.pem"),
        ),
    ];
    let body = media(SEGMENTS);
    let url = format!("https://{HOST}/movies/movie_1/index.m3u8");
    let config = Config::builder().strategy(Strategy::PerUri).build().unwrap();
    let mut group = c.benchmark_group("per_uri_10000_segments");
    for (name, pem) in keys {
        let (signer, incoming) = signer_and_grant(pem);
        let warm = SignatureCache::default();
        let out = rewrite(&body, &url, &incoming, &config, &signer, &warm).unwrap();
        assert_eq!(out.summary.signatures_computed, SEGMENTS);
        eprintln!("{name}: {} -> {} bytes", body.len(), out.body.len());

        group
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4));
        group.bench_function(BenchmarkId::new(name, "warm"), |b| {
            b.iter(|| rewrite(black_box(&body), &url, &incoming, &config, &signer, &warm).unwrap())
        });
        // Cold RSA is 10,000 signatures an iteration: ten samples, one iteration each.
        let (samples, time) = if name == "rsa2048" { (10, 60) } else { (10, 10) };
        group
            .sample_size(samples)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(time));
        group.bench_function(BenchmarkId::new(name, "cold"), |b| {
            b.iter(|| {
                let cache = SignatureCache::default();
                rewrite(black_box(&body), &url, &incoming, &config, &signer, &cache).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
