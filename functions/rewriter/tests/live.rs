//! Live playlists through the handler, in-process over a media folder that
//! the test rewrites as a packager would: the answer's `Cache-Control`
//! follows the playlist, a sliding window reuses its signatures, an object
//! caught mid-write is answered 503 (retryable) and never rewritten in part,
//! and low-latency blocking reloads (`_HLS_msn`, `_HLS_part`) wait for their
//! part, time out with 503 and refuse a request too far ahead with 400.
//! Blocking tests sleep for real (short target durations): the wait is
//! what they test.

mod support;

use std::time::{Duration, Instant};

use cloudfront_sign::{RESERVED_PARAMS, Verifier, strip_params};
use rewriter::handler;
use serde_json::json;
use support::*;

const DIR: &str = "movies/movie_1";

fn vod() -> String {
    "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\ns1.ts\n#EXT-X-ENDLIST\n".into()
}

/// A live sliding window of `count` 6-second segments starting at `first`.
fn window(first: u64, count: u64, target: u64) -> String {
    let mut text = format!("#EXTM3U\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:{first}\n");
    for n in first..first + count {
        if n % 5 == 0 {
            text.push_str("#EXT-X-DISCONTINUITY\n");
        }
        text.push_str(&format!("#EXTINF:{target},\nlive{n}.ts\n"));
    }
    text
}

/// A low-latency playlist (1 s target, 0.25 s parts, blocking reloads):
/// segments up to `next - 1` complete, `parts` parts of segment `next`.
fn low_latency(next: u64, parts: u64) -> String {
    let mut text = String::from(
        "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-VERSION:9\n\
         #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.75\n\
         #EXT-X-PART-INF:PART-TARGET=0.25\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI=\"init.mp4\"\n",
    );
    for n in 0..next {
        text.push_str(&format!("#EXTINF:1.0,\nseg{n}.mp4\n"));
    }
    for p in 0..parts {
        text.push_str(&format!(
            "#EXT-X-PART:DURATION=0.25,URI=\"part{next}.{p}.mp4\",INDEPENDENT=YES\n"
        ));
    }
    text.push_str(&format!(
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part{next}.{parts}.mp4\"\n"
    ));
    text
}

/// GETs `name` in movie 1 with a valid credential and `extra` query
/// parameters, with `deadline_ms` as the invocation's deadline (0: none).
async fn fetch_with(
    deps: &rewriter::Deps,
    name: &str,
    extra: &str,
    deadline_ms: u64,
) -> aws_lambda_events::apigw::ApiGatewayV2httpResponse {
    let path = format!("/{DIR}/{name}");
    let mut query = viewer_query(&signer(PEM, KEY_ID), &path, &movie_policy());
    if !extra.is_empty() {
        query = format!("{query}&{extra}");
    }
    let mut event = get(&path, &query, json!({}));
    event.context.deadline = deadline_ms;
    handler(event, deps).await.unwrap()
}

async fn fetch(deps: &rewriter::Deps, name: &str, extra: &str) -> aws_lambda_events::apigw::ApiGatewayV2httpResponse {
    fetch_with(deps, name, extra, 0).await
}

fn write(media: &MediaDir, name: &str, body: &str) {
    std::fs::write(media.path().join(DIR).join(name), body).unwrap();
}

/// The credential expires at NOW + 3600 rounded down to 60 s: 3559 s left.
const CREDENTIAL_LEFT: u64 = 3559;

