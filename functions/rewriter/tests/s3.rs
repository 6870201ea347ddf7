//! The rewriter over the real S3 client against moto: what only the SDK
//! wiring can show (a missing key, a size refused from Content-Length, S3
//! unreachable). Every other behaviour is tested in-process in `rewriter.rs`.

mod support;

use std::sync::Arc;

use rewriter::handler;
use serde_json::json;
use signed_hls_aws::aws::{s3_client, sdk_config_for_endpoint};
use signed_hls_aws::store::S3Store;
use support::*;

const MEDIA: &str = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg1.ts\n#EXTINF:4,\nseg2.ts\n#EXT-X-ENDLIST\n";

async fn s3_deps(endpoint: &str, bucket: &str, pairs: &[(&str, &str)]) -> rewriter::Deps {
    let sdk = sdk_config_for_endpoint(endpoint).await;
    deps(pairs, Arc::new(S3Store::new(s3_client(&sdk, true), bucket, fast()))).await
}

#[tokio::test]
async fn reads_playlists_from_s3_with_every_failure_mapped() {
    let bucket = bucket(&[("movies/movie_1/index.m3u8", MEDIA.as_bytes().to_vec())]).await;
    let path = "/movies/movie_1/index.m3u8";
    let q = |path: &str| viewer_query(&signer(PEM, KEY_ID), path, &movie_policy());
    let deps = s3_deps(&moto().endpoint, &bucket, &[]).await;
    let r = handler(get(path, &q(path), json!({})), &deps).await.unwrap();
    assert_eq!(r.status_code, 200, "{}", text(&r));
    assert_eq!(uris(&text(&r)).len(), 2);
    let missing = "/movies/movie_1/nope.m3u8";
    let r = handler(get(missing, &q(missing), json!({})), &deps).await.unwrap();
    assert_eq!((r.status_code, error_type(&r).as_str()), (404, "not_found"));
    // Over MAX_PLAYLIST_BYTES: refused from Content-Length, not read.
    let small = s3_deps(&moto().endpoint, &bucket, &[("MAX_PLAYLIST_BYTES", "20")]).await;
    let r = handler(get(path, &q(path), json!({})), &small).await.unwrap();
    assert_eq!((r.status_code, error_type(&r).as_str()), (502, "playlist_too_large"));
    // S3 unreachable: 503 after the retries.
    let down = s3_deps(&closed_endpoint(), &bucket, &[]).await;
    let r = handler(get(path, &q(path), json!({})), &down).await.unwrap();
    assert_eq!((r.status_code, error_type(&r).as_str()), (503, "storage_unavailable"));
}

/// The conditional read against moto's S3 through the real SDK: the ETag
/// comes back with the object, `If-None-Match` with it is answered 304 (the
/// SDK surfaces it as an error, which the store turns into "not modified"),
/// and a changed object comes back whole with its new ETag.
#[tokio::test]
async fn conditional_reads_get_a_304_from_s3() {
    use signed_hls_aws::{Conditional, ObjectStore as _, StoreError};
    let key = "movies/movie_1/index.m3u8";
    let bucket = bucket(&[(key, MEDIA.as_bytes().to_vec())]).await;
    let sdk = sdk_config_for_endpoint(&moto().endpoint).await;
    let store = S3Store::new(s3_client(&sdk, true), &bucket, fast());
    let Conditional::Object { bytes, etag } = store.get_if_changed(key, 1 << 20, None).await.unwrap() else {
        panic!("an unconditional read gives the object")
    };
    let etag = etag.expect("S3 gives an ETag");
    assert_eq!(bytes, MEDIA.as_bytes());
    assert_eq!(
        store.get_if_changed(key, 1 << 20, Some(&etag)).await.unwrap(),
        Conditional::NotModified
    );
    // `get` is unchanged: the whole object, every time.
    assert_eq!(store.get(key, 1 << 20).await.unwrap(), MEDIA.as_bytes());
    let changed = MEDIA.replace("seg2", "seg3");
    s3_client(&sdk, true)
        .put_object()
        .bucket(&bucket)
        .key(key)
        .body(changed.clone().into_bytes().into())
        .send()
        .await
        .unwrap();
    match store.get_if_changed(key, 1 << 20, Some(&etag)).await.unwrap() {
        Conditional::Object { bytes, etag: Some(new) } => {
            assert!(bytes == changed.as_bytes() && new != etag, "{new} {etag}")
        }
        other => panic!("{other:?}"),
    }
    // Limits and missing keys as for `get`.
    assert!(matches!(
        store.get_if_changed(key, 10, Some(&etag)).await,
        Err(StoreError::TooLarge { .. })
    ));
    assert!(matches!(
        store
            .get_if_changed("movies/movie_1/nope.m3u8", 1 << 20, Some(&etag))
            .await,
        Err(StoreError::NotFound(_))
    ));

    // Through the handler: after RAW_CACHE_SECONDS, one conditional GET, a 304.
    let counting = Counting::new(Arc::new(store));
    let clock = TestClock::default();
    let deps = deps_at(&[], counting.clone(), &clock).await;
    let path = "/movies/movie_1/index.m3u8";
    let q = viewer_query(&signer(PEM, KEY_ID), path, &movie_policy());
    let first = text(&handler(get(path, &q, json!({})), &deps).await.unwrap());
    clock.advance(std::time::Duration::from_secs(61));
    let r = handler(get(path, &q, json!({})), &deps).await.unwrap();
    assert_eq!((r.status_code, text(&r)), (200, first));
    assert_eq!((counting.reads(), counting.conditional()), (2, (1, 1)));
}
