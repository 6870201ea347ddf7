//! Every playlist of the shared corpus, rewritten in every strategy with RSA
//! and ECDSA keys, and checked URI by URI with the signing core's verifier.

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;

use cloudfront_sign::{Cidr, HashAlgorithm, Policy, UrlSigner};
use common::*;
use playlist_rewrite::{
    ChildCredential, Config, Error, Incoming, PlaylistKind, Reason, SignatureCache, Strategy, rewrite,
};

fn signers() -> Vec<UrlSigner> {
    vec![
        signer(RSA_PEM, HashAlgorithm::Sha1),
        signer(EC_PEM, HashAlgorithm::Sha256),
    ]
}

/// Whether the independent reading says this URI is ours: http(s) on HOST, default port.
fn ours(playlist_url: &str, uri: &str) -> bool {
    absolute(playlist_url, uri)
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str() == Some(HOST) && u.port().is_none())
}

#[test]
fn every_corpus_file_in_every_strategy_verifies_uri_by_uri() {
    for signer in signers() {
        for (name, body) in corpus() {
            check_in_every_strategy(&signer, &name, &body);
        }
    }
}

/// The one test that looks outside the repository: the playlists of
/// `../shared/corpus` beside it, when that folder exists, go through the
/// same checks. Absent, there is nothing extra to check, and it passes.
#[test]
fn a_shared_corpus_beside_the_repository_passes_the_same_checks_when_present() {
    let Some((dir, files)) = shared_corpus() else {
        println!("no ../shared/corpus beside the repository: checked nothing extra");
        return;
    };
    for signer in signers() {
        for (name, body) in &files {
            check_in_every_strategy(&signer, name, body);
        }
    }
    println!("checked {} extra playlists from {}", files.len(), dir.display());
}

/// `body`, served as `name` in the movie's directory, rewritten in every
/// strategy under a grant of the whole host, and checked URI by URI.
fn check_in_every_strategy(signer: &UrlSigner, name: &str, body: &[u8]) {
    let verifier = verifier(signer);
    let wide = Incoming::operator(signer, &format!("https://{HOST}/*"), EXPIRES).unwrap();
    let url = playlist_url(name);
    assert_reads_to_the_end(name, body);
    for strategy in [Strategy::Resign, Strategy::PerUri, Strategy::Reuse] {
        let config = Config::builder().strategy(strategy).build().unwrap();
        let cache = SignatureCache::default();
        let out =
            rewrite(body, &url, &wide, &config, signer, &cache).unwrap_or_else(|e| panic!("{name} {strategy}: {e}"));
        let check = Check {
            playlist_url: &url,
            incoming: &wide,
            verifier: &verifier,
            client_ip: None,
            child: ChildCredential::Copy,
        };
        let checked = check.run(body, out.body.as_bytes());

        // Exactly our URIs were signed; the others are byte-identical.
        let (_, all) = extract(std::str::from_utf8(body).unwrap());
        let expected: Vec<_> = all.iter().filter(|f| ours(&url, &f.uri)).cloned().collect();
        assert_eq!(checked.signed, expected, "{name} {strategy}");
        assert_eq!(out.summary.uris_signed, expected.len());
        let untouched: Vec<_> = out.summary.untouched.iter().map(|u| (u.line, u.uri.clone())).collect();
        let found: Vec<_> = checked.untouched.iter().map(|f| (f.line, f.uri.clone())).collect();
        assert_eq!(untouched, found, "{name} {strategy}");
        for u in &out.summary.untouched {
            let scheme_ok = u.uri.starts_with("http") || !u.uri.contains(':');
            let expected = if scheme_ok {
                Reason::ForeignHost
            } else {
                Reason::NotHttp
            };
            assert_eq!(u.reason, expected, "{}", u.uri);
        }

        // m3u8-rs reads the same playlist, URIs aside, and the same kind.
        let mut reparsed = parse(out.body.as_bytes());
        normalize(&mut reparsed);
        assert_eq!(reparsed, parse(body), "{name} {strategy}");
        let kind = match parse(body) {
            m3u8_rs::Playlist::MasterPlaylist(_) => PlaylistKind::Master,
            m3u8_rs::Playlist::MediaPlaylist(_) => PlaylistKind::Media,
        };
        assert_eq!(out.summary.kind, kind);
        assert_reads_to_the_end(name, out.body.as_bytes());

        // Never more signatures than distinct policies.
        let distinct: BTreeSet<_> = checked.resources.iter().collect();
        let computed = out.summary.signatures_computed;
        match strategy {
            Strategy::Resign => assert_eq!(computed, distinct.len(), "{name}: one per directory"),
            Strategy::PerUri => assert!(computed <= expected.len()),
            _ => assert_eq!(computed, 0),
        }
        assert!(out.body.len() >= body.len());
    }
}

