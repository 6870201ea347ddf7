//! The rewriter in KMS mode (issue 14): the real aws-sdk-kms client against
//! moto's KMS, for `RSA_2048` and `ECC_NIST_P256` keys. Every credential it
//! writes verifies with the KMS key's public key, by our Verifier and
//! independently in Python; the invariants hold; a throttled or unreachable
//! KMS answers 503 `key_unavailable`; no private key is read anywhere.

mod support;

use std::sync::Arc;

use cloudfront_sign::{
    Credential, CredentialPolicy, Policy, RESERVED_PARAMS, Verifier, VerifyingKey, encoding, strip_params,
};
use rewriter::{Deps, handler};
use serde_json::json;
use signed_hls_aws::{Env, ObjectStore, RewriterConfig};
use support::*;

const MASTER: &str =
    "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\nv1/index.m3u8\n";
const MEDIA: &str = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg1.ts\n#EXTINF:4,\nseg2.ts\n#EXT-X-ENDLIST\n";

fn media() -> MediaDir {
    MediaDir::new(&[
        ("movies/movie_1/index.m3u8", MASTER.as_bytes()),
        ("movies/movie_1/v0/index.m3u8", MEDIA.as_bytes()),
        ("movies/movie_1/v1/index.m3u8", MEDIA.as_bytes()),
        (
            "movies/movie_1/cover.m3u8",
            b"\xff\xd8\xff\xe0 not a playlist".as_slice(),
        ),
    ])
}

fn kms_config(key_id: &str, pairs: &[(&str, &str)]) -> RewriterConfig {
    let mut env = vec![
        ("KMS_KEY_ID", key_id),
        ("CF_URL", CF),
        ("CF_KEY_ID", KEY_ID),
        ("S3_BUCKET", "unused"),
    ];
    env.extend_from_slice(pairs);
    RewriterConfig::from_env(&Env::from_pairs(env)).unwrap()
}

async fn kms_deps(endpoint: &str, key_id: &str, pairs: &[(&str, &str)], store: Arc<dyn ObjectStore>) -> Deps {
    let config = kms_config(key_id, pairs);
    let started = started_kms(&config.common, kms_source(endpoint, key_id).await, Some(store)).await;
    Deps::new(config, started, Box::new(|| NOW)).unwrap()
}

/// Every signed URI of `playlist` (served at `dir`), absolute.
fn signed_urls(playlist: &str, dir: &str) -> Vec<String> {
    uris(playlist)
        .into_iter()
        .filter(|u| u.contains("Signature="))
        .map(|u| format!("{CF}{dir}/{u}"))
        .collect()
}

/// The policy bytes and raw signature of `url`'s CloudFront credential.
fn signed_bytes(url: &str) -> (Vec<u8>, Vec<u8>) {
    let query = url.split_once('?').unwrap().1;
    let credential = Credential::from_query(query, "").unwrap();
    let policy = match credential.policy {
        CredentialPolicy::Custom { encoded } => encoding::decode(&encoded).unwrap(),
        CredentialPolicy::Canned { expires } => {
            let resource = strip_params(url, &RESERVED_PARAMS);
            cloudfront_sign::canned_policy_json(&resource, expires).into_bytes()
        }
    };
    (policy, encoding::decode(&credential.signature).unwrap())
}

