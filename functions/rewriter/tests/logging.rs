//! The per-request log line, in its own test binary: tracing caches callsite
//! interest process-wide, so a capturing subscriber must not race other tests.

mod support;

use rewriter::handler;
use serde_json::json;
use support::*;

fn ok_query() -> String {
    viewer_query(&signer(PEM, KEY_ID), "/movies/movie_1/index.m3u8", &movie_policy())
}

#[tokio::test(flavor = "current_thread")]
async fn one_json_log_line_per_request_without_secrets() {
    let media = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg1.ts\n#EXTINF:4,\nseg2.ts\n#EXT-X-ENDLIST\n";
    let media = MediaDir::new(&[("movies/movie_1/index.m3u8", media.as_bytes())]);
    let deps = deps(&[], media.store()).await;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt().json().with_writer(captured.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let path = "/movies/movie_1/index.m3u8";
    let q = ok_query();
    let tampered = q.replacen("Signature-PREFIX=", "Signature-PREFIX=AAAA", 1);
    assert_eq!(handler(get(path, &q, json!({})), &deps).await.unwrap().status_code, 200);
    // A warm repeat for the same grant: no S3 request, no signature.
    assert_eq!(handler(get(path, &q, json!({})), &deps).await.unwrap().status_code, 200);
    assert_eq!(
        handler(get(path, &tampered, json!({})), &deps)
            .await
            .unwrap()
            .status_code,
        403
    );
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["fields"]["message"] == "request")
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    let ok = &lines[0]["fields"];
    assert_eq!(
        (ok["status"].as_i64(), ok["strategy"].as_str()),
        (Some(200), Some("resign"))
    );
    assert_eq!(
        (ok["uris_signed"].as_u64(), ok["signatures_computed"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(ok["path"], path);
    assert!(ok["request_id"].is_string() && ok["duration_ms"].is_number());
    // Where the body came from, the S3 requests, and the time of each stage.
    assert_eq!(
        (ok["body_source"].as_str(), ok["s3_requests"].as_u64()),
        (Some("fetched"), Some(1))
    );
    for stage in ["verify_ms", "read_ms", "rewrite_ms", "encode_ms"] {
        assert!(ok[stage].as_f64().is_some_and(|ms| ms >= 0.0), "{stage}: {ok}");
    }
    assert!(ok["rewrite_ms"].as_f64() <= ok["duration_ms"].as_f64(), "{ok}");
    let warm = &lines[1]["fields"];
    assert_eq!(
        (
            warm["status"].as_i64(),
            warm["body_source"].as_str(),
            warm["s3_requests"].as_u64()
        ),
        (Some(200), Some("cache"), Some(0))
    );
    assert_eq!(
        (warm["signatures_computed"].as_u64(), warm["signatures_reused"].as_u64()),
        (Some(0), Some(1))
    );
    // The answer cache and the verification memo: a miss, then a hit.
    assert_eq!(
        (ok["answer_cache"].as_str(), ok["verify_memo"].as_str()),
        (Some("miss"), Some("miss"))
    );
    assert_eq!(
        (warm["answer_cache"].as_str(), warm["verify_memo"].as_str()),
        (Some("hit"), Some("hit"))
    );
    assert_eq!(
        (
            warm["rewrite_ms"].as_f64(),
            warm["encode_ms"].as_f64(),
            warm["uris_signed"].as_u64()
        ),
        (Some(0.0), Some(0.0), Some(2)),
        "no rewrite, no encoding"
    );
    let denied = &lines[2]["fields"];
    assert_eq!(
        (denied["status"].as_i64(), denied["denied"].as_str()),
        (Some(403), Some("bad_signature"))
    );
    assert_eq!(
        (denied["body_source"].as_str(), denied["s3_requests"].as_u64()),
        (Some(""), Some(0)),
        "refused before anything is read"
    );
    assert_eq!(
        (denied["answer_cache"].as_str(), denied["verify_memo"].as_str()),
        (Some(""), Some("miss")),
        "a forged signature is not the memoized credential"
    );
    let signature = q.split('&').find_map(|p| p.strip_prefix("Signature-PREFIX=")).unwrap();
    assert!(!text.contains(&signature[..32]), "a signature reached the logs");
    assert!(!text.contains("PRIVATE KEY") && !text.contains(&PEM[40..80]));
}