/// m3u8-rs reads `body` to its end: every line of it is HLS that m3u8-rs knows.
fn assert_reads_to_the_end(name: &str, body: &[u8]) {
    let unmarked = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    let (rest, _) = m3u8_rs::parse_playlist(unmarked).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(
        rest.iter().all(u8::is_ascii_whitespace),
        "{name}: m3u8-rs stops at {:?}",
        String::from_utf8_lossy(&rest[..rest.len().min(40)])
    );
}

#[test]
fn resign_signs_one_policy_per_directory() {
    let signer = signer(RSA_PEM, HashAlgorithm::Sha1);
    let wide = Incoming::operator(&signer, &format!("https://{HOST}/*"), EXPIRES).unwrap();
    let expect = [
        ("media_ts_vod.m3u8", 1),
        ("media_fmp4_byterange.m3u8", 2), // movie_1/ and movie_1/part_b/
        ("media_llhls.m3u8", 3),          // movie_1/, 1M/, 4M/
        ("media_edge_cases.m3u8", 2),     // movie_1/ and shared/
        ("media_aes128_keys.m3u8", 3),    // /keys/, movies/keys/, movie_1/
    ];
    for (name, body) in corpus() {
        let Some(&(_, policies)) = expect.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        let out = rewrite(
            &body,
            &playlist_url(&name),
            &wide,
            &Config::default(),
            &signer,
            &SignatureCache::default(),
        )
        .unwrap();
        assert_eq!(out.summary.signatures_computed, policies, "{name}");
    }
}

#[test]
fn a_narrow_grant_keeps_its_window_and_ip_and_leaves_the_rest_untouched() {
    let signer = signer(RSA_PEM, HashAlgorithm::Sha1);
    let verifier = verifier(&signer);
    let block: Cidr = "192.0.2.0/24".parse().unwrap();
    let policy = Policy::new(format!("https://{HOST}/movies/movie_1/*"), EXPIRES)
        .not_before(NOW - 60)
        .from_ip(block);
    let incoming = Incoming {
        credential: signer.sign_policy(&policy).unwrap(),
        policy,
        canned: false,
    };
    let inside: IpAddr = "192.0.2.7".parse().unwrap();
    for strategy in [Strategy::Resign, Strategy::PerUri] {
        for (name, body) in corpus() {
            let url = playlist_url(&name);
            let config = Config::builder().strategy(strategy).build().unwrap();
            let out = rewrite(&body, &url, &incoming, &config, &signer, &SignatureCache::default()).unwrap();
            let check = Check {
                playlist_url: &url,
                incoming: &incoming,
                verifier: &verifier,
                client_ip: Some(inside),
                child: ChildCredential::Copy,
            };
            let checked = check.run(&body, out.body.as_bytes());
            for found in &checked.signed {
                let abs = absolute(&url, &found.uri).unwrap();
                assert!(abs.path().starts_with("/movies/movie_1/"), "{name}: {}", found.uri);
            }
            let outside: Vec<_> = out
                .summary
                .untouched
                .iter()
                .filter(|u| u.reason == Reason::OutsideGrant)
                .map(|u| u.uri.as_str())
                .collect();
            let expected: &[&str] = match name.as_str() {
                "media_edge_cases.m3u8" => &["../shared/seg3.ts"],
                "media_aes128_keys.m3u8" => &[
                    "https://d111111abcdef8.cloudfront.net/keys/k1.key",
                    "../keys/k2.key?kid=2",
                ],
                "media_llhls.m3u8" => &["../1M/waitForMSN.php", "../4M/waitForMSN.php"],
                _ => &[],
            };
            assert_eq!(outside, expected, "{name} {strategy}");
            // The address block travels: another client is refused.
            if let Some(found) = checked.signed.first() {
                let (_, after) = extract(&out.body);
                let signed = after.iter().find(|f| f.line == found.line).unwrap();
                let abs = absolute(&url, &signed.uri).unwrap();
                let elsewhere: IpAddr = "198.51.100.1".parse().unwrap();
                assert!(verifier.verify_url(abs.as_str(), "", NOW, Some(elsewhere)).is_err());
                assert!(
                    verifier.verify_url(abs.as_str(), "", NOW - 120, Some(inside)).is_err(),
                    "not before"
                );
                assert!(
                    verifier.verify_url(abs.as_str(), "", EXPIRES, Some(inside)).is_err(),
                    "expired"
                );
                // A canned policy would have dropped the conditions: per-uri used custom ones.
                assert!(count_param(&signed.uri, "Expires") == 0);
            }
        }
    }
}

