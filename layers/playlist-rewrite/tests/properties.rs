//! Property tests over generated playlists: the corpus invariants hold for
//! any mix of URI forms, tags and line endings; arbitrary bytes never panic;
//! rewriting twice gives one credential per URI.

mod common;

use std::sync::OnceLock;

use cloudfront_sign::{HashAlgorithm, UrlSigner, Verifier};
use common::*;
use playlist_rewrite::{ChildCredential, Config, Incoming, SignatureCache, Strategy as Mode, rewrite};
use proptest::prelude::*;

struct Fixture {
    signer: UrlSigner,
    verifier: Verifier,
    wide: Incoming,
    movie: Incoming,
    cache: SignatureCache,
}

/// One EC key (fast to sign in debug builds) and one cache for all cases:
/// generated URIs repeat, so most policies are signed once.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let signer = signer(EC_PEM, HashAlgorithm::Sha1);
        Fixture {
            verifier: verifier(&signer),
            wide: Incoming::operator(&signer, &format!("https://{HOST}/*"), EXPIRES).unwrap(),
            movie: Incoming::operator(&signer, &format!("https://{HOST}/movies/movie_1/*"), EXPIRES).unwrap(),
            cache: SignatureCache::new(100_000),
            signer,
        }
    })
}

fn uri() -> impl Strategy<Value = String> {
    let path = prop_oneof![
        Just("seg.ts".to_owned()),
        "[a-z0-9_]{1,8}\\.(ts|m4s|mp4|aac|key|vtt|m3u8)",
        "[a-z]{1,4}/[a-z0-9]{1,6}\\.(ts|m3u8)",
        Just("../shared/seg.ts".to_owned()),
        Just("./a/../b.ts".to_owned()),
        Just("/movies/movie_1/abs.ts".to_owned()),
        Just("/keys/k.key".to_owned()),
        Just(format!("https://{HOST}/movies/movie_1/full.ts")),
        Just(format!("HTTPS://{}:443/movies/movie_1/UP.ts", HOST.to_uppercase())),
        Just(format!("//{HOST}/movies/movie_1/proto.ts")),
        Just(format!("http://{HOST}/movies/movie_1/plain.ts")),
        Just("https://ads.example.net/ad.ts".to_owned()),
        Just("//ads.example.net/ad.ts".to_owned()),
        Just("skd://key-id-1".to_owned()),
        Just("data:text/plain;base64,AAAA".to_owned()),
        Just("a b.ts".to_owned()),
        Just("é.ts".to_owned()),
    ];
    let query = prop_oneof![
        Just(String::new()),
        Just("?x=1".to_owned()),
        Just("?x=1&y=%41".to_owned()),
        Just("?".to_owned()),
        Just("?Policy=old&Signature=old&Key-Pair-Id=K".to_owned()),
        Just(
            "?a=1&Expires=5&Signature=s&Key-Pair-Id=K&Policy-PREFIX=p&Signature-PREFIX=s&Key-Pair-Id-PREFIX=K"
                .to_owned()
        ),
    ];
    let fragment = prop_oneof![3 => Just(String::new()), 1 => Just("#t=1".to_owned())];
    (path, query, fragment).prop_map(|(p, q, f)| {
        // A scheme-only URI takes no query.
        if p.starts_with("skd:") || p.starts_with("data:") {
            p
        } else {
            format!("{p}{q}{f}")
        }
    })
}