#[tokio::test]
async fn cache_control_follows_what_the_playlist_is() {
    let event = window(0, 3, 4).replace(
        "#EXT-X-MEDIA-SEQUENCE",
        "#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MEDIA-SEQUENCE",
    );
    let ended_event = format!("{event}#EXT-X-ENDLIST\n");
    let cases = [
        ("vod.m3u8", vod(), CREDENTIAL_LEFT),
        (
            "master.m3u8",
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv/index.m3u8\n".into(),
            CREDENTIAL_LEFT,
        ),
        ("live6.m3u8", window(10, 4, 6), 3),
        ("live2.m3u8", window(10, 4, 2), 1),
        ("event.m3u8", event, 2),
        ("ended.m3u8", ended_event, CREDENTIAL_LEFT),
        // Quarter-second parts: half a part is under a second, 0 (not kept).
        ("ll.m3u8", low_latency(3, 1), 0),
    ];
    let objects: Vec<(String, String)> = cases
        .iter()
        .map(|(name, body, _)| (format!("{DIR}/{name}"), body.clone()))
        .collect();
    let objects: Vec<(&str, &str)> = objects.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let media = MediaDir::new(&objects);
    let deps = deps(&[], media.store()).await;
    for (name, _, max_age) in cases {
        let r = fetch(&deps, name, "").await;
        assert_eq!(r.status_code, 200, "{name}: {}", text(&r));
        let want = format!("max-age={max_age}");
        assert_eq!(header(&r, "cache-control"), Some(want.as_str()), "{name}");
        // A repeat (answer cache hit) computes it again, the same way.
        let again = fetch(&deps, name, "").await;
        assert_eq!(header(&again, "cache-control"), Some(want.as_str()), "{name} again");
    }
}

#[tokio::test]
async fn a_sliding_window_is_rewritten_from_the_object_of_now_and_reuses_its_signatures() {
    let media = MediaDir::new(&[(format!("{DIR}/live.m3u8").as_str(), window(7, 4, 2).as_str())]);
    let clock = TestClock::default();
    let deps = deps_at(&[], media.store(), &clock).await;
    let first = text(&fetch(&deps, "live.m3u8", "").await);
    assert!(first.contains("live7.ts?") && first.contains("live10.ts?"), "{first}");
    let (_, misses) = deps.signature_cache_stats().unwrap();
    assert_eq!(misses, 1, "one directory policy for the whole window");
    for reload in 1..=6u64 {
        // The packager slides the window (a discontinuity every fifth segment).
        write(&media, "live.m3u8", &window(7 + reload, 4, 2));
        clock.advance(Duration::from_secs(2));
        let r = fetch(&deps, "live.m3u8", "").await;
        let body = text(&r);
        assert_eq!(r.status_code, 200, "{body}");
        assert!(
            !body.contains(&format!("live{}.ts", 6 + reload)),
            "dropped off the front: {body}"
        );
        assert!(body.contains(&format!("live{}.ts?", 10 + reload)), "{body}");
        assert_eq!(uris(&body).len(), 4, "the window of now, every URI signed: {body}");
        assert_eq!(
            deps.signature_cache_stats().unwrap().1,
            1,
            "reload {reload}: no new signature"
        );
    }
    assert!(text(&fetch(&deps, "live.m3u8", "").await).contains("#EXT-X-DISCONTINUITY\n"));
}

#[tokio::test]
async fn an_object_caught_mid_write_is_retried_never_rewritten_in_part() {
    let whole = window(3, 3, 2);
    let cut_mid_uri = &whole[..whole.len() - 4];
    let cut_after_extinf = &whole[..whole.rfind("live5.ts").unwrap()];
    let header_only = "#EXTM3U\n#EXT-X-VERSION:3\n";
    let master_cut = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\n";
    let media = MediaDir::new(&[(format!("{DIR}/live.m3u8").as_str(), "")]);
    let store = Counting::new(media.store());
    let clock = TestClock::default();
    let deps = deps_at(&[], store.clone(), &clock).await;
    for (partial, why) in [
        ("", "empty"),
        ("#EXT", "empty"),
        ("\u{feff}#EXTM3U\r\n", "empty"),
        (header_only, "header"),
        (cut_mid_uri, "cut mid-line"),
        (cut_after_extinf, "URI missing"),
        (master_cut, "variant URI missing"),
    ] {
        write(&media, "live.m3u8", partial);
        let reads = store.reads();
        let r = fetch(&deps, "live.m3u8", "").await;
        assert_eq!(
            (r.status_code, error_type(&r).as_str()),
            (503, "playlist_incomplete"),
            "{why}: {partial:?}"
        );
        assert_eq!(header(&r, "retry-after"), Some("1"), "{why}");
        assert_eq!(header(&r, "cache-control"), Some("no-store"), "{why}");
        assert!(!text(&r).contains("Signature"), "{why}: nothing rewritten");
        assert_eq!(store.reads(), reads + 1, "{why}: read");
        // Not kept: the retry reads the object again, no clock moved.
        fetch(&deps, "live.m3u8", "").await;
        assert_eq!(store.reads(), reads + 2, "{why}: the retry reads again");
    }
    write(&media, "live.m3u8", &whole);
    let r = fetch(&deps, "live.m3u8", "").await;
    assert_eq!(r.status_code, 200, "{}", text(&r));
    assert_eq!(uris(&text(&r)).len(), 3);
    // Not a playlist at all is not "incomplete": 502 as before, not retried.
    clock.advance(Duration::from_secs(2));
    write(&media, "live.m3u8", "<html>oops</html>\n");
    let r = fetch(&deps, "live.m3u8", "").await;
    assert_eq!((r.status_code, error_type(&r).as_str()), (502, "not_a_playlist"));
    // An ended playlist without its last line feed is complete.
    clock.advance(Duration::from_secs(2));
    write(&media, "live.m3u8", vod().trim_end());
    assert_eq!(fetch(&deps, "live.m3u8", "").await.status_code, 200);
}