#[tokio::test]
async fn kms_mode_signs_with_the_kms_key_for_both_key_specs() {
    let media = media();
    for spec in ["RSA_2048", "ECC_NIST_P256"] {
        let endpoint = &moto().endpoint;
        let (key_id, public_der) = kms_key(endpoint, spec).await;
        let public = VerifyingKey::from_der(&public_der).unwrap();
        let mut verifier = Verifier::new();
        verifier.trust(KEY_ID, public.clone());
        let deps = kms_deps(endpoint, &key_id, &[], media.store()).await;
        let policy = Policy::new(format!("{CF}/movies/movie_1/*"), NOW + 3600);
        let path = "/movies/movie_1/index.m3u8";
        let q = kms_viewer_query(&deps, path, &policy).await;

        let r = handler(get(path, &q, json!({})), &deps).await.unwrap();
        assert_eq!(r.status_code, 200, "{spec}: {}", text(&r));
        let master = text(&r);
        let mut signed = Vec::new();
        for url in signed_urls(&master, "/movies/movie_1") {
            assert!(url.contains("Hash-Algorithm=SHA256"), "{spec}: {url}");
            let grant = verifier.verify_url(&url, "", NOW, None).unwrap();
            // Invariant 1: never wider than the incoming grant.
            assert!(grant.policy.window_and_ip_within(&policy), "{spec}");
            signed.push(signed_bytes(&url));
            // The child playlist, with the query the master gave it.
            let child = strip_params(&url, &RESERVED_PARAMS);
            let (child_path, child_query) = child.strip_prefix(CF).unwrap().split_once('?').unwrap();
            let r = handler(get(child_path, child_query, json!({})), &deps).await.unwrap();
            assert_eq!(r.status_code, 200, "{spec} {child_path}: {}", text(&r));
            let dir = child_path.rsplit_once('/').unwrap().0;
            for segment in signed_urls(&text(&r), dir) {
                verifier.verify_url(&segment, "", NOW, None).unwrap();
                signed.push(signed_bytes(&segment));
            }
        }
        assert_eq!(signed.len(), 6, "{spec}: 2 renditions, 2 segments each");
        verify_in_python(env!("CARGO_MANIFEST_DIR"), &public_der, &signed);
        // Two signatures for the masters' two directories; the media
        // playlists reuse them (same policy bytes).
        assert_eq!(deps.signature_cache_stats().unwrap().1, 2, "{spec}");

        // Every other status, with KMS as the signer.
        let forged = q.replacen("Signature-PREFIX=", "Signature-PREFIX=AAAA", 1);
        let cases = [
            ("/movies/movie_1/index.m3u8", forged.as_str(), 403),
            ("/movies/movie_1/../x.m3u8", q.as_str(), 400),
            ("/movies/movie_1/missing.m3u8", q.as_str(), 404),
            ("/movies/movie_1/cover.m3u8", q.as_str(), 502),
        ];
        for (path, query, status) in cases {
            let r = handler(get(path, query, json!({})), &deps).await.unwrap();
            assert_eq!(r.status_code, status, "{spec} {path}: {}", text(&r));
        }
    }
}

#[tokio::test]
async fn kms_mode_verifies_before_reading_and_needs_no_private_key() {
    let (key_id, _) = kms_key(&moto().endpoint, "ECC_NIST_P256").await;
    let media = media();
    let counting = Counting::new(media.store());
    let deps = kms_deps(&moto().endpoint, &key_id, &[], counting.clone()).await;
    // A credential from another key (the local test key) is refused unread.
    let q = viewer_query(&signer(PEM, KEY_ID), "/movies/movie_1/index.m3u8", &movie_policy());
    let r = handler(get("/movies/movie_1/index.m3u8", &q, json!({})), &deps)
        .await
        .unwrap();
    assert_eq!(r.status_code, 403);
    assert_eq!(
        counting.reads(),
        0,
        "invariant 2: nothing read before the credential verifies"
    );
    // The configuration names no secret and no key file.
    let config = kms_config(&key_id, &[]);
    assert!(matches!(
        config.common.key_source,
        signed_hls_aws::KeySourceConfig::Kms { .. }
    ));
}

#[tokio::test]
async fn a_throttled_kms_answers_503_key_unavailable_after_retries() {
    let (_, public_der) = kms_key(&moto().endpoint, "RSA_2048").await;
    let fake = FakeKms::start("RSA_2048", &public_der, FakeSign::Throttle);
    let media = media();
    // This KMS signs nothing, so the viewer's credential comes from another
    // key, trusted through TRUSTED_PUBLIC_KEYS (as during a rotation).
    let trusted = json!({"KLOCAL": OTHER_PUBLIC_PEM}).to_string();
    let deps = kms_deps(
        &fake.endpoint,
        "fake",
        &[("TRUSTED_PUBLIC_KEYS", &trusted)],
        media.store(),
    )
    .await;
    let q = viewer_query(
        &signer(OTHER_PEM, "KLOCAL"),
        "/movies/movie_1/index.m3u8",
        &movie_policy(),
    );
    let r = handler(get("/movies/movie_1/index.m3u8", &q, json!({})), &deps)
        .await
        .unwrap();
    assert_eq!(r.status_code, 503, "{}", text(&r));
    assert_eq!(error_type(&r), "key_unavailable");
    // Two directories signed concurrently, each retried `fast().attempts`
    // times: both run to their end (neither is dropped for the other).
    assert_eq!(fake.signs(), 2 * fast().attempts as usize);
}

