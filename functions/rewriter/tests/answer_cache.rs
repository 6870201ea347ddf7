//! The answer cache and the verification memo through the handler,
//! in-process over a media folder: a warm repeat for the same grant is the
//! cached answer (no read, no signature, no rewrite); another credential,
//! a rotated key, a changed object or another encoding misses; the byte
//! bound; and the memo never accepts what a full verification refuses.

mod support;

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cloudfront_sign::{Cidr, Policy, round_expiry};
use rewriter::{Deps, handler};
use serde_json::json;
use signed_hls_aws::ObjectStore;
use support::*;

const VOD: &str = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg1.ts\n#EXTINF:4,\nseg2.ts\n#EXT-X-ENDLIST\n";
const PATH: &str = "/movies/movie_1/vod.m3u8";

fn big_vod(segments: usize) -> String {
    let mut p = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:4\n");
    for i in 0..segments {
        p.push_str(&format!("#EXTINF:4,\nsegment_{i:05}.ts\n"));
    }
    p + "#EXT-X-ENDLIST\n"
}

fn media() -> MediaDir {
    MediaDir::new(&[
        ("movies/movie_1/vod.m3u8", VOD.to_owned()),
        ("movies/movie_1/other.m3u8", VOD.replace("seg", "oth")),
        ("movies/movie_1/big.m3u8", big_vod(300)),
    ])
}

/// Dependencies over `store` with the key in `secret`, an epoch clock the
/// test sets (`now`) and a monotonic one it moves (`clock`).
async fn deps_clocked(
    secret: &Path,
    pairs: &[(&str, &str)],
    store: Arc<dyn ObjectStore>,
    now: &Arc<AtomicU64>,
    clock: &TestClock,
) -> Deps {
    let config = config(secret, pairs);
    let started = started(&config.common, secret, Some(store)).await;
    let now = now.clone();
    Deps::new(config, started, Box::new(move || now.load(Ordering::SeqCst)))
        .unwrap()
        .with_monotonic_clock(clock.boxed())
}

fn verifier() -> cloudfront_sign::Verifier {
    let mut v = cloudfront_sign::Verifier::new();
    v.trust(KEY_ID, signer(PEM, KEY_ID).verifying_key());
    v
}

fn query(policy: &Policy) -> String {
    viewer_query(&signer(PEM, KEY_ID), PATH, policy)
}

async fn call(
    deps: &Deps,
    path: &str,
    q: &str,
    headers: serde_json::Value,
) -> aws_lambda_events::apigw::ApiGatewayV2httpResponse {
    handler(get(path, q, headers), deps).await.unwrap()
}

#[tokio::test]
async fn a_warm_repeat_for_the_same_grant_is_the_cached_answer() {
    let media = media();
    let store = Counting::new(media.store());
    let secret = secret_file(PEM);
    let now = Arc::new(AtomicU64::new(NOW));
    let deps = deps_clocked(&secret, &[], store.clone(), &now, &TestClock::default()).await;
    let q = query(&movie_policy());
    let first = call(&deps, PATH, &q, json!({})).await;
    assert_eq!(first.status_code, 200, "{}", text(&first));
    assert_eq!((store.reads(), deps.signature_cache_stats()), (1, Some((0, 1))));
    assert_eq!((deps.answers.hits(), deps.answers.usage().0), (0, 1));
    // Ten seconds later: the same body, from memory, with its own max-age.
    now.fetch_add(10, Ordering::SeqCst);
    let again = call(&deps, PATH, &q, json!({})).await;
    assert_eq!((again.status_code, text(&again)), (200, text(&first)));
    assert_eq!(
        (store.reads(), deps.signature_cache_stats(), deps.answers.hits()),
        (1, Some((0, 1)), 1),
        "no read, no signature (the signature cache not even asked), no rewrite"
    );
    // The answer lives as long as its signatures: the incoming expiry rounded
    // down to EXPIRY_GRANULARITY_SECONDS (60), so NOW + 3600 becomes NOW + 3560.
    let expires = round_expiry(NOW + 3600, 60, NOW);
    let max_age = |now: u64| format!("max-age={}", expires - now - 1);
    assert_eq!(header(&first, "cache-control"), Some(max_age(NOW).as_str()));
    assert_eq!(header(&again, "cache-control"), Some(max_age(NOW + 10).as_str()));
    assert_eq!(deps.memo.hits(), 1, "the repeat's signature check came from the memo");
    // HEAD of a cached answer: no body, same headers.
    let head = handler(event("HEAD", PATH, &q, json!({})), &deps).await.unwrap();
    assert_eq!((head.status_code, head.body.is_none()), (200, true));
    std::fs::remove_file(secret).unwrap();
}