#[tokio::test]
async fn a_blocking_reload_waits_for_its_part_with_conditional_reads() {
    let media = MediaDir::new(&[(format!("{DIR}/ll.m3u8").as_str(), low_latency(3, 1).as_str())]);
    let store = Counting::new(media.store());
    let deps = deps(&[("BLOCKING_RELOAD_POLL_MS", "20")], store.clone()).await;
    // Already there: answered at once.
    let r = fetch(&deps, "ll.m3u8", "_HLS_msn=3&_HLS_part=0").await;
    assert_eq!(r.status_code, 200, "{}", text(&r));
    // Part 3.1 appears 300 ms later (written atomically, as a packager does).
    let path = media.path().join(DIR);
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        std::fs::write(path.join("ll.tmp"), low_latency(3, 2)).unwrap();
        std::fs::rename(path.join("ll.tmp"), path.join("ll.m3u8")).unwrap();
    });
    let before = store.conditional();
    let started = Instant::now();
    let r = fetch(&deps, "ll.m3u8", "_HLS_msn=3&_HLS_part=1&_HLS_skip=YES").await;
    let waited = started.elapsed();
    writer.await.unwrap();
    let body = text(&r);
    assert_eq!(r.status_code, 200, "{body}");
    assert!(body.contains("part3.1.mp4?"), "the part asked for: {body}");
    assert!(
        !body.contains("#EXT-X-SKIP"),
        "_HLS_skip is ignored: the whole playlist"
    );
    assert!(waited >= Duration::from_millis(250), "it waited: {waited:?}");
    let (asked, unchanged) = store.conditional();
    assert!(
        asked - before.0 >= 2,
        "conditional reads while waiting: {:?}",
        store.conditional()
    );
    assert!(unchanged - before.1 >= 1, "an unchanged object is not read again whole");
    // A whole segment asked for: waits for the segment, not a part.
    let path = media.path().join(DIR);
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        std::fs::write(path.join("ll.m3u8"), low_latency(4, 0)).unwrap();
    });
    let r = fetch(&deps, "ll.m3u8", "_HLS_msn=3").await;
    writer.await.unwrap();
    assert!(text(&r).contains("seg3.mp4?"), "{}", text(&r));
    // The answer to a blocking reload is live: half a part target, 0 s.
    assert_eq!(header(&r, "cache-control"), Some("max-age=0"));
}

