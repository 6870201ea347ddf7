//! Behaviour beyond the corpus: rejected inputs, every URI attribute, stale
//! parameters, variables, limits, and the order of parallel signing.

mod common;

use cloudfront_sign::{
    Credential, CredentialPolicy, HashAlgorithm, KeySuffix, Policy, UrlSigner, Verifier, canned_policy_json, encoding,
};
use common::*;
use playlist_rewrite::{
    ChildCredential, Config, ConfigError, Error, Incoming, PlaylistKind, Reason, Rewritten, SignatureCache, Strategy,
    URI_ATTRIBUTES, covers_everything_after, rewrite,
};

struct Setup {
    signer: UrlSigner,
    verifier: Verifier,
    wide: Incoming,
}

fn setup() -> Setup {
    let signer = signer(RSA_PEM, HashAlgorithm::Sha1);
    Setup {
        verifier: verifier(&signer),
        wide: Incoming::operator(&signer, &format!("https://{HOST}/*"), EXPIRES).unwrap(),
        signer,
    }
}

fn run(s: &Setup, body: &str, config: &Config) -> Result<Rewritten, Error> {
    rewrite(
        body.as_bytes(),
        &playlist_url("index.m3u8"),
        &s.wide,
        config,
        &s.signer,
        &SignatureCache::default(),
    )
}

fn checked(s: &Setup, body: &str, config: &Config) -> (Rewritten, Checked) {
    let out = run(s, body, config).unwrap();
    let url = playlist_url("index.m3u8");
    let check = Check {
        playlist_url: &url,
        incoming: &s.wide,
        verifier: &s.verifier,
        client_ip: None,
        child: config.child_credential(),
    };
    let checked = check.run(body.as_bytes(), out.body.as_bytes());
    (out, checked)
}

#[test]
fn non_playlists_are_rejected_with_typed_errors() {
    let s = setup();
    let config = Config::builder().max_bytes(64).build().unwrap();
    type Expect = fn(&Error) -> bool;
    let cases: Vec<(Vec<u8>, Expect)> = vec![
        (b"#EXTM3U\n\xff\xfe.ts\n".to_vec(), |e| {
            matches!(e, Error::NotUtf8 { offset: 8 })
        }),
        (b"#EXTM3U\nseg\0.ts\n".to_vec(), |e| {
            matches!(e, Error::Binary { offset: 11 })
        }),
        (b"<html>not a playlist</html>".to_vec(), |e| {
            matches!(e, Error::NoHeader { .. })
        }),
        (b"".to_vec(), |e| matches!(e, Error::NoHeader { .. })),
        (b"#EXTM3UX\n".to_vec(), |e| matches!(e, Error::NoHeader { .. })),
        (b"\n#EXTM3U\n".to_vec(), |e| matches!(e, Error::NoHeader { .. })),
        (b"#EXTINF:4,\n#EXTM3U\n".to_vec(), |e| {
            matches!(e, Error::NoHeader { .. })
        }),
        (format!("#EXTM3U\n{}", "a".repeat(64)).into_bytes(), |e| {
            matches!(e, Error::TooLarge { size: 72, limit: 64 })
        }),
    ];
    for (body, expected) in cases {
        let result = rewrite(
            &body,
            &playlist_url("i.m3u8"),
            &s.wide,
            &config,
            &s.signer,
            &SignatureCache::default(),
        );
        let error = result.expect_err("rejected");
        assert!(expected(&error), "{error}");
        let message = error.to_string();
        assert!(message.starts_with("not a playlist"), "{message}");
    }
    // A BOM, CRLF and trailing blanks on the header line are fine.
    for body in ["\u{feff}#EXTM3U\r\nseg.ts\r\n", "#EXTM3U \nseg.ts", "#EXTM3U"] {
        assert!(run(&s, body, &Config::default()).is_ok(), "{body:?}");
    }
}

#[test]
fn a_line_m3u8_rs_cannot_read_is_copied_and_its_uri_left_untouched() {
    let s = setup();
    let body = "#EXTM3U\n#EXTINF:4,\nseg.ts\n#EXTINF:4,\nbad\rline.ts\n#EXTINF:4,\nlast.ts\n";
    // m3u8-rs stops reading at line 5 (a carriage return alone)...
    let (rest, _) = m3u8_rs::parse_playlist(body.as_bytes()).unwrap();
    let read = &body[..body.len() - rest.len()];
    assert_eq!(read.matches('\n').count() + 1, 5, "m3u8-rs cannot read line 5");
    // ...the rewrite only classifies it, and rewrites it; the URI with a control character is not signed.
    let out = run(&s, body, &Config::default()).unwrap();
    assert_eq!(out.summary.kind, PlaylistKind::Media);
    assert_eq!(out.summary.uris_signed, 2);
    assert_eq!(out.summary.untouched[0].reason, Reason::Invalid);
    assert_eq!(strip_credentials(&out.body), body);
    let master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n";
    assert_eq!(
        run(&s, master, &Config::default()).unwrap().summary.kind,
        PlaylistKind::Master
    );
}