#[tokio::test]
async fn another_credential_never_gets_anothers_answer() {
    let media = media();
    let store = Counting::new(media.store());
    let deps = deps_at(&[], store.clone(), &TestClock::default()).await;
    let ip: IpAddr = "2001:db8::7".parse().unwrap();
    let short = Policy::new(format!("{CF}/movies/movie_1/*"), NOW + 600);
    let bound = movie_policy().from_ip(Cidr::single(ip));
    let viewer = json!({"cloudfront-viewer-address": "[2001:db8::7]:5000"});
    let mut bodies = Vec::new();
    for (policy, headers) in [
        (movie_policy(), json!({})),
        (short.clone(), json!({})),
        (bound.clone(), viewer.clone()),
    ] {
        let r = call(&deps, PATH, &query(&policy), headers.clone()).await;
        assert_eq!(r.status_code, 200, "{}", text(&r));
        let body = text(&r);
        // Every outgoing credential is this viewer's own (never wider).
        for uri in uris(&body).iter().filter(|u| u.contains("Signature=")) {
            let abs = format!("{CF}/movies/movie_1/{uri}");
            let grant = verifier().verify_url(&abs, "", NOW, Some(ip)).unwrap();
            assert_eq!(
                grant.policy.date_less_than,
                round_expiry(policy.date_less_than, 60, NOW),
                "{uri}"
            );
            assert_eq!(grant.policy.ip_address, policy.ip_address, "{uri}");
        }
        bodies.push(body);
    }
    assert!(bodies[0] != bodies[1] && bodies[1] != bodies[2] && bodies[0] != bodies[2]);
    assert_eq!((deps.answers.hits(), deps.answers.usage().0, store.reads()), (0, 3, 1));
    // The IP-bound answer is cached, and still refused to another address.
    let elsewhere = json!({"cloudfront-viewer-address": "[2001:db8::8]:5000"});
    let r = call(&deps, PATH, &query(&bound), elsewhere).await;
    assert_eq!((r.status_code, error_type(&r).as_str()), (403, "ip_not_allowed"));
    // A forged signature on a cached grant is refused.
    let forged = query(&movie_policy()).replacen("Signature-PREFIX=", "Signature-PREFIX=AAAA", 1);
    let r = call(&deps, PATH, &forged, json!({})).await;
    assert_eq!((r.status_code, error_type(&r).as_str()), (403, "bad_signature"));
    // Each viewer's repeat is its own answer.
    for (i, (policy, headers)) in [(movie_policy(), json!({})), (short, json!({})), (bound, viewer)]
        .into_iter()
        .enumerate()
    {
        assert_eq!(text(&call(&deps, PATH, &query(&policy), headers).await), bodies[i]);
    }
    assert_eq!(deps.answers.hits(), 3);
}

