//! Profile (not a test): where the time of a large answer goes, step by
//! step, in-process: the rewrite, measuring the JSON-escaped size, gzip at
//! each level, and the runtime's serialisation of the answer
//! (`serde_json::to_vec` of the `ApiGatewayV2httpResponse`, as
//! `lambda_runtime` does before it posts it). Medians of `--runs` (default 30).
//!
//! ```text
//! cargo run --release -p rewriter --example profile -- [SEGMENTS] [--key rsa|ecdsa] [--runs N]
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::io::Write as _;
use std::time::Instant;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use playlist_rewrite::{Incoming, SignatureCache};
use rewriter::{encode_body, gzip, json_escape_extra, json_escaped_len};
use support::*;

/// `json_escaped_len` as it was before issue 13: a second pass over the
/// output, one `match` per byte.
fn old_json_escaped_len(text: &[u8]) -> usize {
    text.iter()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

fn playlist(segments: usize) -> String {
    let mut p = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n");
    for i in 0..segments {
        p.push_str(&format!("#EXTINF:4.000000,\nsegment_{i:05}.ts\n"));
    }
    p.push_str("#EXT-X-ENDLIST\n");
    p
}

/// The median time of `runs` calls of `f`, in milliseconds.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> f64 {
    let mut v: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn response(body: Body, base64: bool) -> ApiGatewayV2httpResponse {
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = 200;
    r.body = Some(body);
    r.is_base64_encoded = base64;
    r
}

fn main() {
    let mut segments = 10_000usize;
    let mut key = "rsa".to_owned();
    let mut runs = 30usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--key" => key = args.next().expect("--key rsa|ecdsa"),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            n => segments = n.parse().expect("a segment count"),
        }
    }
    let pem = if key == "ecdsa" { EC_PEM } else { PEM };
    let signer = signer(pem, KEY_ID);
    let input = playlist(segments).into_bytes();
    let url = format!("{CF}/movies/movie_1/p.m3u8");
    let incoming = Incoming::operator(&signer, &format!("{CF}/movies/movie_1/*"), NOW + 3600).unwrap();
    let config = playlist_rewrite::Config::builder().build().unwrap();
    let cache = SignatureCache::default();
    let rewrite = || playlist_rewrite::rewrite(&input, &url, &incoming, &config, &signer, &cache).unwrap();
    let out = rewrite().body;
    println!(
        "{segments} segments, {key}: {} bytes in, {} bytes out ({runs} runs, medians)",
        input.len(),
        out.len()
    );
    println!("{:<52} {:>9}", "step", "ms");
    let row = |name: &str, ms: f64| println!("{name:<52} {ms:>9.3}");
    row("rewrite (warm signature cache)", time(runs, rewrite));
    row("clone of the output (one copy)", time(runs, || out.clone()));
    row(
        "before: json_escaped_len(output), a second pass",
        time(runs, || old_json_escaped_len(black_box(out.as_bytes()))),
    );
    row(
        "json_escaped_len(output), vectorised",
        time(runs, || json_escaped_len(black_box(out.as_bytes()))),
    );
    row(
        "json_escape_extra(input): one pass over the input",
        time(runs, || json_escape_extra(black_box(&input))),
    );
    let extra = json_escape_extra(&input);
    row(
        "encode_body, no gzip (size from the input)",
        time(runs, || encode_body(out.clone(), false, extra).unwrap()),
    );
    row(
        "encode_body, gzip accepted",
        time(runs, || encode_body(out.clone(), true, extra).unwrap()),
    );
    row(
        "gzip level 1, pooled compressor (rewriter::gzip)",
        time(runs, || gzip(out.as_bytes()).unwrap()),
    );
    for level in [1u32, 2, 3, 6, 9] {
        let gz = |level| {
            let mut e =
                flate2::write::GzEncoder::new(Vec::with_capacity(out.len() / 4), flate2::Compression::new(level));
            e.write_all(out.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        let size = gz(level).len();
        row(
            &format!(
                "GzEncoder level {level} ({size} bytes, base64 {})",
                size.div_ceil(3) * 4
            ),
            time(runs.min(10), || gz(level)),
        );
    }
    let text = response(Body::Text(out.clone()), false);
    row(
        "runtime: serde_json::to_vec(answer), text body",
        time(runs, || serde_json::to_vec(&text).unwrap()),
    );
    let (binary, _) = encode_body(out.clone(), true, extra).unwrap();
    let binary = response(binary, true);
    row(
        "runtime: serde_json::to_vec(answer), gzip body (base64)",
        time(runs, || serde_json::to_vec(&binary).unwrap()),
    );
}