#[test]
fn per_uri_uses_canned_policies_only_when_that_drops_no_condition() {
    let signer = signer(EC_PEM, HashAlgorithm::Sha1);
    let wide = Incoming::operator(&signer, &format!("https://{HOST}/*"), EXPIRES).unwrap();
    let (name, body) = corpus().into_iter().find(|(n, _)| n == "master_full.m3u8").unwrap();
    let config = Config::builder().strategy(Strategy::PerUri).build().unwrap();
    let out = rewrite(
        &body,
        &playlist_url(&name),
        &wide,
        &config,
        &signer,
        &SignatureCache::default(),
    )
    .unwrap();
    let (_, uris) = extract(&out.body);
    for found in uris {
        let playlist = found.uri.contains(".m3u8");
        // Child playlists: a custom policy (exact URL + `*`); the rest: canned.
        assert_eq!(
            count_param(&found.uri, "Expires"),
            usize::from(!playlist),
            "{}",
            found.uri
        );
        assert_eq!(
            count_param(&found.uri, "Policy"),
            usize::from(playlist),
            "{}",
            found.uri
        );
        if playlist {
            let policy = credential(&found.uri, "");
            let cloudfront_sign::CredentialPolicy::Custom { encoded } = policy.policy else {
                panic!()
            };
            let json = cloudfront_sign::encoding::decode(&encoded).unwrap();
            let resource = Policy::parse(&json).unwrap().resource;
            let abs = absolute(&playlist_url(&name), &found.uri).unwrap();
            let base = common::strip_uri(abs.as_str());
            assert_eq!(resource, format!("{base}*"));
        }
    }
}

#[test]
fn a_canned_policy_would_refuse_a_child_playlist_with_its_prefixed_copies() {
    // Why per-uri gives child playlists `exact URL*`: CloudFront matches the
    // URL with the query that remains after it removes its own parameters.
    let signer = signer(RSA_PEM, HashAlgorithm::Sha1);
    let verifier = verifier(&signer);
    let child = format!("https://{HOST}/movies/movie_1/v5/prog_index.m3u8");
    let canned = signer.sign_canned_params(&child, EXPIRES).unwrap();
    let url = canned.append_to(&child, &["", PREFIX]);
    assert_eq!(
        verifier.verify_url(&url, "", NOW, None).unwrap_err(),
        cloudfront_sign::Denied::BadSignature
    );
    let star = signer.sign_policy(&Policy::new(format!("{child}*"), EXPIRES)).unwrap();
    let url = star.append_to(&child, &["", PREFIX]);
    assert!(verifier.verify_url(&url, "", NOW, None).is_ok());
    assert!(verifier.verify_url(&url, PREFIX, NOW, None).is_ok());
}

#[test]
fn reuse_appends_the_incoming_credential_or_refuses() {
    let signer = signer(RSA_PEM, HashAlgorithm::Sha1);
    let movie = Incoming::operator(&signer, &format!("https://{HOST}/movies/movie_1/*"), EXPIRES).unwrap();
    let config = Config::builder().strategy(Strategy::Reuse).build().unwrap();
    let incoming_query = movie.credential.query("");
    for (name, body) in corpus() {
        let result = rewrite(
            &body,
            &playlist_url(&name),
            &movie,
            &config,
            &signer,
            &SignatureCache::default(),
        );
        match name.as_str() {
            "media_edge_cases.m3u8" | "media_aes128_keys.m3u8" | "media_llhls.m3u8" => {
                let Err(Error::ReuseNotCovering { uri, resource, .. }) = result else {
                    panic!("{name}: {result:?}")
                };
                let abs = absolute(&playlist_url(&name), &uri).unwrap();
                assert!(!abs.path().starts_with("/movies/movie_1/"), "{uri}");
                assert_eq!(resource, movie.policy.resource);
            }
            _ => {
                let out = result.unwrap();
                assert_eq!(out.summary.signatures_computed, 0);
                let text = out.body;
                assert_eq!(text.matches(&incoming_query).count(), out.summary.uris_signed, "{name}");
            }
        }
    }
    // A canned incoming credential covers only its own URL: reuse refuses.
    let url = playlist_url("media_ts_vod.m3u8");
    let canned = Incoming {
        policy: Policy::new(url.clone(), EXPIRES),
        canned: true,
        credential: signer.sign_canned_params(&url, EXPIRES).unwrap(),
    };
    let body = &corpus().into_iter().find(|(n, _)| n == "media_ts_vod.m3u8").unwrap().1;
    assert!(matches!(
        rewrite(body, &url, &canned, &config, &signer, &SignatureCache::default()),
        Err(Error::ReuseNotCovering { .. })
    ));
}

