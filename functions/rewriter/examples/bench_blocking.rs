//! Benchmark (not a test): the extra latency of a low-latency blocking
//! reload (issue 12), against moto's S3 through the real SDK. A request asks
//! for the next part (`_HLS_msn`, `_HLS_part`) before it exists; a
//! publisher task puts the new playlist object a random 50 to 450 ms later.
//! Printed: the time from that `PutObject` completing to the answer (the
//! extra latency the blocking reload adds on top of the publish itself),
//! its median and 90th percentile, and the conditional GETs each wait made,
//! for a few `BLOCKING_RELOAD_POLL_MS` values; and moto's own time for one
//! conditional GET (304), the floor of a poll.
//!
//! ```text
//! cargo run --release -p rewriter --example bench_blocking -- [--runs N]
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rewriter::handler;
use serde_json::json;
use signed_hls_aws::ObjectStore;
use support::*;

/// A low-latency playlist with segments before `next` and `parts` parts of `next`.
fn low_latency(next: u64, parts: u64) -> String {
    let first = next.saturating_sub(6);
    let mut text = format!(
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-VERSION:9\n\
         #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5\n\
         #EXT-X-PART-INF:PART-TARGET=0.5\n#EXT-X-MEDIA-SEQUENCE:{first}\n#EXT-X-MAP:URI=\"init.mp4\"\n",
    );
    for n in first..next {
        text.push_str(&format!("#EXTINF:2.0,\nseg{n}.mp4\n"));
    }
    for p in 0..parts {
        text.push_str(&format!(
            "#EXT-X-PART:DURATION=0.5,URI=\"part{next}.{p}.mp4\",INDEPENDENT=YES\n"
        ));
    }
    text
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let mut runs = 20usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let key = "movies/movie_1/ll.m3u8";
    let bucket = bucket(&[(key, low_latency(10, 0).into_bytes())]).await;
    let sdk = signed_hls_aws::aws::sdk_config_for_endpoint(&moto().endpoint).await;
    let s3 = signed_hls_aws::aws::s3_client(&sdk, true);
    let store: Arc<dyn ObjectStore> = Arc::new(signed_hls_aws::store::S3Store::new(s3.clone(), &bucket, fast()));

    // The floor: one conditional GET that moto answers 304.
    let etag = match store.get_if_changed(key, 1 << 20, None).await.unwrap() {
        signed_hls_aws::Conditional::Object { etag, .. } => etag,
        signed_hls_aws::Conditional::NotModified => None,
    };
    let mut floor = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        store.get_if_changed(key, 1 << 20, etag.as_deref()).await.unwrap();
        floor.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "moto S3 conditional GET (304): median {:.2} ms; runs={runs} per row",
        percentile(&mut floor, 0.5)
    );
    println!(
        "{:>8} {:>14} {:>14} {:>16}",
        "poll_ms", "extra_p50_ms", "extra_p90_ms", "gets_per_wait"
    );
    let path = format!("/{key}");
    let query = viewer_query(&signer(PEM, KEY_ID), &path, &movie_policy());
    let mut next = 10u64;
    for poll in ["25", "100", "250"] {
        let counting = Counting::new(store.clone());
        let deps = deps(&[("BLOCKING_RELOAD_POLL_MS", poll)], counting.clone()).await;
        let mut extra = Vec::with_capacity(runs);
        let mut gets = 0usize;
        for run in 0..runs {
            // Segment `next` in progress with no part yet; ask for part 0.
            next += 1;
            let s3 = s3.clone();
            let bucket = bucket.clone();
            s3.put_object()
                .bucket(&bucket)
                .key(key)
                .body(low_latency(next, 0).into_bytes().into())
                .send()
                .await
                .unwrap();
            let delay = Duration::from_millis(50 + (run as u64 * 97) % 400);
            let publisher = tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                s3.put_object()
                    .bucket(&bucket)
                    .key(key)
                    .body(low_latency(next, 1).into_bytes().into())
                    .send()
                    .await
                    .unwrap();
                Instant::now()
            });
            let ask = format!("{query}&_HLS_msn={next}&_HLS_part=0");
            let before = counting.reads();
            let r = handler(get(&path, &ask, json!({})), &deps).await.unwrap();
            let answered = Instant::now();
            let published = publisher.await.unwrap();
            assert_eq!(r.status_code, 200, "{}", text(&r));
            assert!(text(&r).contains(&format!("part{next}.0.mp4?")));
            extra.push(answered.saturating_duration_since(published).as_secs_f64() * 1e3);
            gets += counting.reads() - before;
        }
        println!(
            "{poll:>8} {:>14.1} {:>14.1} {:>16.1}",
            percentile(&mut extra, 0.5),
            percentile(&mut extra, 0.9),
            gets as f64 / runs as f64
        );
    }
}