/// One item of a media playlist, as lines (without line ends).
fn media_item() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        4 => (uri(), "[ \t]{0,2}").prop_map(|(u, ws)| vec!["#EXTINF:4.0,title, with comma".to_owned(), format!("{u}{ws}")]),
        1 => uri().prop_map(|u| vec![format!("#EXT-X-KEY:METHOD=AES-128,URI=\"{u}\",IV=0x1")]),
        1 => uri().prop_map(|u| vec![format!("#EXT-X-MAP:URI=\"{u}\",BYTERANGE=\"720@0\"")]),
        1 => uri().prop_map(|u| vec![format!("#EXT-X-PART:DURATION=0.3,URI=\"{u}\",INDEPENDENT=YES")]),
        1 => uri().prop_map(|u| vec![format!("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{u}\"")]),
        1 => uri().prop_map(|u| vec![format!("#EXT-X-RENDITION-REPORT:URI=\"{u}\",LAST-MSN=1")]),
        1 => (uri(), uri()).prop_map(|(a, b)| vec![format!(
            "#EXT-X-DATERANGE:ID=\"ad,1\",CLASS=\"com.apple.hls.interstitial\",START-DATE=\"2026-01-01T00:00:00Z\",X-ASSET-URI=\"{a}\",X-ASSET-LIST=\"{b}\""
        )]),
        1 => Just(vec!["# a comment with seg.ts in it".to_owned()]),
        1 => Just(vec![String::new()]),
        1 => Just(vec!["#EXT-X-UNKNOWN-TAG:URI=\"not-a-uri.ts\"".to_owned()]),
    ]
}

fn master_item() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        3 => uri().prop_map(|u| vec!["#EXT-X-STREAM-INF:BANDWIDTH=1000,CODECS=\"avc1.4d401f,mp4a.40.2\"".to_owned(), u]),
        1 => uri().prop_map(|u| vec![format!("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"x, y\",URI=\"{u}\"")]),
        1 => uri().prop_map(|u| vec![format!("#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI=\"{u}\"")]),
        1 => uri().prop_map(|u| vec![format!("#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"{u}\"")]),
        1 => uri().prop_map(|u| vec![format!("#EXT-X-SESSION-DATA:DATA-ID=\"d\",URI=\"{u}\"")]),
        1 => uri().prop_map(|u| vec![format!("#EXT-X-CONTENT-STEERING:SERVER-URI=\"{u}\",PATHWAY-ID=\"a\"")]),
        1 => Just(vec![String::new()]),
    ]
}

fn playlist() -> impl Strategy<Value = Vec<u8>> {
    let media = prop::collection::vec(media_item(), 0..12).prop_map(|items| {
        (
            vec!["#EXT-X-TARGETDURATION:4".to_owned()],
            items,
            vec!["#EXT-X-ENDLIST".to_owned()],
        )
    });
    let master = prop::collection::vec(master_item(), 1..8).prop_map(|items| (vec![], items, vec![]));
    (prop_oneof![media, master], any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |((head, items, tail), bom, crlf, last_eol)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut lines = vec!["#EXTM3U".to_owned()];
            lines.extend(head);
            lines.extend(items.into_iter().flatten());
            lines.extend(tail);
            let mut text = if bom { "\u{feff}".to_owned() } else { String::new() };
            text.push_str(&lines.join(eol));
            if last_eol {
                text.push_str(eol);
            }
            text.into_bytes()
        },
    )
}