#[test]
fn a_bad_playlist_url_is_a_typed_error() {
    let s = setup();
    let body = "#EXTM3U\nseg.ts\n";
    let cache = SignatureCache::default();
    for url in [
        "movies/index.m3u8",
        "ftp://h/index.m3u8",
        "https://",
        "data:text/plain,x",
        "not a url",
    ] {
        let result = rewrite(body.as_bytes(), url, &s.wide, &Config::default(), &s.signer, &cache);
        assert!(matches!(result, Err(Error::PlaylistUrl(_))), "{url}: {result:?}");
    }
}

#[test]
fn configuration_errors_are_typed_and_come_from_building_it() {
    for host in ["", "a/b", "x@y", "h:0", "h:65536"] {
        let built = Config::builder().hosts([HOST, host]).build();
        assert_eq!(built, Err(ConfigError::Host(host.into())), "{host:?}");
    }
    for prefix in ["", "-P REFIX", "-P&x", "-P=", "-Ü"] {
        let suffix = KeySuffix::new(prefix);
        assert!(
            matches!(suffix, Err(cloudfront_sign::Error::KeySuffix(ref value)) if value == prefix),
            "{prefix:?}"
        );
    }
    assert_eq!(Config::builder().max_bytes(0).build(), Err(ConfigError::MaxBytes));
    // What a built configuration holds is what the rewrite uses.
    let s = setup();
    let suffix = KeySuffix::new("_copy").unwrap();
    let config = Config::builder()
        .hosts([HOST.to_uppercase()])
        .key_suffix(suffix.clone())
        .max_bytes(64)
        .build()
        .unwrap();
    assert_eq!(config.key_suffix(), &suffix);
    let out = run(&s, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n", &config).unwrap();
    assert!(out.body.contains("&Signature_copy="));
    assert!(matches!(
        run(&s, &format!("#EXTM3U\n{}", "a".repeat(64)), &config),
        Err(Error::TooLarge { size: 72, limit: 64 })
    ));
}

#[test]
fn every_uri_attribute_is_signed_and_playlists_get_the_prefixed_copy() {
    let s = setup();
    for &(tag, attribute, playlist) in URI_ATTRIBUTES {
        let body = format!("#EXTM3U\n#{tag}:A=\"x,y\",{attribute}=\"dir/file.bin\",B=1\n");
        let (out, checked) = checked(&s, &body, &Config::default());
        assert_eq!(checked.signed.len(), 1, "{tag} {attribute}");
        assert_eq!(out.summary.uris_signed, 1);
        let text = out.body;
        assert_eq!(text.contains("Signature-PREFIX="), playlist, "{tag} {attribute}");
        assert!(text.contains("A=\"x,y\","), "the other attributes stay");
    }
}

#[test]
fn tags_that_hold_no_uri_are_left_alone() {
    let s = setup();
    let body = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"a,URI=b.m3u8\"\nv.m3u8\n#EXT-X-MEDIA:TYPE=AUDIO,NAME=\"URI=\\\"x\\\"\",GROUP-ID=\"g\"\n#EXT-X-SESSION-DATA:DATA-ID=\"t\",VALUE=\"URI=x.ts\"\n#EXT-X-FOO:URI=\"unknown.ts\"\n# URI=\"comment.ts\"\n";
    let out = run(&s, body, &Config::default()).unwrap();
    assert_eq!(out.summary.uris_signed, 1, "only the variant line");
    let text = out.body;
    assert_eq!(strip_credentials(&text), body);
    assert!(text.contains("\nv.m3u8?Policy="));
}

#[test]
fn stale_credentials_are_replaced_never_duplicated() {
    let s = setup();
    let body = "#EXTM3U\n#EXTINF:4,\na.ts?x=1&Policy=old&Signature=old&Key-Pair-Id=KOLD&y=2\n#EXTINF:4,\nb.ts?Expires=1&Signature=s&Key-Pair-Id=K&Hash-Algorithm=SHA256#f\n#EXTINF:4,\nc.m3u8?Policy-PREFIX=p&Signature-PREFIX=s&Key-Pair-Id-PREFIX=K\n";
    let (out, checked) = checked(&s, body, &Config::default());
    assert_eq!(checked.signed.len(), 3);
    let text = out.body;
    assert!(
        !text.contains("old") && !text.contains("KOLD") && !text.contains("Expires"),
        "{text}"
    );
    assert!(text.contains("a.ts?x=1&y=2&Policy="));
    assert!(text.contains("b.ts?Policy="));
    assert!(text.contains("#f\n"));
    assert!(text.contains("c.m3u8?Policy="));
}

#[test]
fn trailing_whitespace_and_line_ends_stay_after_the_credential() {
    let s = setup();
    let body = "\u{feff}#EXTM3U\r\n#EXTINF:4,\r\nseg.ts   \r\n#EXTINF:4,\r\n\tseg2.ts\t\r\n\r\n";
    let (out, _) = checked(&s, body, &Config::default());
    let text = out.body;
    let line = text.split("\r\n").nth(2).unwrap();
    assert!(line.starts_with("seg.ts?Policy=") && line.ends_with("   "), "{line:?}");
    let line = text.split("\r\n").nth(4).unwrap();
    assert!(
        line.starts_with("\tseg2.ts?Policy=") && line.ends_with('\t'),
        "{line:?}"
    );
    assert!(text.ends_with("\r\n\r\n"));
}

#[test]
fn nothing_to_sign_returns_the_input_unchanged() {
    let s = setup();
    for body in [
        "#EXTM3U\n#EXTINF:4,\nhttps://ads.example.net/a.ts\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://k\"\n",
        "#EXTM3U\n# only comments\n\n",
        "\u{feff}#EXTM3U\r\n#EXT-X-ENDLIST\r\n",
    ] {
        for strategy in [Strategy::Resign, Strategy::PerUri, Strategy::Reuse] {
            let out = run(&s, body, &Config::builder().strategy(strategy).build().unwrap()).unwrap();
            assert_eq!(out.body, body);
            assert_eq!(out.summary.signatures_computed, 0);
        }
    }
}

#[test]
fn configured_hosts_decide_what_is_ours() {
    let s = setup();
    let body = "#EXTM3U\n#EXTINF:4,\nhttps://media.example.com/movies/a.ts\n#EXTINF:4,\nseg.ts\n";
    // Only the other host is ours: the playlist's own relative URI is not.
    let config = Config::builder().hosts(["MEDIA.example.com:443"]).build().unwrap();
    let out = run(&s, body, &config).unwrap();
    assert_eq!(
        out.summary.untouched.iter().map(|u| u.reason).collect::<Vec<_>>(),
        [Reason::OutsideGrant, Reason::ForeignHost]
    );
    // Both hosts ours, and a grant for the other host's movies.
    let config = Config::builder().hosts([HOST, "media.example.com"]).build().unwrap();
    let incoming = Incoming::operator(&s.signer, "https://media.example.com/movies/*", EXPIRES).unwrap();
    let out = rewrite(
        body.as_bytes(),
        &playlist_url("index.m3u8"),
        &incoming,
        &config,
        &s.signer,
        &SignatureCache::default(),
    )
    .unwrap();
    assert_eq!(out.summary.uris_signed, 1);
    assert_eq!(out.summary.untouched[0].reason, Reason::OutsideGrant);
}

const ALIAS: &str = "media.example.com";

/// The resource of `grant` as it would read on the distribution's own host.
fn on_distribution_host(resource: &str) -> String {
    resource.replacen(&format!("https://{ALIAS}/"), &format!("https://{HOST}/"), 1)
}

/// Invariant 1 for a resource: its pattern, read on the distribution's
/// host, matches nothing the incoming resource does not.
fn within(resource: &str, incoming: &str) -> bool {
    let literal = &resource[..resource.find(['*', '?']).unwrap_or(resource.len())];
    if literal.len() < resource.len() {
        covers_everything_after(incoming, literal)
    } else {
        cloudfront_sign::wildcard_match(incoming, resource)
    }
}

#[test]
fn an_alias_host_is_signed_for_itself_when_the_distribution_host_is_granted() {
    let s = setup();
    // The first host is the distribution's own, the one the grant names; the second its alias.
    let config = |strategy| {
        Config::builder()
            .hosts([HOST, "MEDIA.example.com:443"])
            .strategy(strategy)
            .build()
            .unwrap()
    };
    let grant = format!("https://{HOST}/movies/movie_1/*");
    let incoming = Incoming::operator(&s.signer, &grant, EXPIRES).unwrap();
    let body = format!(
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n\
         #EXTINF:4,\nhttps://{ALIAS}/movies/movie_1/a.ts\n\
         #EXTINF:4,\nhttps://{ALIAS}:443/movies/movie_1/v/b.ts?x=1\n\
         #EXTINF:4,\nhttps://{ALIAS}/movies/movie_2/c.ts\n\
         #EXTINF:4,\nhttps://other.example.com/movies/movie_1/d.ts\n\
         #EXTINF:4,\nseg.ts\n\
         #EXT-X-RENDITION-REPORT:URI=\"https://{ALIAS}/movies/movie_1/low/index.m3u8\",LAST-MSN=1\n"
    );
    for strategy in [Strategy::Resign, Strategy::PerUri] {
        let out = rewrite(
            body.as_bytes(),
            &playlist_url("index.m3u8"),
            &incoming,
            &config(strategy),
            &s.signer,
            &SignatureCache::default(),
        )
        .unwrap();
        let left: Vec<_> = out
            .summary
            .untouched
            .iter()
            .map(|u| (u.uri.as_str(), u.reason))
            .collect();
        assert_eq!(
            left,
            [
                (
                    format!("https://{ALIAS}/movies/movie_2/c.ts").as_str(),
                    Reason::OutsideGrant
                ),
                ("https://other.example.com/movies/movie_1/d.ts", Reason::ForeignHost),
            ],
            "{strategy}"
        );
        assert_eq!(out.summary.uris_signed, 4, "{strategy}");
        let (_, uris) = extract(&out.body);
        for found in uris.iter().filter(|f| f.uri.contains("Signature=")) {
            let absolute = absolute(&playlist_url("index.m3u8"), &found.uri).unwrap();
            let suffixes: &[&str] = if found.uri.contains("Signature-PREFIX=") {
                &["", PREFIX]
            } else {
                &[""]
            };
            for suffix in suffixes {
                let verified = s
                    .verifier
                    .verify_url(absolute.as_str(), suffix, NOW, None)
                    .unwrap_or_else(|e| panic!("{strategy} {absolute}: {e}"));
                let resource = &verified.policy.resource;
                assert!(verified.policy.window_and_ip_within(&incoming.policy));
                // Signed for the URL's own host, with a path the grant covers on the distribution's.
                let host = absolute.host_str().unwrap();
                assert!(resource.starts_with(&format!("https://{host}/")), "{resource}");
                assert!(
                    within(&on_distribution_host(resource), &grant),
                    "{strategy}: {resource}"
                );
                if host == ALIAS {
                    // The alias's credential opens the alias only, and only inside the grant's path.
                    let credential = credential(&found.uri, suffix);
                    let path = absolute.path();
                    for elsewhere in [
                        format!("https://{HOST}{path}"),
                        format!("https://other.example.com{path}"),
                        format!("https://{ALIAS}/movies/movie_2/c.ts"),
                        format!("https://{ALIAS}/secret.ts"),
                    ] {
                        assert!(
                            s.verifier.verify(&credential, &elsewhere, NOW, None).is_err(),
                            "{strategy}: {resource} opens {elsewhere}"
                        );
                    }
                }
            }
        }
    }
    // A playlist served on the alias: its relative URIs are on the alias too.
    let on_alias = format!("https://{ALIAS}/movies/movie_1/index.m3u8");
    let out = rewrite(
        b"#EXTM3U\n#EXTINF:4,\nseg.ts\n#EXTINF:4,\n../movie_2/seg.ts\n",
        &on_alias,
        &incoming,
        &config(Strategy::Resign),
        &s.signer,
        &SignatureCache::default(),
    )
    .unwrap();
    assert_eq!(out.summary.uris_signed, 1);
    assert_eq!(out.summary.untouched[0].reason, Reason::OutsideGrant);
    let line = out.body.lines().find(|l| l.starts_with("seg.ts?")).unwrap();
    let signed = format!("https://{ALIAS}/movies/movie_1/{line}");
    let grant = s.verifier.verify_url(&signed, "", NOW, None).unwrap();
    assert_eq!(grant.policy.resource, format!("https://{ALIAS}/movies/movie_1/*"));
    // Reuse cannot pass the distribution's credential to the alias: CloudFront would refuse it there.
    let reuse = Config::builder()
        .hosts([HOST, ALIAS])
        .strategy(Strategy::Reuse)
        .build()
        .unwrap();
    let refused = rewrite(
        body.as_bytes(),
        &playlist_url("index.m3u8"),
        &incoming,
        &reuse,
        &s.signer,
        &SignatureCache::default(),
    );
    assert!(matches!(refused, Err(Error::ReuseNotCovering { .. })), "{refused:?}");
}

#[test]
fn define_variables_are_substituted_or_left_to_the_player() {
    let s = setup();
    let body = "#EXTM3U\n\
        #EXT-X-DEFINE:NAME=\"dir\",VALUE=\"https://d111111abcdef8.cloudfront.net/movies/movie_1/v1\"\n\
        #EXT-X-DEFINE:IMPORT=\"imported\"\n\
        #EXT-X-DEFINE:QUERYPARAM=\"token\"\n\
        #EXT-X-MAP:URI=\"{$dir}/init.mp4\"\n\
        #EXTINF:4,\n{$dir}/seg-1.m4s\n\
        #EXTINF:4,\n{$imported}/seg-2.m4s\n\
        #EXTINF:4,\nseg-{$token}.m4s\n\
        #EXTINF:4,\nseg-3.m4s?t={$token}\n";
    let url = playlist_url("index.m3u8");
    for strategy in [Strategy::Resign, Strategy::PerUri] {
        let config = Config::builder().strategy(strategy).build().unwrap();
        let out = run(&s, body, &config).unwrap();
        let text = out.body.clone();
        assert_eq!(strip_credentials(&text), body, "the text keeps its references");
        assert_eq!(out.summary.uris_signed, 4, "{strategy}");
        assert_eq!(out.summary.untouched.len(), 1);
        assert_eq!(out.summary.untouched[0].uri, "{$imported}/seg-2.m4s");
        assert_eq!(out.summary.untouched[0].reason, Reason::UnresolvedVariable);
        // The player substitutes; CloudFront then sees the substituted URL, which verifies.
        let substituted = text
            .replace("{$dir}", "https://d111111abcdef8.cloudfront.net/movies/movie_1/v1")
            .replace("{$token}", "abc");
        let (_, uris) = extract(&substituted);
        for found in uris.iter().filter(|f| f.uri.contains("Signature=")) {
            let abs = absolute(&url, &found.uri).unwrap();
            s.verifier
                .verify_url(abs.as_str(), "", NOW, None)
                .unwrap_or_else(|e| panic!("{abs}: {e}"));
            if found.uri.starts_with("seg-abc") {
                // Also with another value: the resource is `seg-*.m4s` or the directory.
                let other = abs.as_str().replace("seg-abc", "seg-xyz");
                assert!(s.verifier.verify_url(&other, "", NOW, None).is_ok());
            }
        }
    }
}

#[test]
fn an_undefined_or_nested_variable_is_not_guessed() {
    let s = setup();
    let body = "#EXTM3U\n#EXT-X-DEFINE:NAME=\"a\",VALUE=\"{$b}\"\n#EXTINF:4,\n{$a}/x.ts\n#EXTINF:4,\n{$nobody}/y.ts\n#EXTINF:4,\n{$}/z.ts\n";
    let out = run(&s, body, &Config::default()).unwrap();
    let reasons: Vec<_> = out
        .summary
        .untouched
        .iter()
        .map(|u| (u.uri.as_str(), u.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            ("{$a}/x.ts", Reason::VariableValue),
            ("{$nobody}/y.ts", Reason::UnresolvedVariable)
        ]
    );
    assert_eq!(
        out.summary.uris_signed, 1,
        "`{{$}}` is no reference: a literal (encoded) path"
    );
}

#[test]
fn a_url_cloudfront_would_refuse_for_length_is_left_untouched() {
    let s = setup();
    let long = format!("{}.ts", "a".repeat(7800));
    let body = format!("#EXTM3U\n#EXTINF:4,\n{long}\n#EXTINF:4,\nshort.ts\n");
    let out = run(&s, &body, &Config::default()).unwrap();
    assert_eq!(out.summary.uris_signed, 1);
    assert_eq!(out.summary.untouched[0].reason, Reason::TooLong);
    assert!(out.body.contains(&format!("\n{long}\n")));
}

#[test]
fn wildcards_in_paths_are_not_turned_into_wider_grants() {
    let s = setup();
    let body = "#EXTM3U\n#EXTINF:4,\nd*r/a.ts\n#EXTINF:4,\nfile*.ts\n";
    let (out, checked) = checked(&s, body, &Config::default());
    assert_eq!(out.summary.untouched[0].reason, Reason::WildcardInPath);
    assert_eq!(checked.signed.len(), 1);
    // Per-uri on a narrow grant: `file*.ts` as a pattern would match more, so no exact policy.
    let narrow = Incoming::operator(&s.signer, &playlist_url("file*.ts"), EXPIRES).unwrap();
    let config = Config::builder().strategy(Strategy::PerUri).build().unwrap();
    let out = rewrite(
        body.as_bytes(),
        &playlist_url("index.m3u8"),
        &narrow,
        &config,
        &s.signer,
        &SignatureCache::default(),
    )
    .unwrap();
    // Not canned either: replayed as `Policy=`, a canned signature for
    // `file*.ts` is that same pattern (issue 11, finding 3).
    assert_eq!(out.summary.uris_signed, 0, "a canned `file*.ts` is a pattern too");
    assert_eq!(
        out.summary.untouched.iter().map(|u| u.reason).collect::<Vec<_>>(),
        [Reason::WildcardInPath, Reason::WildcardInUri]
    );
    let ip_bound = Incoming {
        policy: Policy::new(playlist_url("file*.ts"), EXPIRES).from_ip("192.0.2.0/24".parse().unwrap()),
        ..narrow
    };
    let out = rewrite(
        body.as_bytes(),
        &playlist_url("index.m3u8"),
        &ip_bound,
        &config,
        &s.signer,
        &SignatureCache::default(),
    )
    .unwrap();
    assert_eq!(out.summary.uris_signed, 0, "a custom `file*.ts` would be a pattern");
    assert_eq!(out.summary.untouched[1].reason, Reason::WildcardInUri);
}

/// A credential that carries the same signature as `credential` but states
/// the signed bytes as a custom policy: for a canned credential, what an
/// attacker replays as `Policy=` (the canned policy's bytes for `url`).
fn as_custom(credential: &Credential, url: &str) -> Credential {
    match credential.policy {
        CredentialPolicy::Canned { expires } => Credential {
            policy: CredentialPolicy::Custom {
                encoded: encoding::encode(canned_policy_json(url, expires).as_bytes()),
            },
            ..credential.clone()
        },
        CredentialPolicy::Custom { .. } => credential.clone(),
    }
}

/// URLs near `url` that a wildcard in it could reach: its `*` and `?`
/// replaced, characters added, other files and directories.
fn probes(url: &str) -> Vec<String> {
    let dir = &url[..url[..url.find('?').unwrap_or(url.len())].rfind('/').unwrap() + 1];
    let mut probes = vec![
        url.replace('*', "12345/../../../secret/x"),
        url.replace('*', ""),
        url.replace('?', "/"),
        url.replacen('?', "X", 1),
        format!("{url}x"),
        format!("{dir}seg12345.ts"),
        format!("{dir}seg1.ts"),
        format!("{dir}../movie_2/seg1.ts"),
        format!("https://{HOST}/secret/all.ts"),
    ];
    probes.retain(|probe| probe != url);
    probes
}

#[test]
fn per_uri_canned_credentials_replay_as_nothing_wider_than_their_url() {
    let s = setup();
    let body = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n\
        #EXTINF:4,\nseg*.ts\n#EXTINF:4,\nseg1.ts\n#EXTINF:4,\nseg2.ts?v=1\n\
        #EXTINF:4,\na.ts?v=1\n#EXTINF:4,\nb.ts?v=1\n";
    let url = playlist_url("index.m3u8");
    let config = Config::builder().strategy(Strategy::PerUri).build().unwrap();
    for (grant, signed, unsigned) in [
        // `seg?.ts` matches `seg*.ts` as text, but a `seg*.ts` pattern reaches `seg12345.ts`.
        (
            playlist_url("seg?.ts"),
            vec!["seg1.ts"],
            vec!["seg*.ts", "seg2.ts?v=1", "a.ts?v=1", "b.ts?v=1"],
        ),
        // The grant covers everything after `a.ts`: the `a.ts?v=1` pattern stays inside it.
        (
            playlist_url("a.ts*"),
            vec!["a.ts?v=1"],
            vec!["seg*.ts", "seg1.ts", "seg2.ts?v=1", "b.ts?v=1"],
        ),
        // The whole directory: every pattern in it stays inside.
        (
            playlist_url("*"),
            vec!["seg*.ts", "seg1.ts", "seg2.ts?v=1", "a.ts?v=1", "b.ts?v=1"],
            vec![],
        ),
    ] {
        let incoming = Incoming::operator(&s.signer, &grant, EXPIRES).unwrap();
        let out = rewrite(
            body.as_bytes(),
            &url,
            &incoming,
            &config,
            &s.signer,
            &SignatureCache::default(),
        )
        .unwrap();
        let (_, uris) = extract(&out.body);
        let mut seen_signed = Vec::new();
        for found in &uris {
            let bare = strip_uri(&found.uri);
            if !found.uri.contains("Signature=") {
                continue;
            }
            seen_signed.push(bare.clone());
            let absolute = format!("https://{HOST}/movies/movie_1/{bare}");
            let credential = credential(&found.uri, "");
            assert!(
                !(matches!(credential.policy, CredentialPolicy::Canned { .. }) && absolute.contains(['*', '?'])),
                "{grant}: {bare} was signed canned"
            );
            let replay = as_custom(&credential, &absolute);
            assert!(s.verifier.verify(&replay, &absolute, NOW, None).is_ok(), "{absolute}");
            for probe in probes(&absolute) {
                if s.verifier.verify(&replay, &probe, NOW, None).is_ok() {
                    // What a custom credential opens stays in the grant; a canned one opens its URL only.
                    assert!(
                        matches!(credential.policy, CredentialPolicy::Custom { .. }),
                        "{grant}: the canned credential of {bare}, replayed, opens {probe}"
                    );
                    assert!(
                        cloudfront_sign::wildcard_match(&grant, &probe),
                        "{grant}: the credential of {bare} opens {probe}, outside the grant"
                    );
                }
            }
        }
        assert_eq!(seen_signed, signed, "{grant}");
        let left: Vec<_> = out.summary.untouched.iter().map(|u| u.uri.as_str()).collect();
        assert_eq!(left, unsigned, "{grant}");
        for untouched in &out.summary.untouched {
            assert!(
                matches!(untouched.reason, Reason::WildcardInUri | Reason::OutsideGrant),
                "{untouched:?}"
            );
        }
        assert_eq!(Reason::WildcardInUri.code(), "wildcard_in_uri");
    }
}

#[test]
fn resign_falls_back_to_exact_urls_when_the_grant_does_not_cover_the_directory() {
    let s = setup();
    let body = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv1/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\nv2/index.m3u8\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"n\",URI=\"a/index.m3u8\"\n";
    // The grant covers the variants' playlists (and what follows them), not their directories.
    let incoming = Incoming::operator(
        &s.signer,
        &format!("https://{HOST}/movies/movie_1/v?/index.m3u8*"),
        EXPIRES,
    )
    .unwrap();
    let url = playlist_url("index.m3u8");
    let out = rewrite(
        body.as_bytes(),
        &url,
        &incoming,
        &Config::default(),
        &s.signer,
        &SignatureCache::default(),
    )
    .unwrap();
    assert_eq!(out.summary.uris_signed, 2);
    assert_eq!(out.summary.untouched[0].reason, Reason::OutsideGrant);
    let check = Check {
        playlist_url: &url,
        incoming: &incoming,
        verifier: &s.verifier,
        client_ip: None,
        child: ChildCredential::Copy,
    };
    let checked = check.run(body.as_bytes(), out.body.as_bytes());
    assert_eq!(
        checked.resources[0],
        format!("https://{HOST}/movies/movie_1/v1/index.m3u8*")
    );
}

#[test]
fn per_uri_signs_in_parallel_and_keeps_the_order() {
    let s = setup();
    let mut body = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:4\n");
    for i in 0..64 {
        body.push_str(&format!("#EXTINF:4,\nseg{i:05}.ts\n"));
    }
    let config = Config::builder().strategy(Strategy::PerUri).build().unwrap();
    let cache = SignatureCache::default();
    let url = playlist_url("index.m3u8");
    let parallel = rewrite(body.as_bytes(), &url, &s.wide, &config, &s.signer, &cache).unwrap();
    assert_eq!(parallel.summary.signatures_computed, 64);
    // From the cache, in order, on one thread: the same bytes.
    let sequential = rewrite(body.as_bytes(), &url, &s.wide, &config, &s.signer, &cache).unwrap();
    assert_eq!(sequential.summary.signatures_reused, 64);
    assert_eq!(parallel.body, sequential.body);
    let check = Check {
        playlist_url: &url,
        incoming: &s.wide,
        verifier: &s.verifier,
        client_ip: None,
        child: ChildCredential::Copy,
    };
    assert_eq!(check.run(body.as_bytes(), parallel.body.as_bytes()).signed.len(), 64);
}

#[test]
fn a_signing_budget_signs_up_to_it_caches_and_the_retry_continues() {
    // ECDSA: fast in debug builds; the contract is the same for RSA.
    let signer = signer(EC_PEM, HashAlgorithm::Sha1);
    let wide = Incoming::operator(&signer, &format!("https://{HOST}/*"), EXPIRES).unwrap();
    let mut body = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:4\n");
    for i in 0..600 {
        body.push_str(&format!("#EXTINF:4,\nseg{i:05}.ts\n"));
    }
    let url = playlist_url("index.m3u8");
    let config = Config::builder()
        .strategy(Strategy::PerUri)
        .max_new_signatures(250)
        .build()
        .unwrap();
    let cache = SignatureCache::default();
    let attempt = || rewrite(body.as_bytes(), &url, &wide, &config, &signer, &cache);
    // 600 needed: 250 made and cached, then a refusal that says so.
    assert_eq!(
        attempt().unwrap_err(),
        Error::SigningBudget {
            needed: 600,
            signed: 250,
            budget: 250
        }
    );
    assert_eq!(cache.len(), 250);
    // The retry continues from the cache: 350 missing, 250 more made.
    assert_eq!(
        attempt().unwrap_err(),
        Error::SigningBudget {
            needed: 350,
            signed: 250,
            budget: 250
        }
    );
    assert_eq!(cache.len(), 500);
    // The last 100 fit: done, with every URI signed and verifying.
    let out = attempt().unwrap();
    assert_eq!(
        (out.summary.signatures_computed, out.summary.signatures_reused),
        (100, 500)
    );
    let check = Check {
        playlist_url: &url,
        incoming: &wide,
        verifier: &verifier(&signer),
        client_ip: None,
        child: ChildCredential::Copy,
    };
    assert_eq!(check.run(body.as_bytes(), out.body.as_bytes()).signed.len(), 600);
    // Nothing missing: no budget is spent.
    assert_eq!(attempt().unwrap().summary.signatures_computed, 0);
    let message = Error::SigningBudget {
        needed: 600,
        signed: 250,
        budget: 250,
    }
    .to_string();
    assert!(message.starts_with("signing budget spent: 600 new signatures needed, 250 made and cached"));
    // Without a budget, everything at once, as before.
    let unlimited = Config::builder().strategy(Strategy::PerUri).build().unwrap();
    let out = rewrite(
        body.as_bytes(),
        &url,
        &wide,
        &unlimited,
        &signer,
        &SignatureCache::default(),
    )
    .unwrap();
    assert_eq!(out.summary.signatures_computed, 600);
}

#[test]
fn signatures_go_into_the_cache_in_batches_in_playlist_order() {
    // A budget that ends inside the second batch of 256: the first batch and
    // part of the second are cached, exactly the first URIs of the playlist.
    let signer = signer(EC_PEM, HashAlgorithm::Sha1);
    let wide = Incoming::operator(&signer, &format!("https://{HOST}/*"), EXPIRES).unwrap();
    let segment = |i: usize| format!("seg{i:05}.ts");
    let mut body = String::from("#EXTM3U\n");
    for i in 0..700 {
        body.push_str(&format!("#EXTINF:4,\n{}\n", segment(i)));
    }
    let url = playlist_url("index.m3u8");
    let config = Config::builder()
        .strategy(Strategy::PerUri)
        .max_new_signatures(300)
        .build()
        .unwrap();
    let cache = SignatureCache::default();
    assert!(matches!(
        rewrite(body.as_bytes(), &url, &wide, &config, &signer, &cache),
        Err(Error::SigningBudget { signed: 300, .. })
    ));
    // Which ones: a playlist of the first 300 URIs finds all of them, of the next ones none.
    let unlimited = Config::builder().strategy(Strategy::PerUri).build().unwrap();
    let first: String = (0..300).map(|i| format!("#EXTINF:4,\n{}\n", segment(i))).collect();
    let out = rewrite(
        format!("#EXTM3U\n{first}").as_bytes(),
        &url,
        &wide,
        &unlimited,
        &signer,
        &cache,
    )
    .unwrap();
    assert_eq!(
        (out.summary.signatures_reused, out.summary.signatures_computed),
        (300, 0)
    );
    let next: String = (300..310).map(|i| format!("#EXTINF:4,\n{}\n", segment(i))).collect();
    let out = rewrite(
        format!("#EXTM3U\n{next}").as_bytes(),
        &url,
        &wide,
        &unlimited,
        &signer,
        &cache,
    )
    .unwrap();
    assert_eq!(
        (out.summary.signatures_reused, out.summary.signatures_computed),
        (0, 10)
    );
}

#[test]
fn sha256_and_ecdsa_credentials_carry_their_hash_algorithm() {
    let signer = signer(EC_PEM, HashAlgorithm::Sha256);
    let verifier = verifier(&signer);
    let wide = Incoming::operator(&signer, &format!("https://{HOST}/*"), EXPIRES).unwrap();
    let body = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv/index.m3u8\n";
    let url = playlist_url("index.m3u8");
    let out = rewrite(
        body.as_bytes(),
        &url,
        &wide,
        &Config::default(),
        &signer,
        &SignatureCache::default(),
    )
    .unwrap();
    let text = out.body.clone();
    assert!(text.contains("&Hash-Algorithm=SHA256&") && text.trim_end().ends_with("&Hash-Algorithm-PREFIX=SHA256"));
    let check = Check {
        playlist_url: &url,
        incoming: &wide,
        verifier: &verifier,
        client_ip: None,
        child: ChildCredential::Copy,
    };
    check.run(body.as_bytes(), out.body.as_bytes());
}

#[test]
fn a_new_key_under_the_same_key_pair_id_never_reuses_a_cached_signature() {
    // Rotation: the secret holds a new key, CloudFront the new public key
    // under the same id; the process keeps its cache.
    let old = signer(RSA_PEM, HashAlgorithm::Sha1);
    let new = signer(OTHER_RSA_PEM, HashAlgorithm::Sha1);
    assert_eq!(old.key_pair_id(), new.key_pair_id());
    let cache = SignatureCache::default();
    let body = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg.ts\n";
    let url = playlist_url("index.m3u8");
    for strategy in [Strategy::Resign, Strategy::PerUri] {
        let config = Config::builder().strategy(strategy).build().unwrap();
        let mut outputs = Vec::new();
        for signer in [&old, &new] {
            let incoming = Incoming::operator(signer, &format!("https://{HOST}/*"), EXPIRES).unwrap();
            let out = rewrite(body.as_bytes(), &url, &incoming, &config, signer, &cache).unwrap();
            assert_eq!(
                (out.summary.signatures_computed, out.summary.signatures_reused),
                (1, 0),
                "{strategy}: each key signs for itself"
            );
            let check = Check {
                playlist_url: &url,
                incoming: &incoming,
                verifier: &verifier(signer),
                client_ip: None,
                child: ChildCredential::Copy,
            };
            assert_eq!(check.run(body.as_bytes(), out.body.as_bytes()).signed.len(), 1);
            outputs.push(out.body);
        }
        assert_ne!(outputs[0], outputs[1]);
    }
}

#[test]
fn the_cache_is_bounded_and_shared_across_threads() {
    let s = setup();
    let cache = SignatureCache::new(3);
    std::thread::scope(|scope| {
        for t in 0..2 {
            let (s, cache) = (&s, &cache);
            scope.spawn(move || {
                for i in 0..3 {
                    let body = format!("#EXTM3U\n#EXTINF:4,\nd{t}{i}/seg.ts\n");
                    rewrite(
                        body.as_bytes(),
                        &playlist_url("i.m3u8"),
                        &s.wide,
                        &Config::default(),
                        &s.signer,
                        cache,
                    )
                    .unwrap();
                }
            });
        }
    });
    assert_eq!(cache.len(), 3);
    assert_eq!(cache.misses(), 6);
}