#[tokio::test]
async fn another_encoding_a_changed_object_or_a_rotated_key_misses() {
    let media = media();
    let store = Counting::new(media.store());
    let secret = json_secret_file();
    let now = Arc::new(AtomicU64::new(NOW));
    let clock = TestClock::default();
    let deps = deps_clocked(&secret, &[("KEY_REFRESH_SECONDS", "0")], store.clone(), &now, &clock).await;
    let path = "/movies/movie_1/big.m3u8";
    let q = viewer_query(&signer(PEM, KEY_ID), path, &movie_policy());

    // Encoding: gzip and plain are two answers, each served to its own kind.
    let gz = json!({"accept-encoding": "gzip"});
    let plain = call(&deps, path, &q, json!({})).await;
    let zipped = call(&deps, path, &q, gz.clone()).await;
    assert_eq!(deps.answers.hits(), 0, "another encoding misses");
    assert_eq!(header(&plain, "content-encoding"), None);
    assert_eq!(header(&zipped, "content-encoding"), Some("gzip"));
    assert!(zipped.is_base64_encoded && !plain.is_base64_encoded);
    let again = call(&deps, path, &q, gz).await;
    assert_eq!(
        (header(&again, "content-encoding"), &again.body),
        (Some("gzip"), &zipped.body)
    );
    assert_eq!(text(&call(&deps, path, &q, json!({})).await), text(&plain));
    assert_eq!(deps.answers.hits(), 2);

    // The object changes: the answer follows the raw cache (the object it
    // serves until its revalidation, then the new one).
    std::fs::write(
        media.path().join("movies/movie_1/vod.m3u8"),
        VOD.replace("seg2", "segX"),
    )
    .unwrap();
    let q = query(&movie_policy());
    let r = call(&deps, PATH, &q, json!({})).await;
    assert!(text(&r).contains("segX.ts?"), "{}", text(&r));
    std::fs::write(
        media.path().join("movies/movie_1/vod.m3u8"),
        VOD.replace("seg2", "segY"),
    )
    .unwrap();
    let hits = deps.answers.hits();
    assert_eq!(
        text(&call(&deps, PATH, &q, json!({})).await),
        text(&r),
        "until the revalidation"
    );
    assert_eq!(deps.answers.hits(), hits + 1);
    clock.advance(Duration::from_secs(61));
    let changed = text(&call(&deps, PATH, &q, json!({})).await);
    assert!(changed.contains("segY.ts?") && !changed.contains("segX"), "{changed}");
    assert_eq!(deps.answers.hits(), hits + 1, "the refetched object misses");
    assert_eq!(text(&call(&deps, PATH, &q, json!({})).await), changed);

    // A rotation: answers signed with the old key are never served again.
    let hits = deps.answers.hits();
    let rotated = json!({
        "key_pair_id": "KNEWKEY",
        "private_key": OTHER_PEM,
        "public_keys": {"KNEWKEY": public(OTHER_PEM), KEY_ID: public(PEM)},
    });
    std::fs::write(&secret, rotated.to_string()).unwrap();
    let after = text(&call(&deps, PATH, &q, json!({})).await);
    assert!(
        after.contains("Key-Pair-Id=KNEWKEY") && !after.contains(&format!("Key-Pair-Id={KEY_ID}&")),
        "{after}"
    );
    assert_eq!(deps.answers.hits(), hits, "a rotation misses");
    assert_eq!(deps.answers.usage().0, 1, "the old generation's answers are gone");
    assert_eq!(text(&call(&deps, PATH, &q, json!({})).await), after);
    assert_eq!(deps.answers.hits(), hits + 1);
    std::fs::remove_file(secret).unwrap();
}

#[tokio::test]
async fn the_answer_cache_is_bounded_by_bytes() {
    let media = media();
    let clock = TestClock::default();
    let q = query(&movie_policy());
    let other = "/movies/movie_1/other.m3u8";
    let q_other = viewer_query(&signer(PEM, KEY_ID), other, &movie_policy());
    // The size of one entry, measured.
    let probe = deps_at(&[], media.store(), &clock).await;
    call(&probe, PATH, &q, json!({})).await;
    let (_, one) = probe.answers.usage();
    assert!(one > VOD.len());
    // Room for one of the two answers: each evicts the other.
    let budget = one + 10;
    let store = Counting::new(media.store());
    let deps = deps_at(&[("ANSWER_CACHE_BYTES", &budget.to_string())], store.clone(), &clock).await;
    for _ in 0..3 {
        assert_eq!(call(&deps, PATH, &q, json!({})).await.status_code, 200);
        assert_eq!(call(&deps, other, &q_other, json!({})).await.status_code, 200);
    }
    let (entries, bytes) = deps.answers.usage();
    assert_eq!((entries, deps.answers.hits()), (1, 0));
    assert!(bytes <= budget, "{bytes} > {budget}");
    assert_eq!(call(&deps, other, &q_other, json!({})).await.status_code, 200);
    assert_eq!(deps.answers.hits(), 1, "the one kept is served");
    assert_eq!(store.reads(), 2, "the raw objects stayed in memory throughout");
    // Smaller than one answer: nothing kept; 0: off.
    for setting in ["10", "0"] {
        let deps = deps_at(&[("ANSWER_CACHE_BYTES", setting)], media.store(), &clock).await;
        for _ in 0..3 {
            assert_eq!(call(&deps, PATH, &q, json!({})).await.status_code, 200);
        }
        assert_eq!((deps.answers.usage(), deps.answers.hits()), ((0, 0), 0), "{setting}");
        assert_eq!(
            deps.signature_cache_stats(),
            Some((2, 1)),
            "{setting}: every repeat rewrote"
        );
    }
}