fn modes() -> impl Strategy<Value = (Mode, ChildCredential, bool)> {
    (
        prop_oneof![Just(Mode::Resign), Just(Mode::PerUri)],
        prop_oneof![Just(ChildCredential::Copy), Just(ChildCredential::Incoming)],
        any::<bool>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn generated_playlists_keep_every_invariant(body in playlist(), (strategy, child, narrow) in modes()) {
        let f = fixture();
        let url = playlist_url("index.m3u8");
        let incoming = if narrow { &f.movie } else { &f.wide };
        let config = Config::builder().strategy(strategy).child_credential(child).build().unwrap();
        let out = rewrite(&body, &url, incoming, &config, &f.signer, &f.cache).unwrap();
        let check = Check { playlist_url: &url, incoming, verifier: &f.verifier, client_ip: None, child };
        let checked = check.run(&body, out.body.as_bytes());
        prop_assert_eq!(checked.signed.len(), out.summary.uris_signed);
        if out.summary.uris_signed == 0 {
            prop_assert_eq!(out.body.as_bytes(), &body[..]);
        }
        // m3u8-rs reads the same structure.
        let mut reparsed = parse(out.body.as_bytes());
        normalize(&mut reparsed);
        let mut original = parse(&body);
        normalize(&mut original);
        prop_assert_eq!(reparsed, original);

        // Twice: one credential per URI, and only the credentials differ.
        let twice = rewrite(out.body.as_bytes(), &url, incoming, &config, &f.signer, &f.cache).unwrap();
        let (_, uris) = extract(&twice.body);
        for found in &uris {
            prop_assert!(count_param(&found.uri, "Signature") <= 1, "{}", found.uri);
            prop_assert!(count_param(&found.uri, "Signature-PREFIX") <= 1, "{}", found.uri);
        }
        prop_assert_eq!(twice.summary.uris_signed, out.summary.uris_signed);
        prop_assert_eq!(&twice.body, &out.body, "the same grant twice gives the same bytes");
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..400), header in any::<bool>()) {
        let f = fixture();
        let mut input = if header { b"#EXTM3U\n".to_vec() } else { Vec::new() };
        input.extend(body);
        for strategy in [Mode::Resign, Mode::PerUri, Mode::Reuse] {
            for budget in [usize::MAX, 1_000] {
                let config = Config::builder().strategy(strategy).max_output_bytes(budget).build().unwrap();
                let _ = rewrite(&input, &playlist_url("index.m3u8"), &f.wide, &config, &f.signer, &f.cache);
            }
        }
    }

    /// Variables of any size and number, any output and signing budget: never
    /// a panic, an output within its budget or a refusal that names it.
    #[test]
    fn hostile_variables_and_budgets_never_panic(
        value_len in prop_oneof![0usize..40, 7_000usize..9_000, 60_000usize..70_000],
        refs in prop::collection::vec("(\\{\\$v\\}|\\{\\$w\\}|[a-z]{0,3}|/|\\?|\\*)", 1..6),
        lines in 1usize..300,
        budget in prop_oneof![1usize..2_000, 2_000usize..200_000, Just(usize::MAX)],
        max_bytes in prop_oneof![Just(1usize << 20), 1usize..100_000],
        strategy in prop_oneof![Just(Mode::Resign), Just(Mode::PerUri), Just(Mode::Reuse)],
        signatures in prop_oneof![Just(None), (1usize..4).prop_map(Some)],
    ) {
        let f = fixture();
        let uri = refs.concat();
        let body = format!(
            "#EXTM3U\n#EXT-X-DEFINE:NAME=\"v\",VALUE=\"{}\"\n#EXT-X-DEFINE:NAME=\"w\",VALUE=\"../{{$v}}\"\n{}",
            "x".repeat(value_len),
            format!("#EXTINF:4,\n{uri}\n").repeat(lines),
        );
        let mut builder = Config::builder()
            .strategy(strategy)
            .max_output_bytes(budget)
            .max_bytes(max_bytes.max(body.len()));
        if let Some(signatures) = signatures {
            builder = builder.max_new_signatures(signatures);
        }
        let config = builder.build().unwrap();
        match rewrite(body.as_bytes(), &playlist_url("index.m3u8"), &f.wide, &config, &f.signer, &f.cache) {
            Ok(out) => {
                prop_assert!(out.body.len() <= budget);
                // An empty URI line is a blank line, which holds no URI.
                let uri_lines = if uri.is_empty() { 0 } else { lines };
                prop_assert_eq!(out.summary.uris_signed + out.summary.untouched.len(), uri_lines);
            }
            Err(playlist_rewrite::Error::OutputTooLarge { size, limit }) => {
                prop_assert_eq!(limit, budget);
                prop_assert!(size > limit);
            }
            Err(playlist_rewrite::Error::ReuseNotCovering { .. }) => prop_assert_eq!(strategy, Mode::Reuse),
            Err(playlist_rewrite::Error::SigningBudget { needed, signed, budget }) => {
                prop_assert_eq!(Some(budget), signatures);
                prop_assert!(needed > budget && signed == budget);
            }
            Err(other) => prop_assert!(false, "{other}"),
        }
    }

    /// URIs on an alias of the distribution's host are signed for the alias,
    /// only for paths the grant covers on the distribution's host.
    #[test]
    fn alias_uris_never_widen_the_grant(
        uris in prop::collection::vec(
            (
                prop_oneof![
                    Just("https://media.example.com"),
                    Just("https://MEDIA.example.com:443"),
                    Just("//media.example.com"),
                    Just("http://media.example.com"),
                    Just("https://media.example.com:8443"),
                    Just("https://d111111abcdef8.cloudfront.net"),
                    Just(""),
                ],
                prop_oneof![
                    Just("/movies/movie_1/a.ts"),
                    Just("/movies/movie_1/v/b.m3u8"),
                    Just("/movies/movie_1/c.ts?x=1"),
                    Just("/movies/movie_1/s*.ts"),
                    Just("/movies/movie_2/d.ts"),
                    Just("/movies/movie_1/../movie_2/e.ts"),
                    Just("/secret.ts"),
                ],
            ),
            1..10,
        ),
        strategy in prop_oneof![Just(Mode::Resign), Just(Mode::PerUri)],
        on_alias in any::<bool>(),
    ) {
        let f = fixture();
        let body: String = std::iter::once("#EXTM3U\n".to_owned())
            .chain(uris.iter().map(|(host, path)| format!("#EXTINF:4,\n{host}{path}\n")))
            .collect();
        let url = if on_alias {
            "https://media.example.com/movies/movie_1/index.m3u8".to_owned()
        } else {
            playlist_url("index.m3u8")
        };
        let config = Config::builder().hosts([HOST, "media.example.com"]).strategy(strategy).build().unwrap();
        let out = rewrite(body.as_bytes(), &url, &f.movie, &config, &f.signer, &f.cache).unwrap();
        let (_, found) = extract(&out.body);
        for uri in found.iter().filter(|u| u.uri.contains("Signature=")) {
            let absolute = absolute(&url, &uri.uri).unwrap();
            let grant = f.verifier.verify_url(absolute.as_str(), "", NOW, None).unwrap();
            let resource = &grant.policy.resource;
            let host = absolute.host_str().unwrap();
            prop_assert!(resource.starts_with(&format!("https://{host}/")) || resource.starts_with(&format!("http://{host}/")), "{}", resource);
            let on_distribution = resource.replacen("media.example.com", HOST, 1);
            let literal = &on_distribution[..on_distribution.find(['*', '?']).unwrap_or(on_distribution.len())];
            let incoming = &f.movie.policy.resource;
            let within = if literal.len() < on_distribution.len() {
                playlist_rewrite::covers_everything_after(incoming, literal)
            } else {
                cloudfront_sign::wildcard_match(incoming, &on_distribution)
            };
            prop_assert!(within, "{} outside {}", resource, incoming);
        }
    }

    #[test]
    fn arbitrary_playlist_text_never_panics(lines in prop::collection::vec("[#A-Z=\",:/.?&{}$a-z0-9 \r-]{0,40}", 0..20)) {
        let f = fixture();
        let body = format!("#EXTM3U\n{}", lines.join("\n"));
        let out = rewrite(body.as_bytes(), &playlist_url("index.m3u8"), &f.wide, &Config::default(), &f.signer, &f.cache);
        if let Ok(out) = out {
            let (skeleton_in, uris_in) = extract(&body);
            let (skeleton_out, uris_out) = extract(&out.body);
            prop_assert_eq!(skeleton_in, skeleton_out);
            for (before, after) in uris_in.iter().zip(&uris_out) {
                prop_assert_eq!(strip_uri(&before.uri), strip_uri(&after.uri));
            }
        }
    }
}