#[tokio::test]
async fn a_blocking_reload_gives_up_after_three_target_durations_or_at_the_deadline() {
    let media = MediaDir::new(&[(format!("{DIR}/ll.m3u8").as_str(), low_latency(3, 1).as_str())]);
    let deps = deps(&[("BLOCKING_RELOAD_POLL_MS", "50")], media.store()).await;
    let started = Instant::now();
    let r = fetch(&deps, "ll.m3u8", "_HLS_msn=3&_HLS_part=2").await;
    let waited = started.elapsed();
    assert_eq!(
        (r.status_code, error_type(&r).as_str()),
        (503, "blocking_reload_timeout"),
        "{}",
        text(&r)
    );
    // Three target durations of 1 s.
    assert!(waited >= Duration::from_millis(2900), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    // An invocation deadline 1.2 s away: answered before it (less the margin).
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 1200;
    let started = Instant::now();
    let r = fetch_with(&deps, "ll.m3u8", "_HLS_msn=3&_HLS_part=2", deadline).await;
    let waited = started.elapsed();
    assert_eq!(error_type(&r), "blocking_reload_timeout");
    assert!(waited < Duration::from_millis(1200), "before the deadline: {waited:?}");
}

#[tokio::test]
async fn bad_or_too_far_directives_are_400_and_plain_playlists_ignore_them() {
    let media = MediaDir::new(&[
        (format!("{DIR}/ll.m3u8").as_str(), low_latency(3, 1).as_str()),
        (format!("{DIR}/live.m3u8").as_str(), window(3, 3, 2).as_str()),
        (format!("{DIR}/vod.m3u8").as_str(), vod().as_str()),
    ]);
    let deps = deps(&[], media.store()).await;
    for (extra, status, kind) in [
        ("_HLS_msn=5", 400, "delivery_directive_too_far_ahead"),
        ("_HLS_msn=3&_HLS_part=13", 400, "delivery_directive_too_far_ahead"),
        ("_HLS_msn=x", 400, "invalid_delivery_directive"),
        ("_HLS_part=1", 400, "invalid_delivery_directive"),
        ("_HLS_msn=1&_HLS_msn=2", 400, "invalid_delivery_directive"),
    ] {
        let r = fetch(&deps, "ll.m3u8", extra).await;
        assert_eq!((r.status_code, error_type(&r).as_str()), (status, kind), "{extra}");
        assert_eq!(header(&r, "cache-control"), Some("no-store"));
    }
    // No CAN-BLOCK-RELOAD, or ended: answered at once, as it is.
    for name in ["live.m3u8", "vod.m3u8"] {
        let started = Instant::now();
        let r = fetch(&deps, name, "_HLS_msn=99&_HLS_part=0").await;
        assert_eq!(r.status_code, 200, "{name}: {}", text(&r));
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}

/// Players append `_HLS_msn`/`_HLS_part`/`_HLS_skip` to a child playlist's
/// URI as they got it: the credential CloudFront checks, and the prefixed
/// copy the rewriter checks, still verify with them, in every strategy that
/// signs child playlists.
#[tokio::test]
async fn child_playlist_uris_still_verify_with_delivery_directives_appended() {
    let master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0/ll.m3u8\n";
    let media = MediaDir::new(&[
        (format!("{DIR}/index.m3u8").as_str(), master),
        (format!("{DIR}/v0/ll.m3u8").as_str(), low_latency(3, 1).as_str()),
    ]);
    let mut edge = Verifier::new();
    edge.trust(KEY_ID, signer(PEM, KEY_ID).verifying_key());
    for mode in ["resign", "per-uri"] {
        let deps = deps(&[("REWRITE_MODE", mode)], media.store()).await;
        let r = fetch(&deps, "index.m3u8", "").await;
        let child = uris(&text(&r)).pop().unwrap();
        let url = format!("{CF}/{DIR}/{child}&_HLS_msn=3&_HLS_part=0&_HLS_skip=YES");
        // CloudFront's check, over the whole URL the player sends.
        edge.verify_url(&url, "", NOW, None)
            .unwrap_or_else(|e| panic!("{mode}: the edge refuses {url}: {e}"));
        // What reaches the rewriter: CloudFront's own parameters removed.
        let forwarded = strip_params(&url, &RESERVED_PARAMS);
        let (path, query) = forwarded.strip_prefix(CF).unwrap().split_once('?').unwrap();
        let r = handler(get(path, query, json!({})), &deps).await.unwrap();
        assert_eq!(r.status_code, 200, "{mode}: {}", text(&r));
        assert!(text(&r).contains("part3.0.mp4?"), "{mode}");
    }
}
