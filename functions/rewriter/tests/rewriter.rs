//! rewriter's handler in-process, over a media folder ([`MediaDir`]): every
//! status, the invariants, the strategies, rotation. The S3 wiring is
//! tested against moto in `s3.rs`.

mod support;

use std::net::IpAddr;

use cloudfront_sign::{Cidr, Policy, SigningKey, Verifier};
use rewriter::handler;
use serde_json::json;
use support::*;

const MEDIA: &str = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg1.ts\n#EXTINF:4,\nseg2.ts\n#EXT-X-ENDLIST\n";
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0xFF, 0xD9,
];

fn ok_query() -> String {
    viewer_query(&signer(PEM, KEY_ID), "/movies/movie_1/index.m3u8", &movie_policy())
}

fn standard_media() -> MediaDir {
    let mut objects: Vec<(String, Vec<u8>)> = vec![
        ("movies/movie_1/index.m3u8".into(), MEDIA.as_bytes().to_vec()),
        ("movies/movie_1/cover.m3u8".into(), JPEG.to_vec()),
        ("movies/movie_1/empty.m3u8".into(), Vec::new()),
        (
            "movies/movie_1/latin1.m3u8".into(),
            b"#EXTM3U\n#EXTINF:4,caf\xe9\nseg.ts\n".to_vec(),
        ),
        ("movies/movie_1/text.m3u8".into(), b"<html>hello</html>\n".to_vec()),
        ("private/keys.m3u8".into(), MEDIA.as_bytes().to_vec()),
    ];
    for (name, body) in corpus() {
        objects.push((format!("movies/movie_1/{name}"), body.into_bytes()));
    }
    let refs: Vec<(&str, &[u8])> = objects.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
    MediaDir::new(&refs)
}

#[tokio::test]
async fn refused_credentials_are_403_before_s3_is_read() {
    let media = standard_media();
    let counting = Counting::new(media.store());
    let deps = deps(&[], counting.clone()).await;
    let path = "/movies/movie_1/index.m3u8";
    let good = ok_query();
    let tampered = good.replacen("Signature-PREFIX=", "Signature-PREFIX=AAAA", 1);
    let expired = viewer_query(
        &signer(PEM, KEY_ID),
        path,
        &Policy::new(format!("{CF}/movies/movie_1/*"), NOW - 1),
    );
    let not_yet = viewer_query(&signer(PEM, KEY_ID), path, &movie_policy().not_before(NOW + 60));
    let foreign = viewer_query(&signer(OTHER_PEM, "KOTHERKEY"), path, &movie_policy());
    let foreign_same_id = viewer_query(&signer(OTHER_PEM, KEY_ID), path, &movie_policy());
    let other_movie = viewer_query(
        &signer(PEM, KEY_ID),
        "/movies/movie_2/index.m3u8",
        &Policy::new(format!("{CF}/movies/movie_2/*"), NOW + 60),
    );
    let other_host = viewer_query(
        &signer(PEM, KEY_ID),
        "https://evil.example/movies/movie_1/index.m3u8",
        &Policy::new("https://evil.example/movies/movie_1/*", NOW + 60),
    );
    // Only CloudFront's names (as if the viewer had no prefixed copy).
    let unprefixed = {
        let url = signer(PEM, KEY_ID)
            .sign_with_policy(&format!("{CF}{path}"), &movie_policy())
            .unwrap();
        url.split_once('?').unwrap().1.to_owned()
    };
    for (query, code) in [
        ("", "missing_parameter"),
        (unprefixed.as_str(), "missing_parameter"),
        (tampered.as_str(), "bad_signature"),
        (expired.as_str(), "expired"),
        (not_yet.as_str(), "not_yet_valid"),
        (foreign.as_str(), "unknown_key"),
        (foreign_same_id.as_str(), "bad_signature"),
        (other_movie.as_str(), "resource_mismatch"),
        (other_host.as_str(), "resource_mismatch"),
    ] {
        let r = handler(get(path, query, json!({})), &deps).await.unwrap();
        assert_eq!(r.status_code, 403, "{code}");
        assert_eq!(error_type(&r), code);
    }
    assert_eq!(counting.reads(), 0, "a refused request read S3");
    let r = handler(get(path, &good, json!({})), &deps).await.unwrap();
    assert_eq!(r.status_code, 200, "{r:?}");
    assert_eq!(counting.reads(), 1);

    // A key trusted through TRUSTED_PUBLIC_KEYS (rotation) is accepted.
    let trusted = json!({"KOTHERKEY": OTHER_PUBLIC_PEM}).to_string();
    let deps = support::deps(&[("TRUSTED_PUBLIC_KEYS", &trusted)], media.store()).await;
    let r = handler(get(path, &foreign, json!({})), &deps).await.unwrap();
    assert_eq!(r.status_code, 200, "{}", text(&r));
}

