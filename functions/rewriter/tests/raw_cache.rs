//! The raw cache through the handler, in-process over a media folder: a VOD
//! or multivariant playlist answered from memory (no read at all), then
//! revalidated with a conditional read; a live playlist refetched after half
//! its target duration; the byte budget; a key rotation that keeps it. The
//! clock is moved by hand ([`TestClock`]): nothing sleeps. The S3 side of a
//! conditional read (moto's 304) is in `s3.rs`.

mod support;

use std::time::Duration;

use rewriter::handler;
use serde_json::json;
use support::*;

const VOD: &str = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg1.ts\n#EXTINF:4,\nseg2.ts\n#EXT-X-ENDLIST\n";
const MASTER: &str = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nv1/index.m3u8\n";
const LIVE: &str = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:6,\nlive7.ts\n";
const LOW_LATENCY: &str = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-PART-INF:PART-TARGET=1.0\n\
                           #EXT-X-MEDIA-SEQUENCE:3\n#EXTINF:4,\nll3.mp4\n#EXT-X-PART:DURATION=1.0,URI=\"ll4.0.mp4\"\n";

fn media() -> MediaDir {
    MediaDir::new(&[
        ("movies/movie_1/vod.m3u8", VOD),
        ("movies/movie_1/master.m3u8", MASTER),
        ("movies/movie_1/live.m3u8", LIVE),
        ("movies/movie_1/ll.m3u8", LOW_LATENCY),
    ])
}

/// GETs `name` in movie 1 with a valid credential; the status and the body.
async fn fetch(deps: &rewriter::Deps, name: &str) -> (i64, String) {
    let path = format!("/movies/movie_1/{name}");
    let q = viewer_query(&signer(PEM, KEY_ID), &path, &movie_policy());
    let r = handler(get(&path, &q, json!({})), deps).await.unwrap();
    (r.status_code, text(&r))
}

#[tokio::test]
async fn vod_and_master_playlists_come_from_memory_then_a_conditional_read() {
    let media = media();
    let store = Counting::new(media.store());
    let clock = TestClock::default();
    let deps = deps_at(&[], store.clone(), &clock).await;
    for name in ["vod.m3u8", "master.m3u8"] {
        let before = store.reads();
        let (status, first) = fetch(&deps, name).await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(store.reads(), before + 1, "{name}: the first request reads it");
        for _ in 0..3 {
            assert_eq!(fetch(&deps, name).await, (200, first.clone()));
        }
        assert_eq!(
            store.reads(),
            before + 1,
            "{name}: repeats are served from memory: no read"
        );
    }
    // Within RAW_CACHE_SECONDS (60): still no read.
    clock.advance(Duration::from_secs(59));
    fetch(&deps, "vod.m3u8").await;
    assert_eq!((store.reads(), store.conditional()), (2, (0, 0)));
    // After it: one conditional read, answered "not modified", for each.
    clock.advance(Duration::from_secs(2));
    let (_, again) = fetch(&deps, "vod.m3u8").await;
    fetch(&deps, "master.m3u8").await;
    assert_eq!((store.reads(), store.conditional()), (4, (2, 2)));
    assert!(again.contains("seg2.ts?"), "{again}");
    // Fresh again for another 60 s.
    fetch(&deps, "vod.m3u8").await;
    assert_eq!(store.reads(), 4);

    // The object changes (same size): memory until the next revalidation,
    // which then reads the new one.
    std::fs::write(
        media.path().join("movies/movie_1/vod.m3u8"),
        VOD.replace("seg2", "segX"),
    )
    .unwrap();
    assert!(fetch(&deps, "vod.m3u8").await.1.contains("seg2.ts?"));
    clock.advance(Duration::from_secs(61));
    let (status, changed) = fetch(&deps, "vod.m3u8").await;
    assert_eq!(status, 200);
    assert!(
        changed.contains("segX.ts?") && !changed.contains("seg2.ts"),
        "{changed}"
    );
    assert_eq!((store.reads(), store.conditional()), (5, (3, 2)));

    // A deleted object is a 404 at its next revalidation, and forgotten.
    std::fs::remove_file(media.path().join("movies/movie_1/vod.m3u8")).unwrap();
    clock.advance(Duration::from_secs(61));
    assert_eq!(fetch(&deps, "vod.m3u8").await.0, 404);
    assert_eq!(fetch(&deps, "vod.m3u8").await.0, 404);
    assert_eq!(store.reads(), 7, "a missing object is not remembered");
}