#[test]
fn a_canned_incoming_grant_signs_nothing_and_returns_the_input() {
    let signer = signer(RSA_PEM, HashAlgorithm::Sha1);
    for (name, body) in corpus() {
        let url = playlist_url(&name);
        let canned = Incoming {
            policy: Policy::new(url.clone(), EXPIRES),
            canned: true,
            credential: signer.sign_canned_params(&url, EXPIRES).unwrap(),
        };
        for strategy in [Strategy::Resign, Strategy::PerUri] {
            let config = Config::builder().strategy(strategy).build().unwrap();
            let out = rewrite(&body, &url, &canned, &config, &signer, &SignatureCache::default()).unwrap();
            assert_eq!(out.body.as_bytes(), body, "{name}");
            assert_eq!(out.summary.uris_signed, 0);
            assert_eq!(out.summary.signatures_computed, 0);
        }
    }
}

#[test]
fn rewriting_twice_gives_one_credential_per_uri() {
    let signer = signer(RSA_PEM, HashAlgorithm::Sha1);
    let verifier = verifier(&signer);
    let wide = Incoming::operator(&signer, &format!("https://{HOST}/*"), EXPIRES).unwrap();
    let later = Incoming::operator(&signer, &format!("https://{HOST}/movies/*"), EXPIRES - 1).unwrap();
    for (name, body) in corpus() {
        let url = playlist_url(&name);
        for strategy in [Strategy::Resign, Strategy::PerUri] {
            let config = Config::builder().strategy(strategy).build().unwrap();
            let once = rewrite(&body, &url, &wide, &config, &signer, &SignatureCache::default()).unwrap();
            let twice = rewrite(
                once.body.as_bytes(),
                &url,
                &later,
                &config,
                &signer,
                &SignatureCache::default(),
            )
            .unwrap();
            let (_, uris) = extract(&twice.body);
            for found in &uris {
                assert!(count_param(&found.uri, "Signature") <= 1, "{}", found.uri);
                assert!(count_param(&found.uri, "Key-Pair-Id-PREFIX") <= 1, "{}", found.uri);
                assert!(count_param(&found.uri, "Policy") + count_param(&found.uri, "Expires") <= 1);
            }
            assert_eq!(strip_credentials(&twice.body), String::from_utf8(body.clone()).unwrap());
            // The second pass re-signed within the later, narrower grant.
            let check = Check {
                playlist_url: &url,
                incoming: &later,
                verifier: &verifier,
                client_ip: None,
                child: ChildCredential::Copy,
            };
            // URIs outside /movies/ keep the first credential: compare against the first output.
            let checked = check.run(once.body.as_bytes(), twice.body.as_bytes());
            assert!(!checked.signed.is_empty());
        }
    }
}

#[test]
fn a_warm_cache_signs_each_policy_once() {
    let signer = signer(RSA_PEM, HashAlgorithm::Sha1);
    let wide = Incoming::operator(&signer, &format!("https://{HOST}/*"), EXPIRES).unwrap();
    let cache = SignatureCache::default();
    for strategy in [Strategy::Resign, Strategy::PerUri] {
        let config = Config::builder().strategy(strategy).build().unwrap();
        for (name, body) in corpus() {
            let url = playlist_url(&name);
            let cold = rewrite(&body, &url, &wide, &config, &signer, &cache).unwrap();
            let warm = rewrite(&body, &url, &wide, &config, &signer, &cache).unwrap();
            assert_eq!(warm.body, cold.body, "{name}: same bytes, from the cache");
            assert_eq!(warm.summary.signatures_computed, 0, "{name}");
            assert_eq!(
                warm.summary.signatures_reused,
                cold.summary.signatures_computed + cold.summary.signatures_reused
            );
        }
    }
    assert!(cache.hits() > 0 && cache.misses() > 0);
}