#[tokio::test]
async fn ip_bound_credentials() {
    let media = standard_media();
    let deps = deps(&[], media.store()).await;
    let path = "/movies/movie_1/index.m3u8";
    let ip: IpAddr = "2001:db8::7".parse().unwrap();
    let policy = movie_policy().from_ip(Cidr::single(ip));
    let query = viewer_query(&signer(PEM, KEY_ID), path, &policy);
    for (headers, status) in [
        (json!({"cloudfront-viewer-address": "2001:db8::7:51234"}), 200),
        (json!({"cloudfront-viewer-address": "[2001:db8::7]:51234"}), 200),
        (json!({"cloudfront-viewer-address": "2001:db8::8:51234"}), 403),
        (json!({"cloudfront-viewer-address": "garbage"}), 403),
        (json!({}), 403), // the source IP is CloudFront's
    ] {
        let r = handler(get(path, &query, headers.clone()), &deps).await.unwrap();
        assert_eq!(r.status_code, status, "{headers}");
        if status == 403 {
            assert_eq!(error_type(&r), "ip_not_allowed");
        } else {
            // Every outgoing credential keeps the IP condition.
            for uri in uris(&text(&r)).iter().filter(|u| u.contains("Signature=")) {
                let abs = format!("{CF}/movies/movie_1/{uri}");
                let v = verifier();
                assert_eq!(
                    v.verify_url(&abs, "", NOW, Some("2001:db8::8".parse().unwrap()))
                        .unwrap_err()
                        .code(),
                    "ip_not_allowed"
                );
                let grant = v.verify_url(&abs, "", NOW, Some(ip)).unwrap();
                assert_eq!(grant.policy.ip_address, Some(Cidr::single(ip)));
            }
        }
    }
}

#[tokio::test]
async fn bad_paths_are_400_and_never_read() {
    let media = standard_media();
    let store = Counting::new(media.store());
    let deps = deps(&[], store.clone()).await;
    for (path, code) in [
        ("/movies/../private/keys.m3u8", "invalid_path"),
        ("/movies/movie_1/../../private/keys.m3u8", "invalid_path"),
        ("/movies/%2e%2e/private/keys.m3u8", "invalid_path"),
        ("/movies//movie_1/index.m3u8", "invalid_path"),
        ("//etc/passwd", "invalid_path"),
        ("/movies/movie_1/./index.m3u8", "invalid_path"),
        ("/movies/movie_1/in dex.m3u8", "invalid_path"),
        ("/private/keys.m3u8", "not_a_playlist_path"),
        ("/movies/movie_1/seg1.ts", "not_a_playlist_path"),
        ("/movies/movie_1/index.m3u8.bak", "not_a_playlist_path"),
    ] {
        let r = handler(get(path, &ok_query(), json!({})), &deps).await.unwrap();
        assert_eq!((r.status_code, error_type(&r).as_str()), (400, code), "{path}");
    }
    // pathParameters.proxy wins over rawPath (API Gateway route /{proxy+}).
    let mut ev = get("/ignored", &ok_query(), json!({}));
    ev.payload
        .path_parameters
        .insert("proxy".into(), "movies/../x.m3u8".into());
    assert_eq!(handler(ev, &deps).await.unwrap().status_code, 400);
    let r = handler(event("DELETE", "/movies/movie_1/index.m3u8", "", json!({})), &deps)
        .await
        .unwrap();
    assert_eq!((r.status_code, error_type(&r).as_str()), (405, "method_not_allowed"));
    assert_eq!(store.reads(), 0);
}

#[tokio::test]
async fn missing_and_bad_objects() {
    let media = standard_media();
    let deps = deps(&[], media.store()).await;
    let q = |path: &str| viewer_query(&signer(PEM, KEY_ID), path, &movie_policy());
    for (path, status, code) in [
        ("/movies/movie_1/nope.m3u8", 404, "not_found"),
        ("/movies/movie_1/cover.m3u8", 502, "not_a_playlist"),
        ("/movies/movie_1/empty.m3u8", 503, "playlist_incomplete"),
        ("/movies/movie_1/latin1.m3u8", 502, "not_a_playlist"),
        ("/movies/movie_1/text.m3u8", 502, "not_a_playlist"),
    ] {
        let r = handler(get(path, &q(path), json!({})), &deps).await.unwrap();
        assert_eq!((r.status_code, error_type(&r).as_str()), (status, code), "{path}");
    }
    // Over MAX_PLAYLIST_BYTES: refused from the object's size, not read.
    let small = support::deps(&[("MAX_PLAYLIST_BYTES", "20")], media.store()).await;
    let path = "/movies/movie_1/index.m3u8";
    let r = handler(get(path, &q(path), json!({})), &small).await.unwrap();
    assert_eq!((r.status_code, error_type(&r).as_str()), (502, "playlist_too_large"));
}