#[tokio::test]
async fn a_live_playlist_is_never_staler_than_half_its_target_duration() {
    let media = media();
    let store = Counting::new(media.store());
    let clock = TestClock::default();
    let deps = deps_at(&[], store.clone(), &clock).await;
    assert_eq!(fetch(&deps, "live.m3u8").await.0, 200);
    clock.advance(Duration::from_millis(2_900));
    fetch(&deps, "live.m3u8").await;
    assert_eq!(store.reads(), 1, "within 3 s (half of 6): from memory");
    // The packager appends a segment; half the target duration later it is served.
    let appended = format!("{LIVE}#EXTINF:6,\nlive8.ts\n");
    std::fs::write(media.path().join("movies/movie_1/live.m3u8"), appended).unwrap();
    clock.advance(Duration::from_millis(200));
    let (status, out) = fetch(&deps, "live.m3u8").await;
    assert_eq!(status, 200);
    assert!(out.contains("live8.ts?"), "{out}");
    assert_eq!((store.reads(), store.conditional()), (2, (1, 0)));

    // Low-latency HLS: half the part target (0.5 s).
    assert_eq!(fetch(&deps, "ll.m3u8").await.0, 200);
    clock.advance(Duration::from_millis(400));
    fetch(&deps, "ll.m3u8").await;
    assert_eq!(store.reads(), 3);
    clock.advance(Duration::from_millis(200));
    fetch(&deps, "ll.m3u8").await;
    assert_eq!((store.reads(), store.conditional()), (4, (2, 1)));

    // RAW_CACHE_SECONDS bounds a live playlist too: 0 revalidates every time.
    let always = deps_at(&[("RAW_CACHE_SECONDS", "0")], store.clone(), &clock).await;
    for _ in 0..3 {
        assert_eq!(fetch(&always, "vod.m3u8").await.0, 200);
    }
    assert_eq!((store.reads(), store.conditional()), (7, (4, 3)));
}

#[tokio::test]
async fn the_cache_is_bounded_by_bytes() {
    let media = media();
    let store = Counting::new(media.store());
    let clock = TestClock::default();
    // Room for one of the two playlists (each entry counts its key and body).
    let budget = VOD.len() + "movies/movie_1/vod.m3u8".len() + 10;
    let deps = deps_at(&[("RAW_CACHE_BYTES", &budget.to_string())], store.clone(), &clock).await;
    for _ in 0..2 {
        fetch(&deps, "vod.m3u8").await;
        fetch(&deps, "master.m3u8").await;
    }
    assert_eq!(store.reads(), 4, "each evicts the other, the least recently used");
    let (entries, bytes) = deps.raw.usage();
    assert_eq!(entries, 1);
    assert!(bytes <= budget, "{bytes} > {budget}");
    fetch(&deps, "master.m3u8").await;
    assert_eq!(store.reads(), 4, "the one kept is served from memory");

    // An object larger than the whole budget is not kept; 0 turns the cache off.
    for (setting, reads) in [("10", 3), ("0", 3)] {
        let store = Counting::new(media.store());
        let deps = deps_at(&[("RAW_CACHE_BYTES", setting)], store.clone(), &clock).await;
        for _ in 0..3 {
            assert_eq!(fetch(&deps, "vod.m3u8").await.0, 200);
        }
        assert_eq!(
            (store.reads(), deps.raw.usage()),
            (reads, (0, 0)),
            "RAW_CACHE_BYTES={setting}"
        );
    }
}

#[tokio::test]
async fn a_rotated_key_keeps_the_raw_cache() {
    let media = media();
    let store = Counting::new(media.store());
    let file = json_secret_file();
    let deps = deps_with_secret(&file, &[("KEY_REFRESH_SECONDS", "0")], store.clone()).await;
    let deps = deps.with_monotonic_clock(TestClock::default().boxed());
    let (status, first) = fetch(&deps, "vod.m3u8").await;
    assert_eq!((status, store.reads()), (200, 1));
    assert!(first.contains(&format!("Key-Pair-Id={KEY_ID}")));
    let rotated = json!({
        "key_pair_id": "KNEWKEY",
        "private_key": OTHER_PEM,
        "public_keys": {"KNEWKEY": public(OTHER_PEM), KEY_ID: public(PEM)},
    });
    std::fs::write(&file, rotated.to_string()).unwrap();
    let (status, after) = fetch(&deps, "vod.m3u8").await;
    assert_eq!(status, 200);
    assert!(
        after.contains("Key-Pair-Id=KNEWKEY"),
        "signed with the new key: {after}"
    );
    assert_eq!(store.reads(), 1, "the raw object stayed in memory across the rotation");
    std::fs::remove_file(file).unwrap();
}

#[tokio::test]
async fn a_body_that_is_not_a_playlist_is_not_kept() {
    let media = MediaDir::new(&[
        ("movies/movie_1/empty.m3u8", ""),
        ("movies/movie_1/html.m3u8", "<html>"),
    ]);
    let store = Counting::new(media.store());
    let deps = deps_at(&[], store.clone(), &TestClock::default()).await;
    // Empty: caught mid-upload, 503 to retry; not a playlist: 502.
    for (name, status) in [
        ("empty.m3u8", 503),
        ("html.m3u8", 502),
        ("empty.m3u8", 503),
        ("html.m3u8", 502),
    ] {
        assert_eq!(fetch(&deps, name).await.0, status, "{name}");
    }
    assert_eq!(store.reads(), 4, "a half-uploaded object is read again");
    // Once complete, it is served (and kept).
    std::fs::write(media.path().join("movies/movie_1/empty.m3u8"), VOD).unwrap();
    assert_eq!(fetch(&deps, "empty.m3u8").await.0, 200);
    assert_eq!(fetch(&deps, "empty.m3u8").await.0, 200);
    assert_eq!(store.reads(), 5);
}
