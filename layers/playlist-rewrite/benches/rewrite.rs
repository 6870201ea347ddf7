//! The rewrite on generated playlists: a 10,000-segment media playlist and a
//! 100-rendition master, in each strategy, with an RSA-2048 key.
//!
//! `cold` starts every iteration with an empty signature cache (so `resign`
//! includes its one RSA signature per directory); `warm` reuses one cache, as
//! a warm Lambda does. Throughput is output bytes (decimal MB/s).
//!
//! cargo bench -p playlist-rewrite --bench rewrite

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{HOST, media, signer_and_grant};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use playlist_rewrite::{Config, SignatureCache, Strategy, rewrite};

fn master(renditions: usize) -> Vec<u8> {
    let mut text = String::from("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for i in 0..renditions {
        text.push_str(&format!(
            "#EXT-X-STREAM-INF:BANDWIDTH={},CODECS=\"avc1.640020,mp4a.40.2\",RESOLUTION=960x540\nv{i}/prog_index.m3u8\n",
            100_000 + i * 10_000
        ));
    }
    text.into_bytes()
}

fn bench(c: &mut Criterion) {
    let pem = include_str!("../../cloudfront-sign/tests/fixtures/rsa2048_pkcs1.pem");
    let (signer, incoming) = signer_and_grant(pem);
    let url = format!("https://{HOST}/movies/movie_1/index.m3u8");
    let playlists = [
        ("media_10000_segments", media(10_000)),
        ("master_100_renditions", master(100)),
    ];

    for (name, body) in &playlists {
        let mut group = c.benchmark_group(*name);
        group
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4));
        for strategy in [Strategy::Resign, Strategy::PerUri, Strategy::Reuse] {
            let config = Config::builder().strategy(strategy).build().unwrap();
            let warm = SignatureCache::default();
            let out = rewrite(body, &url, &incoming, &config, &signer, &warm).unwrap();
            group.throughput(Throughput::BytesDecimal(out.body.len() as u64));
            eprintln!(
                "{name} {strategy}: {} -> {} bytes, {} signatures",
                body.len(),
                out.body.len(),
                out.summary.signatures_computed
            );
            group.bench_function(BenchmarkId::new(strategy.as_str(), "warm"), |b| {
                b.iter(|| rewrite(black_box(body), &url, &incoming, &config, &signer, &warm).unwrap())
            });
            if strategy == Strategy::Reuse {
                continue;
            }
            // 10,000 RSA signatures per iteration: few samples are enough.
            if strategy == Strategy::PerUri && out.summary.signatures_computed > 1000 {
                group.sample_size(10).measurement_time(Duration::from_secs(20));
            }
            group.bench_function(BenchmarkId::new(strategy.as_str(), "cold"), |b| {
                b.iter(|| {
                    let cache = SignatureCache::default();
                    rewrite(black_box(body), &url, &incoming, &config, &signer, &cache).unwrap()
                })
            });
            group.sample_size(20).measurement_time(Duration::from_secs(4));
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