#[test]
fn child_playlists_can_carry_the_incoming_credential_instead() {
    let signer = signer(RSA_PEM, HashAlgorithm::Sha1);
    let verifier = verifier(&signer);
    let movie = Incoming::operator(&signer, &format!("https://{HOST}/movies/movie_1/*"), EXPIRES).unwrap();
    let (name, body) = corpus().into_iter().find(|(n, _)| n == "master_full.m3u8").unwrap();
    let url = playlist_url(&name);
    for strategy in [Strategy::Resign, Strategy::PerUri] {
        let config = Config::builder()
            .strategy(strategy)
            .child_credential(ChildCredential::Incoming)
            .build()
            .unwrap();
        let out = rewrite(&body, &url, &movie, &config, &signer, &SignatureCache::default()).unwrap();
        let check = Check {
            playlist_url: &url,
            incoming: &movie,
            verifier: &verifier,
            client_ip: None,
            child: ChildCredential::Incoming,
        };
        let checked = check.run(&body, out.body.as_bytes());
        assert_eq!(checked.signed.len(), 10);
        let text = out.body;
        assert_eq!(
            text.matches(&movie.credential.query(PREFIX)).count(),
            8,
            "{strategy}: one per child playlist"
        );
    }
}

/// A media playlist served as the child `v5/prog_index.m3u8`, segments beside
/// it and a key one directory up.
const CHILD: &str = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-KEY:METHOD=AES-128,URI=\"../keys/k.key\"\n#EXTINF:6,\nseg_000.ts\n#EXTINF:6,\nseg_001.ts\n#EXT-X-ENDLIST\n";

/// The master rewritten, then the child rewritten with the prefixed
/// credential that the master gave it, read back as the rewriter would.
fn chain(strategy: Strategy, child: ChildCredential) -> playlist_rewrite::Rewritten {
    let signer = signer(RSA_PEM, HashAlgorithm::Sha1);
    let verifier = verifier(&signer);
    let movie = Incoming::operator(&signer, &format!("https://{HOST}/movies/movie_1/*"), EXPIRES).unwrap();
    let (name, body) = corpus().into_iter().find(|(n, _)| n == "master_full.m3u8").unwrap();
    let config = Config::builder()
        .strategy(strategy)
        .child_credential(child)
        .build()
        .unwrap();
    let master = rewrite(
        &body,
        &playlist_url(&name),
        &movie,
        &config,
        &signer,
        &SignatureCache::default(),
    )
    .unwrap();
    let (_, uris) = extract(&master.body);
    let variant = uris.iter().find(|f| f.uri.starts_with("v5/prog_index.m3u8?")).unwrap();
    let request = absolute(&playlist_url(&name), &variant.uri).unwrap();
    // CloudFront checked and removed its own parameters; the rewriter sees the prefixed ones.
    assert!(verifier.verify_url(request.as_str(), "", NOW, None).is_ok());
    let at_origin = cloudfront_sign::strip_params(request.as_str(), &cloudfront_sign::RESERVED_PARAMS);
    let incoming = Incoming::verify(&verifier, &at_origin, config.key_suffix(), NOW, None).unwrap();
    let child_url = playlist_url("v5/prog_index.m3u8");
    let out = rewrite(
        CHILD.as_bytes(),
        &child_url,
        &incoming,
        &config,
        &signer,
        &SignatureCache::default(),
    )
    .unwrap();
    let check = Check {
        playlist_url: &child_url,
        incoming: &incoming,
        verifier: &verifier,
        client_ip: None,
        child,
    };
    check.run(CHILD.as_bytes(), out.body.as_bytes());
    out
}

#[test]
fn the_chain_master_to_child_works_within_each_grant() {
    // Resign, copies: the child is rewritten within its own directory; the key one level up stays unsigned.
    let out = chain(Strategy::Resign, ChildCredential::Copy);
    assert_eq!(out.summary.uris_signed, 2);
    assert_eq!(out.summary.untouched[0].uri, "../keys/k.key");
    // Per-uri, copies: the child's grant is the child alone, so nothing inside it can be signed.
    let out = chain(Strategy::PerUri, ChildCredential::Copy);
    assert_eq!(out.summary.uris_signed, 0);
    // Forwarding the incoming credential keeps the viewer's grant down the chain.
    for strategy in [Strategy::Resign, Strategy::PerUri] {
        let out = chain(strategy, ChildCredential::Incoming);
        assert_eq!(out.summary.uris_signed, 3, "{strategy}");
    }
}