/// One policy KMS refuses for good (a permanent error, not retried): the
/// request answers 503, and the signatures made beside it are kept, so the
/// retry asks KMS only for the refused one.
#[tokio::test]
async fn a_permanent_failure_keeps_the_signatures_made_beside_it() {
    let refuse = format!("{CF}/movies/movie_1/v1/");
    let fake = FakeKms::start(
        "RSA_2048",
        &spki_der(PEM),
        FakeSign::Key {
            pem: PEM.into(),
            refuse: Some(refuse.into_bytes()),
        },
    );
    let media = media();
    let deps = kms_deps(&fake.endpoint, "fake", &[], media.store()).await;
    let q = viewer_query(&signer(PEM, KEY_ID), "/movies/movie_1/index.m3u8", &movie_policy());
    let request = || get("/movies/movie_1/index.m3u8", &q, json!({}));
    let r = handler(request(), &deps).await.unwrap();
    assert_eq!(
        (r.status_code, error_type(&r).as_str()),
        (503, "key_unavailable"),
        "{}",
        text(&r)
    );
    assert_eq!(fake.signs(), 2, "v0 signed, v1 refused once (not retried)");
    let r = handler(request(), &deps).await.unwrap();
    assert_eq!(r.status_code, 503);
    assert_eq!(fake.signs(), 3, "the retry asked only for v1: v0's signature was kept");
}

/// A policy longer than KMS's 4,096-byte `RAW` limit goes as its SHA-256
/// `DIGEST` (moto cannot check this: it signs the digest as a message),
/// and the credential verifies, for both key types.
#[tokio::test]
async fn a_policy_over_4_kb_is_signed_as_its_digest_and_verifies() {
    let long_dir = "d".repeat(4200);
    let playlist = format!(
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n{long_dir}/seg1.ts\n#EXTINF:4,\nseg2.ts\n#EXT-X-ENDLIST\n"
    );
    let media = MediaDir::new(&[("movies/movie_1/long.m3u8", playlist.as_str())]);
    for (spec, pem) in [("RSA_2048", PEM), ("ECC_NIST_P256", EC_PEM)] {
        let public_der = spki_der(pem);
        let fake = FakeKms::start(
            spec,
            &public_der,
            FakeSign::Key {
                pem: pem.into(),
                refuse: None,
            },
        );
        // Per URI: the policy names the URI's whole URL, over 4 KB here.
        let deps = kms_deps(&fake.endpoint, "fake", &[("REWRITE_MODE", "per-uri")], media.store()).await;
        let q = viewer_query(&signer(pem, KEY_ID), "/movies/movie_1/long.m3u8", &movie_policy());
        let r = handler(get("/movies/movie_1/long.m3u8", &q, json!({})), &deps)
            .await
            .unwrap();
        assert_eq!(r.status_code, 200, "{spec}: {}", text(&r));
        assert_eq!((fake.signs(), fake.digests()), (2, 1), "{spec}: one RAW, one DIGEST");
        let mut verifier = Verifier::new();
        verifier.trust(KEY_ID, VerifyingKey::from_der(&public_der).unwrap());
        let urls = signed_urls(&text(&r), "/movies/movie_1");
        assert_eq!(urls.len(), 2);
        let mut signed = Vec::new();
        for url in &urls {
            verifier
                .verify_url(url, "", NOW, None)
                .unwrap_or_else(|e| panic!("{spec}: {url}: {e}"));
            signed.push(signed_bytes(url));
        }
        assert!(
            signed.iter().any(|(policy, _)| policy.len() > 4096),
            "{spec}: a long policy"
        );
        verify_in_python(env!("CARGO_MANIFEST_DIR"), &public_der, &signed);
    }
}

#[tokio::test]
async fn an_unreachable_kms_answers_503_key_unavailable() {
    let media = media();
    let deps = kms_deps(&closed_endpoint(), "any", &[], media.store()).await;
    let q = viewer_query(&signer(PEM, KEY_ID), "/movies/movie_1/index.m3u8", &movie_policy());
    let r = handler(get("/movies/movie_1/index.m3u8", &q, json!({})), &deps)
        .await
        .unwrap();
    assert_eq!(r.status_code, 503, "{}", text(&r));
    assert_eq!(error_type(&r), "key_unavailable");
}