#[tokio::test]
async fn ok_headers_cors_head_and_options() {
    let media = standard_media();
    let deps = deps(
        &[("CORS_ALLOWED_ORIGINS", "https://player.example,https://other.example")],
        media.store(),
    )
    .await;
    let path = "/movies/movie_1/index.m3u8";
    let r = handler(
        get(
            path,
            &ok_query(),
            json!({"origin": "https://player.example", "accept-encoding": "gzip"}),
        ),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(r.status_code, 200);
    assert_eq!(header(&r, "content-type"), Some("application/vnd.apple.mpegurl"));
    // Until the outgoing credentials expire: NOW + 3600 rounded down to the
    // default EXPIRY_GRANULARITY_SECONDS (60), minus a second.
    assert_eq!((NOW + 3600) % 60, 40);
    assert_eq!(header(&r, "cache-control"), Some("max-age=3559"));
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        Some("https://player.example")
    );
    assert_eq!(header(&r, "vary"), Some("Origin, Accept-Encoding"));
    // Small: not compressed even though gzip is accepted.
    assert!(!r.is_base64_encoded && header(&r, "content-encoding").is_none());
    let r = handler(event("HEAD", path, &ok_query(), json!({})), &deps)
        .await
        .unwrap();
    assert_eq!((r.status_code, r.body.is_none()), (200, true));
    let r = handler(
        event("OPTIONS", path, "", json!({"origin": "https://other.example"})),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(r.status_code, 204);
    assert_eq!(header(&r, "access-control-allow-origin"), Some("https://other.example"));
}

fn big_playlist(segments: usize) -> String {
    let mut p = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n");
    for i in 0..segments {
        p.push_str(&format!(
            "#EXTINF:4.000000,\nsegment_{i:07}_with_a_rather_long_name_for_size.ts\n"
        ));
    }
    p.push_str("#EXT-X-ENDLIST\n");
    p
}

#[tokio::test]
async fn ten_megabyte_playlist_goes_compressed_or_502() {
    let body = big_playlist(145_000);
    assert!(body.len() > 10_000_000, "{}", body.len());
    let media = MediaDir::new(&[("movies/movie_1/big.m3u8", body.as_bytes())]);
    let deps = deps(&[], media.store()).await;
    let path = "/movies/movie_1/big.m3u8";
    let q = viewer_query(&signer(PEM, KEY_ID), path, &movie_policy());
    let r = handler(get(path, &q, json!({"accept-encoding": "br, gzip;q=0.9"})), &deps)
        .await
        .unwrap();
    assert_eq!(r.status_code, 200, "{r:?}");
    assert!(r.is_base64_encoded);
    assert_eq!(header(&r, "content-encoding"), Some("gzip"));
    let payload = serde_json::to_vec(&r).unwrap();
    assert!(payload.len() < 6 * 1024 * 1024, "payload {} bytes", payload.len());
    let out = text(&r);
    assert_eq!(uris(&out).len(), 145_000);
    assert!(out.len() > body.len());
    let r = handler(get(path, &q, json!({"accept-encoding": "identity"})), &deps)
        .await
        .unwrap();
    assert_eq!((r.status_code, error_type(&r).as_str()), (502, "response_too_large"));
    assert!(text(&r).contains("gzip"));
}

fn verifier() -> Verifier {
    let mut v = Verifier::new();
    v.trust(KEY_ID, signer(PEM, KEY_ID).verifying_key());
    v
}

/// The literal part of a resource pattern, before its first wildcard.
fn literal_prefix(pattern: &str) -> &str {
    &pattern[..pattern.find(['*', '?']).unwrap_or(pattern.len())]
}

/// Checks DESIGN invariant 1 on a rewritten playlist: every credential in it
/// verifies, and none grants more than `incoming` (time, IP, resource).
/// Returns the number of credentials checked.
fn assert_no_wider_grant(out: &str, playlist_url: &str, incoming: &Policy, ip: Option<IpAddr>) -> usize {
    let incoming_prefix = incoming
        .resource
        .strip_suffix('*')
        .expect("tests use a directory grant");
    assert!(!incoming_prefix.contains(['*', '?']));
    let base = url::Url::parse(playlist_url).unwrap();
    let v = verifier();
    let mut checked = 0;
    for uri in uris(out) {
        let signed = uri.contains("Signature=") || uri.contains("Signature-PREFIX=");
        // A player never sends the fragment.
        let Ok(mut abs) = base.join(&uri) else {
            assert!(!signed, "unparsable URI signed: {uri}");
            continue;
        };
        abs.set_fragment(None);
        let ours = abs.scheme().starts_with("http") && abs.host_str() == Some("d111111abcdef8.cloudfront.net");
        if !ours {
            assert!(!signed, "a URI on another host or scheme was signed: {uri}");
            continue;
        }
        for suffix in ["", "-PREFIX"] {
            if !uri.contains(&format!("Signature{suffix}=")) {
                continue;
            }
            let grant = v
                .verify_url(abs.as_str(), suffix, NOW, ip)
                .unwrap_or_else(|e| panic!("{uri} ({suffix}) does not verify: {e}"));
            let p = &grant.policy;
            assert!(p.date_less_than <= incoming.date_less_than, "{uri}: later expiry");
            if let Some(start) = incoming.date_greater_than {
                assert!(p.date_greater_than.is_some_and(|s| s >= start), "{uri}: earlier start");
            }
            if let Some(block) = &incoming.ip_address {
                assert!(
                    p.ip_address.as_ref().is_some_and(|b| block.covers(b)),
                    "{uri}: IP condition dropped"
                );
            }
            assert!(
                literal_prefix(&p.resource).starts_with(incoming_prefix),
                "{uri}: resource {} is wider than {}",
                p.resource,
                incoming.resource
            );
            checked += 1;
        }
    }
    checked
}

#[tokio::test]
async fn invariant_no_outgoing_grant_is_wider_for_every_corpus_playlist_and_strategy() {
    let media = standard_media();
    let ip: IpAddr = "198.51.100.23".parse().unwrap();
    let grants = [
        (movie_policy(), None),
        (movie_policy().not_before(NOW - 100).from_ip(Cidr::single(ip)), Some(ip)),
        (
            Policy::new(format!("{CF}/movies/movie_1/*"), NOW + 30).from_ip("198.51.100.0/24".parse().unwrap()),
            Some(ip),
        ),
    ];
    let mut total = 0;
    for mode in ["resign", "per-uri", "reuse"] {
        let deps = deps(&[("REWRITE_MODE", mode)], media.store()).await;
        for (name, original) in corpus() {
            for (policy, viewer) in &grants {
                let path = format!("/movies/movie_1/{name}");
                let q = viewer_query(&signer(PEM, KEY_ID), &path, policy);
                let headers = match viewer {
                    Some(ip) => json!({"cloudfront-viewer-address": format!("{ip}:443")}),
                    None => json!({}),
                };
                let r = handler(get(&path, &q, headers), &deps).await.unwrap();
                if mode == "reuse" && r.status_code == 502 {
                    assert_eq!(error_type(&r), "reuse_not_covering", "{name}");
                    continue;
                }
                assert_eq!(r.status_code, 200, "{mode} {name}: {}", text(&r));
                let out = text(&r);
                let checked = assert_no_wider_grant(&out, &format!("{CF}{path}"), policy, *viewer);
                assert!(checked > 0, "{mode} {name}: nothing signed");
                total += checked;
                // Byte-faithful: removing the credentials gives the original back
                // (for the lines that were not touched at all, equal as they are).
                assert_eq!(out.lines().count(), original.lines().count(), "{mode} {name}");
            }
        }
    }
    assert!(total > 100, "only {total} credentials checked");
}

#[tokio::test]
async fn child_playlists_carry_prefixed_copies_and_segments_do_not() {
    let media = standard_media();
    for mode in ["resign", "per-uri"] {
        let deps = deps(&[("REWRITE_MODE", mode)], media.store()).await;
        let path = "/movies/movie_1/master_full.m3u8";
        let q = viewer_query(&signer(PEM, KEY_ID), path, &movie_policy());
        let r = handler(get(path, &q, json!({})), &deps).await.unwrap();
        assert_eq!(r.status_code, 200);
        let out = text(&r);
        let child = out
            .lines()
            .find(|l| l.starts_with("v5/prog_index.m3u8?"))
            .expect("variant line");
        assert!(
            child.contains("Signature=")
                && child.contains("Signature-PREFIX=")
                && child.contains("Key-Pair-Id-PREFIX="),
            "{child}"
        );
        // The child's prefixed copy is what the next request presents: it verifies for the child.
        let child_url = format!("{CF}/movies/movie_1/{child}");
        let stripped = cloudfront_sign::strip_params(&child_url, &cloudfront_sign::RESERVED_PARAMS);
        let (child_path, child_query) = stripped.strip_prefix(CF).unwrap().split_once('?').unwrap();
        let r2 = handler(get(child_path, child_query, json!({})), &deps).await.unwrap();
        // The child object is not in the bucket: 404 proves the credential passed.
        assert_eq!((r2.status_code, error_type(&r2).as_str()), (404, "not_found"), "{mode}");

        let path = "/movies/movie_1/media_ts_vod.m3u8";
        let q = viewer_query(&signer(PEM, KEY_ID), path, &movie_policy());
        let out = text(&handler(get(path, &q, json!({})), &deps).await.unwrap());
        let segments: Vec<&str> = out.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect();
        assert!(!segments.is_empty());
        for s in segments {
            if s.contains("Signature=") {
                assert!(!s.contains("-PREFIX="), "a segment got prefixed copies: {s}");
            }
        }
    }
}

#[tokio::test]
async fn strategies_and_the_warm_signature_cache() {
    let media = standard_media();
    let path = "/movies/movie_1/media_ts_vod.m3u8";
    let q = viewer_query(&signer(PEM, KEY_ID), path, &movie_policy());

    // The signature cache on its own: without the answer cache, a repeat rewrites.
    let resign = deps(&[("ANSWER_CACHE_BYTES", "0")], media.store()).await;
    let out = text(&handler(get(path, &q, json!({})), &resign).await.unwrap());
    let (hits, misses) = resign.signature_cache_stats().unwrap();
    assert_eq!((hits, misses), (0, 1), "resign: one signature for the playlist");
    // Warm: the same request computes nothing new.
    let again = text(&handler(get(path, &q, json!({})), &resign).await.unwrap());
    assert_eq!(again, out);
    assert_eq!(resign.signature_cache_stats().unwrap(), (1, 1));
    // With the answer cache (the default), a repeat does not even rewrite.
    let answered = deps(&[], media.store()).await;
    assert_eq!(text(&handler(get(path, &q, json!({})), &answered).await.unwrap()), out);
    assert_eq!(text(&handler(get(path, &q, json!({})), &answered).await.unwrap()), out);
    assert_eq!(answered.signature_cache_stats().unwrap(), (0, 1));

    let per_uri = deps(&[("REWRITE_MODE", "per-uri")], media.store()).await;
    let out = text(&handler(get(path, &q, json!({})), &per_uri).await.unwrap());
    let signed = uris(&out).iter().filter(|u| u.contains("Signature=")).count();
    assert!(signed > 1);
    assert!(
        out.contains("Expires="),
        "per-uri with a plain grant uses canned policies"
    );
    assert_eq!(per_uri.signature_cache_stats().unwrap().1 as usize, signed);

    let reuse = deps(&[("REWRITE_MODE", "reuse")], media.store()).await;
    let out = text(&handler(get(path, &q, json!({})), &reuse).await.unwrap());
    let incoming_sig = q.split('&').find_map(|p| p.strip_prefix("Signature-PREFIX=")).unwrap();
    for u in uris(&out).iter().filter(|u| u.contains("Signature=")) {
        assert!(
            u.contains(&format!("Signature={incoming_sig}")),
            "reuse appends the incoming credential: {u}"
        );
    }
    assert_eq!(reuse.signature_cache_stats().unwrap(), (0, 0), "reuse signs nothing");
    // Reuse with a credential that does not cover the URIs: 502, nothing widened.
    let narrow = viewer_query(
        &signer(PEM, KEY_ID),
        path,
        &Policy::new(format!("{CF}{path}*"), NOW + 60),
    );
    let r = handler(get(path, &narrow, json!({})), &reuse).await.unwrap();
    assert_eq!((r.status_code, error_type(&r).as_str()), (502, "reuse_not_covering"));
}

#[tokio::test]
async fn medium_playlists_are_gzipped_when_accepted() {
    let body = big_playlist(200);
    let media = MediaDir::new(&[("movies/movie_1/medium.m3u8", body.as_bytes())]);
    let deps = deps(&[], media.store()).await;
    let path = "/movies/movie_1/medium.m3u8";
    let q = viewer_query(&signer(PEM, KEY_ID), path, &movie_policy());
    let r = handler(get(path, &q, json!({"accept-encoding": "gzip, deflate"})), &deps)
        .await
        .unwrap();
    assert_eq!(
        (r.status_code, r.is_base64_encoded, header(&r, "content-encoding")),
        (200, true, Some("gzip"))
    );
    assert_eq!(uris(&text(&r)).len(), 200);
    let r = handler(get(path, &q, json!({"accept-encoding": "gzip;q=0"})), &deps)
        .await
        .unwrap();
    assert_eq!((r.status_code, r.is_base64_encoded), (200, false));
}

#[tokio::test]
async fn key_rotation_without_redeploy() {
    let media = standard_media();
    let file = json_secret_file();
    let deps = deps_with_secret(&file, &[("KEY_REFRESH_SECONDS", "0")], media.store()).await;
    let path = "/movies/movie_1/index.m3u8";
    let old_q = ok_query();
    assert_eq!(
        handler(get(path, &old_q, json!({})), &deps).await.unwrap().status_code,
        200
    );
    // A planned rotation: sign with a new key under a new id, and keep the
    // old one in the key group (as terraform/ writes the secret).
    let rotated = json!({
        "key_pair_id": "KNEWKEY",
        "private_key": OTHER_PEM,
        "public_keys": {"KNEWKEY": public(OTHER_PEM), KEY_ID: public(PEM)},
    });
    std::fs::write(&file, rotated.to_string()).unwrap();
    let r = handler(get(path, &old_q, json!({})), &deps).await.unwrap();
    assert_eq!(r.status_code, 200, "a viewer mid-session keeps playing: {}", text(&r));
    assert!(
        text(&r).contains("Key-Pair-Id=KNEWKEY"),
        "new URIs are signed with the new key"
    );
    let new_q = viewer_query(&signer(OTHER_PEM, "KNEWKEY"), path, &movie_policy());
    assert_eq!(
        handler(get(path, &new_q, json!({})), &deps).await.unwrap().status_code,
        200
    );
    std::fs::remove_file(file).unwrap();
}

/// Issue 11, finding 2: key A leaked; the secret switches to B and drops A.
/// A warm rewriter must stop trusting A at its next refresh, even for a
/// forged credential with a year-2100 window, instead of re-signing it with B.
#[tokio::test]
async fn emergency_rotation_drops_the_leaked_key() {
    let media = standard_media();
    let file = json_secret_file();
    let path = "/movies/movie_1/index.m3u8";
    let leaked = signer(PEM, KEY_ID);
    let forged = viewer_query(
        &leaked,
        path,
        &Policy::new(format!("{CF}/movies/*"), 4_102_444_800), // 2100-01-01
    );
    // Refreshed on every request (KEY_REFRESH_SECONDS=0), and on the hour.
    let now = deps_with_secret(&file, &[("KEY_REFRESH_SECONDS", "0")], media.store()).await;
    let hourly = deps_with_secret(&file, &[], media.store()).await;
    for deps in [&now, &hourly] {
        assert_eq!(
            handler(get(path, &forged, json!({})), deps).await.unwrap().status_code,
            200
        );
    }
    let emergency = json!({
        "key_pair_id": "KNEWKEY",
        "private_key": OTHER_PEM,
        "public_keys": {"KNEWKEY": public(OTHER_PEM)},
    });
    std::fs::write(&file, emergency.to_string()).unwrap();
    for query in [&forged, &ok_query()] {
        let r = handler(get(path, query, json!({})), &now).await.unwrap();
        assert_eq!((r.status_code, error_type(&r).as_str()), (403, "unknown_key"));
    }
    let fresh = viewer_query(&signer(OTHER_PEM, "KNEWKEY"), path, &movie_policy());
    let r = handler(get(path, &fresh, json!({})), &now).await.unwrap();
    assert_eq!(r.status_code, 200, "{}", text(&r));
    // Within KEY_REFRESH_SECONDS the old key is still trusted: the bound the
    // README's emergency steps give (lower KEY_REFRESH_SECONDS to shorten it).
    assert_eq!(
        handler(get(path, &forged, json!({})), &hourly)
            .await
            .unwrap()
            .status_code,
        200
    );
    std::fs::remove_file(file).unwrap();
}

#[tokio::test]
async fn the_secret_names_the_key_and_every_trusted_public_key() {
    use rewriter::Deps;
    use signed_hls_aws::{Env, RewriterConfig};
    let media = standard_media();
    // What terraform/ writes: the key, its id, and every key of the key group.
    let secret = json!({
        "key_pair_id": KEY_ID,
        "private_key": PEM,
        "cf_url": CF,
        "public_keys": {KEY_ID: public(PEM), "KPREVIOUSKEY": public(OTHER_PEM)},
    });
    let file = secret_file(&secret.to_string());
    // No CF_URL (the secret's cf_url); a stale CF_KEY_ID (the environment
    // changes only with a redeploy) loses to the secret's id.
    let config = RewriterConfig::from_env(&Env::from_pairs([
        ("SIGNING_KEY_FILE", file.to_str().unwrap()),
        ("CF_KEY_ID", "KSTALEENVKEY"),
        ("S3_BUCKET", "unused"),
    ]))
    .unwrap();
    let started = started(&config.common, &file, Some(media.store())).await;
    let deps = Deps::new(config, started, Box::new(|| NOW)).unwrap();
    let path = "/movies/movie_1/index.m3u8";
    // A viewer whose URL was signed with the previous key of the group plays on.
    let previous = viewer_query(&signer(OTHER_PEM, "KPREVIOUSKEY"), path, &movie_policy());
    let r = handler(get(path, &previous, json!({})), &deps).await.unwrap();
    assert_eq!(r.status_code, 200, "{}", text(&r));
    assert!(
        text(&r).contains(&format!("Key-Pair-Id={KEY_ID}")),
        "signed under the secret's id"
    );
    assert!(!text(&r).contains("KSTALEENVKEY"));
    // A key outside the group is still refused.
    let outsider = viewer_query(&signer(OTHER_PEM, "KNOTINGROUP"), path, &movie_policy());
    let r = handler(get(path, &outsider, json!({})), &deps).await.unwrap();
    assert_eq!((r.status_code, error_type(&r).as_str()), (403, "unknown_key"));
    std::fs::remove_file(file).unwrap();
}

/// Issue 11, finding 6: `CF_URL` with an explicit `:443` is normalised once,
/// so the grants are the ones CloudFront matches (URLs without the port).
#[tokio::test]
async fn cf_url_with_the_default_port_is_normalised() {
    let media = standard_media();
    let deps = deps(
        &[("CF_URL", "https://D111111ABCDEF8.cloudfront.net:443/")],
        media.store(),
    )
    .await;
    assert_eq!(deps.base_url.url, CF);
    let path = "/movies/movie_1/index.m3u8";
    let r = handler(get(path, &ok_query(), json!({})), &deps).await.unwrap();
    assert_eq!(r.status_code, 200, "{}", text(&r));
    let out = text(&r);
    let signed: Vec<String> = uris(&out).into_iter().filter(|u| u.contains("Signature=")).collect();
    assert!(!signed.is_empty());
    for uri in signed {
        let url = format!("{CF}/movies/movie_1/{uri}");
        verifier()
            .verify_url(&url, "", NOW, None)
            .unwrap_or_else(|e| panic!("{url}: {e}"));
    }
}

/// Issue 13: the answer's escaped size is computed from the input (one pass
/// over the smaller playlist, done once per cached object), not by a second
/// pass over the output. For every corpus playlist, one full of characters
/// JSON escapes and one whose stale credential is dropped, the size so
/// computed is the size serde_json writes, exactly.
#[tokio::test]
async fn the_escaped_size_from_the_input_is_serde_jsons() {
    let escapes = "#EXTM3U\r\n#EXT-X-TARGETDURATION:4\r\n# a \"quoted\" comment\twith a tab, a \\ and \u{1}\r\n\
                   #EXTINF:4,caf\u{e9} \"title\"\t\r\nseg1.ts\r\n#EXT-X-ENDLIST\r\n";
    let stale = "#EXTM3U\n#EXTINF:4,\nseg1.ts?Signature=a%5Cb&x=1\n";
    let mut playlists: Vec<(String, String)> = corpus();
    playlists.push(("escapes.m3u8".into(), escapes.into()));
    playlists.push(("stale.m3u8".into(), stale.into()));
    let objects: Vec<(String, Vec<u8>)> = playlists
        .iter()
        .map(|(name, body)| (format!("movies/movie_1/{name}"), body.clone().into_bytes()))
        .collect();
    let refs: Vec<(&str, &[u8])> = objects.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
    let media = MediaDir::new(&refs);
    let deps = deps(&[], media.store()).await;
    for (name, input) in &playlists {
        let path = format!("/movies/movie_1/{name}");
        let q = viewer_query(&signer(PEM, KEY_ID), &path, &movie_policy());
        let r = handler(get(&path, &q, json!({})), &deps).await.unwrap();
        assert_eq!((r.status_code, r.is_base64_encoded), (200, false), "{name}");
        let out = text(&r);
        let computed = out.len() + rewriter::json_escape_extra(input.as_bytes());
        let serde = serde_json::to_string(&out).unwrap().len() - 2;
        assert_eq!(computed, serde, "{name}");
    }
}

/// Issue 11, finding 4: an answer larger than MAX_REWRITTEN_BYTES is refused
/// before anything is signed or built (200 KB of one-byte URIs used to
/// become 58 MB).
#[tokio::test]
async fn amplified_output_is_refused_before_it_is_built() {
    let mut body = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:4\n");
    body.push_str(&"a\n".repeat(100_000));
    let media = MediaDir::new(&[("movies/movie_1/amplified.m3u8", body.as_bytes())]);
    let deps = deps(&[], media.store()).await;
    let path = "/movies/movie_1/amplified.m3u8";
    let q = viewer_query(&signer(PEM, KEY_ID), path, &movie_policy());
    // Within the default budget it is built (and goes out compressed)...
    let r = handler(get(path, &q, json!({"accept-encoding": "gzip"})), &deps)
        .await
        .unwrap();
    assert_eq!(r.status_code, 200, "{}", text(&r));
    // ...and refused unbuilt under a smaller one.
    let small = support::deps(&[("MAX_REWRITTEN_BYTES", "10000000")], media.store()).await;
    let r = handler(get(path, &q, json!({"accept-encoding": "gzip"})), &small)
        .await
        .unwrap();
    assert_eq!((r.status_code, error_type(&r).as_str()), (502, "response_too_large"));
    assert_eq!(small.signature_cache_stats().unwrap(), (0, 0), "nothing was signed");
}

/// Issue 11, finding 5: per-uri signing past MAX_NEW_SIGNATURES answers 503
/// with Retry-After; the signatures made are cached, so retries finish it.
#[tokio::test]
async fn a_signing_budget_answers_503_and_the_retries_finish() {
    let media = standard_media();
    let deps = deps(
        &[("REWRITE_MODE", "per-uri"), ("MAX_NEW_SIGNATURES", "2")],
        media.store(),
    )
    .await;
    let path = "/movies/movie_1/media_ts_vod.m3u8";
    let q = viewer_query(&signer(PEM, KEY_ID), path, &movie_policy());
    let mut refused = 0;
    let r = loop {
        let r = handler(get(path, &q, json!({})), &deps).await.unwrap();
        if r.status_code != 503 {
            break r;
        }
        assert_eq!(error_type(&r), "signing_in_progress");
        assert_eq!(header(&r, "retry-after"), Some("1"));
        refused += 1;
        assert!(refused < 10, "the retries make no progress");
    };
    assert_eq!(r.status_code, 200, "{}", text(&r));
    assert!(refused >= 1, "the budget never bit");
    let signed = uris(&text(&r)).iter().filter(|u| u.contains("Signature=")).count();
    assert!(signed > 2);
}

/// Issue 11, finding 6: a URI on an EXTRA_HOSTS alias of the distribution is
/// signed for the alias, within the viewer's grant on the distribution host.
#[tokio::test]
async fn extra_hosts_aliases_are_signed_within_the_grant() {
    let playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nhttps://cdn.example.com/movies/movie_1/a.ts\n\
                    #EXTINF:4,\nhttps://cdn.example.com/movies/movie_2/b.ts\n#EXTINF:4,\nhttps://other.example/c.ts\n";
    let media = MediaDir::new(&[("movies/movie_1/aliases.m3u8", playlist.as_bytes())]);
    let deps = deps(&[("EXTRA_HOSTS", "cdn.example.com")], media.store()).await;
    let path = "/movies/movie_1/aliases.m3u8";
    let q = viewer_query(&signer(PEM, KEY_ID), path, &movie_policy());
    let r = handler(get(path, &q, json!({})), &deps).await.unwrap();
    assert_eq!(r.status_code, 200, "{}", text(&r));
    let out = text(&r);
    let alias = out.lines().find(|l| l.contains("/movie_1/a.ts")).unwrap();
    verifier()
        .verify_url(alias, "", NOW, None)
        .unwrap_or_else(|e| panic!("{alias}: {e}"));
    for untouched in [
        "https://cdn.example.com/movies/movie_2/b.ts",
        "https://other.example/c.ts",
    ] {
        assert!(
            out.lines().any(|l| l == untouched),
            "{untouched} must stay unsigned:\n{out}"
        );
    }
}

/// Issue 14: viewers whose credentials end within the same
/// EXPIRY_GRANULARITY_SECONDS window get byte-identical policies and share
/// the signatures; the outgoing DateLessThan is rounded down, never later
/// than the incoming one and never to or before now.
#[tokio::test]
async fn viewers_in_one_expiry_window_share_signatures() {
    let media = standard_media();
    let path = "/movies/movie_1/media_ts_vod.m3u8";
    let viewer = |expires: u64| {
        viewer_query(
            &signer(PEM, KEY_ID),
            path,
            &Policy::new(format!("{CF}/movies/movie_1/*"), expires),
        )
    };
    let outgoing = |playlist: &str| {
        let line = playlist.lines().find(|l| l.starts_with("seg")).unwrap().to_owned();
        let grant = verifier_for(PEM)
            .verify_url(&format!("{CF}/movies/movie_1/{line}"), "", NOW, None)
            .unwrap();
        (line, grant.policy.date_less_than)
    };
    // NOW + 3600 and NOW + 3610 both round down to NOW + 3560.
    assert_eq!((NOW + 3600) % 60, 40);
    let shared = deps(&[], media.store()).await;
    let first = text(
        &handler(get(path, &viewer(NOW + 3600), json!({})), &shared)
            .await
            .unwrap(),
    );
    let second = text(
        &handler(get(path, &viewer(NOW + 3610), json!({})), &shared)
            .await
            .unwrap(),
    );
    assert_eq!(outgoing(&first), outgoing(&second), "byte-identical credentials");
    assert_eq!(outgoing(&first).1, NOW + 3560);
    assert_eq!(
        shared.signature_cache_stats().unwrap(),
        (1, 1),
        "the second viewer signs nothing"
    );
    // One whose end rounds down to or before now keeps its exact expiry.
    let late = text(&handler(get(path, &viewer(NOW + 15), json!({})), &shared).await.unwrap());
    assert_eq!(outgoing(&late).1, NOW + 15);

    // EXPIRY_GRANULARITY_SECONDS=0: exact, nothing shared.
    let exact = deps(&[("EXPIRY_GRANULARITY_SECONDS", "0")], media.store()).await;
    let first = text(
        &handler(get(path, &viewer(NOW + 3600), json!({})), &exact)
            .await
            .unwrap(),
    );
    let second = text(
        &handler(get(path, &viewer(NOW + 3610), json!({})), &exact)
            .await
            .unwrap(),
    );
    assert_eq!((outgoing(&first).1, outgoing(&second).1), (NOW + 3600, NOW + 3610));
    assert_eq!(exact.signature_cache_stats().unwrap(), (0, 2));
}

fn verifier_for(pem: &str) -> Verifier {
    let mut v = Verifier::new();
    v.trust(KEY_ID, SigningKey::from_pem(pem).unwrap().verifying_key());
    v
}