#[tokio::test]
async fn the_verification_memo_never_accepts_what_a_full_verification_refuses() {
    let media = media();
    let store = Counting::new(media.store());
    let secret = json_secret_file();
    let now = Arc::new(AtomicU64::new(NOW));
    let deps = deps_clocked(
        &secret,
        &[("KEY_REFRESH_SECONDS", "0")],
        store.clone(),
        &now,
        &TestClock::default(),
    )
    .await;
    let ip: IpAddr = "2001:db8::7".parse().unwrap();
    let policy = Policy::new(format!("{CF}/movies/movie_1/*"), NOW + 60)
        .not_before(NOW - 10)
        .from_ip(Cidr::single(ip));
    let q = query(&policy);
    let here = json!({"cloudfront-viewer-address": "[2001:db8::7]:5000"});
    let there = json!({"cloudfront-viewer-address": "[2001:db8::8]:5000"});
    let status = |r: &aws_lambda_events::apigw::ApiGatewayV2httpResponse| {
        let code = if r.status_code == 200 {
            String::new()
        } else {
            error_type(r)
        };
        (r.status_code, code)
    };
    assert_eq!(status(&call(&deps, PATH, &q, here.clone()).await), (200, String::new()));
    assert_eq!(status(&call(&deps, PATH, &q, here.clone()).await), (200, String::new()));
    assert_eq!((deps.memo.hits(), deps.memo.usage().0), (1, 1), "memoized, then a hit");

    // Memoized, and still: another address, another resource, too early, expired.
    for (path, headers, epoch, code) in [
        (PATH, there.clone(), NOW, "ip_not_allowed"),
        (PATH, json!({}), NOW, "ip_not_allowed"),
        ("/movies/movie_2/vod.m3u8", here.clone(), NOW, "resource_mismatch"),
        (PATH, here.clone(), NOW - 11, "not_yet_valid"),
        (PATH, here.clone(), NOW + 60, "expired"),
    ] {
        let hits = deps.memo.hits();
        now.store(epoch, Ordering::SeqCst);
        let r = call(&deps, path, &q, headers).await;
        assert_eq!(status(&r), (403, code.to_owned()), "{path} at {epoch}");
        assert_eq!(deps.memo.hits(), hits + 1, "{code}: refused on a memo hit");
    }
    now.store(NOW, Ordering::SeqCst);
    assert_eq!(store.reads(), 1, "nothing refused was read");

    // A canned credential is memoized for its exact URL only.
    let credential = signer(PEM, KEY_ID)
        .sign_canned_params(&format!("{CF}{PATH}"), NOW + 60)
        .unwrap();
    let mut canned_q = String::new();
    credential.write_query(cloudfront_sign::KeySuffix::default(), &mut canned_q);
    assert_eq!(
        status(&call(&deps, PATH, &canned_q, json!({})).await),
        (200, String::new())
    );
    let hits = deps.memo.hits();
    let r = call(&deps, PATH, &format!("{canned_q}&_HLS_msn=3"), json!({})).await;
    assert_eq!(status(&r), (403, "bad_signature".to_owned()));
    assert_eq!(deps.memo.hits(), hits, "another URL is not the memoized credential");

    // The key is dropped from the secret: the memoized credential stops verifying.
    let hits = deps.memo.hits();
    let rotated = json!({
        "key_pair_id": "KNEWKEY",
        "private_key": OTHER_PEM,
        "public_keys": {"KNEWKEY": public(OTHER_PEM)},
    });
    std::fs::write(&secret, rotated.to_string()).unwrap();
    let r = call(&deps, PATH, &q, here.clone()).await;
    assert_eq!(status(&r), (403, "unknown_key".to_owned()));
    assert_eq!(
        deps.memo.hits(),
        hits,
        "a new key generation never uses the memo of an earlier one"
    );
    assert_eq!(deps.memo.usage().0, 0);
    assert_eq!(store.reads(), 1);

    // Off: every request is a full verification.
    let off = deps_at(&[("VERIFY_MEMO_BYTES", "0")], media.store(), &TestClock::default()).await;
    let q = query(&movie_policy());
    for _ in 0..2 {
        assert_eq!(call(&off, PATH, &q, json!({})).await.status_code, 200);
    }
    assert_eq!((off.memo.hits(), off.memo.usage()), (0, (0, 0)));
    std::fs::remove_file(secret).unwrap();
}
