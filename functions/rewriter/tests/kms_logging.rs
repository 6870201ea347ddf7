//! KMS mode leaves no key material and no signature in the logs, at TRACE
//! under the functions' own filter (issue 14). Its own test binary: tracing caches callsite interest
//! process-wide, so a capturing subscriber must not race other tests.

mod support;

use cloudfront_sign::{KeySuffix, Policy, RESERVED_PARAMS, encoding, strip_params};
use rewriter::{Deps, handler};
use serde_json::json;
use signed_hls_aws::{Env, RewriterConfig};
use support::*;

#[tokio::test(flavor = "current_thread")]
async fn kms_mode_logs_no_key_material_and_no_signature() {
    let (key_id, public_der) = kms_key(&moto().endpoint, "RSA_2048").await;
    let media = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg1.ts\n#EXT-X-ENDLIST\n";
    let media = MediaDir::new(&[("movies/movie_1/index.m3u8", media.as_bytes())]);
    let env = [
        ("KMS_KEY_ID", key_id.as_str()),
        ("CF_URL", CF),
        ("CF_KEY_ID", KEY_ID),
        ("S3_BUCKET", "unused"),
    ];
    let config = RewriterConfig::from_env(&Env::from_pairs(env)).unwrap();
    let captured = Captured::default();
    // The functions' own filter (shell::start_logging) at its most verbose:
    // our crates at TRACE, the SDK and the HTTP stack at INFO (the SDK logs
    // response bodies, KMS signatures included, at TRACE).
    use tracing_subscriber::layer::SubscriberExt as _;
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::INFO)
        .with_targets(
            signed_hls_aws::shell::VERBOSE_TARGETS
                .iter()
                .map(|t| (*t, tracing::Level::TRACE)),
        );
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().json().with_writer(captured.clone()))
        .with(filter);
    let _guard = tracing::subscriber::set_default(subscriber);
    let started = started_kms(
        &config.common,
        kms_source(&moto().endpoint, &key_id).await,
        Some(media.store()),
    )
    .await;
    let deps = Deps::new(config, started, Box::new(|| NOW)).unwrap();

    let key = deps.key.current().await.unwrap();
    let policy = Policy::new(format!("{CF}/movies/movie_1/*"), NOW + 3600);
    let signature = encoding::encode(&key.signer.sign(&[policy.to_json().as_bytes()]).await.unwrap()[0]);
    let url = key
        .signer
        .signatory()
        .url_with_policy_and_copies(
            &format!("{CF}/movies/movie_1/index.m3u8"),
            &policy,
            signature.clone(),
            &KeySuffix::default(),
        )
        .unwrap();
    let q = strip_params(&url, &RESERVED_PARAMS)
        .split_once('?')
        .unwrap()
        .1
        .to_owned();
    let r = handler(get("/movies/movie_1/index.m3u8", &q, json!({})), &deps)
        .await
        .unwrap();
    assert_eq!(r.status_code, 200, "{}", text(&r));
    let written = text(&r)
        .lines()
        .find_map(|l| l.split("Signature=").nth(1).map(|s| s[..40].to_owned()))
        .unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("\"message\":\"request\""), "{logs}");
    assert!(
        !logs.contains(&signature[..32]),
        "the viewer's signature reached the logs"
    );
    assert!(
        !logs.contains(&written),
        "a signature the rewriter wrote reached the logs"
    );
    assert!(!logs.contains("PRIVATE KEY"));
    // Not even the public key's bytes, nor the environment's secrets: there are none.
    let public_b64 = encoding::encode(&public_der);
    assert!(!logs.contains(&public_b64[40..80]));
    assert!(env.iter().all(|(_, v)| !v.contains("PRIVATE")));
}
