//! Verification as CloudFront decides it: one test per check, plus signing
//! refusals and the suffixed (`-PREFIX`) copies.

use std::net::IpAddr;

use cloudfront_sign::{
    Credential, CredentialPolicy, Denied, Error, HashAlgorithm, KeyKind, KeyPairId, KeySuffix, Policy, SigningKey,
    UrlSigner, Verifier, encoding,
};
use proptest::prelude::*;

const HOST: &str = "https://d111111abcdef8.cloudfront.net";
const NOW: u64 = 1_800_000_000;
const LATER: u64 = 1_900_000_000;
const KEY_ID: &str = "K2JCJMDEHXQW5F";

fn signer(key: &str, hash: HashAlgorithm) -> UrlSigner {
    let pem = std::fs::read_to_string(format!("{}/tests/fixtures/{key}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    UrlSigner::new(KEY_ID.parse().unwrap(), SigningKey::from_pem(&pem).unwrap(), hash)
}

fn rsa() -> UrlSigner {
    signer("rsa2048_pkcs1.pem", HashAlgorithm::Sha1)
}

fn verifier_for(signer: &UrlSigner) -> Verifier {
    let mut verifier = Verifier::new();
    verifier.trust(signer.key_pair_id(), signer.verifying_key());
    verifier
}

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

fn url(path: &str) -> String {
    format!("{HOST}{path}")
}

#[test]
fn every_key_and_hash_round_trips() {
    for (key, hash) in [
        ("rsa2048_pkcs1.pem", HashAlgorithm::Sha1),
        ("rsa2048_pkcs8.pem", HashAlgorithm::Sha256),
        ("ec_p256_pkcs8.pem", HashAlgorithm::Sha1),
        ("ec_p256_sec1.pem", HashAlgorithm::Sha256),
    ] {
        let signer = signer(key, hash);
        let verifier = verifier_for(&signer);
        let canned = signer.sign_canned(&url("/a.ts"), LATER).unwrap();
        let grant = verifier.verify_url(&canned, "", NOW, None).unwrap();
        assert!(grant.canned);
        assert_eq!(grant.hash, hash);
        assert_eq!(grant.policy, Policy::new(url("/a.ts"), LATER));
        assert_eq!(
            canned.contains("Hash-Algorithm=SHA256"),
            hash == HashAlgorithm::Sha256,
            "{key}"
        );

        let policy = Policy::new(url("/movies/*"), LATER)
            .not_before(NOW - 10)
            .from_ip("192.0.2.0/24".parse().unwrap());
        let custom = signer.sign_with_policy(&url("/movies/m/i.m3u8"), &policy).unwrap();
        let grant = verifier.verify_url(&custom, "", NOW, ip("192.0.2.1")).unwrap();
        assert!(!grant.canned);
        assert_eq!(grant.policy, policy);
    }
}

#[test]
fn missing_parameters_are_named() {
    let verifier = verifier_for(&rsa());
    assert_eq!(
        verifier.verify_url(&url("/a.ts"), "", NOW, None),
        Err(Denied::MissingParameter("Policy".into()))
    );
    let signed = rsa().sign_canned(&url("/a.ts"), LATER).unwrap();
    let without_signature = cloudfront_sign::strip_params(&signed, &["Signature"]);
    assert_eq!(
        verifier.verify_url(&without_signature, "", NOW, None),
        Err(Denied::MissingParameter("Signature".into()))
    );
    assert_eq!(
        verifier.verify_url(&signed, "-PREFIX", NOW, None),
        Err(Denied::MissingParameter("Policy-PREFIX".into()))
    );
}

#[test]
fn unknown_key_pair_id() {
    let signed = rsa().sign_canned(&url("/a.ts"), LATER).unwrap();
    let other = signer("rsa2048_other.pem", HashAlgorithm::Sha1);
    let mut verifier = Verifier::new();
    verifier.trust("KOTHERKEY", other.verifying_key());
    assert_eq!(verifier.verify_url(&signed, "", NOW, None), Err(Denied::UnknownKey));
    assert_eq!(
        Verifier::new().verify_url(&signed, "", NOW, None),
        Err(Denied::UnknownKey)
    );
}

#[test]
fn bad_signature_forged_tampered_or_wrong_key() {
    let signer = rsa();
    let verifier = verifier_for(&signer);
    let signed = signer.sign_canned(&url("/a.ts"), LATER).unwrap();
    // Another key under the trusted id: a forgery.
    let forged = UrlSigner::new(
        KEY_ID.parse().unwrap(),
        SigningKey::from_pem(include_str!("fixtures/rsa2048_other.pem")).unwrap(),
        HashAlgorithm::Sha1,
    )
    .sign_canned(&url("/a.ts"), LATER)
    .unwrap();
    assert_eq!(verifier.verify_url(&forged, "", NOW, None), Err(Denied::BadSignature));
    // A longer expiry than was signed.
    let extended = signed.replace(&format!("Expires={LATER}"), &format!("Expires={}", LATER + 1));
    assert_eq!(verifier.verify_url(&extended, "", NOW, None), Err(Denied::BadSignature));
    // A canned URL used for another path is a signature failure (the URL is the policy).
    let moved = signed.replace("/a.ts?", "/b.ts?");
    assert_eq!(verifier.verify_url(&moved, "", NOW, None), Err(Denied::BadSignature));
    // A signature that is not base64 at all.
    let garbage = cloudfront_sign::strip_params(&signed, &["Signature"]) + "&Signature=%%%";
    assert_eq!(verifier.verify_url(&garbage, "", NOW, None), Err(Denied::BadSignature));
    // SHA-1 signature announced as SHA-256.
    let relabelled = format!("{signed}&Hash-Algorithm=SHA256");
    assert_eq!(
        verifier.verify_url(&relabelled, "", NOW, None),
        Err(Denied::BadSignature)
    );
    // A custom policy edited after signing.
    let policy = Policy::new(url("/movies/m/*"), LATER);
    let custom = signer.sign_with_policy(&url("/movies/m/a.ts"), &policy).unwrap();
    let wider = encoding::encode(Policy::new(url("/*"), LATER).to_json().as_bytes());
    let swapped = custom.replace(&encoding::encode(policy.to_json().as_bytes()), &wider);
    assert_ne!(swapped, custom);
    assert_eq!(verifier.verify_url(&swapped, "", NOW, None), Err(Denied::BadSignature));
}

#[test]
fn malformed_policy_that_was_validly_signed() {
    // A signer can sign anything; CloudFront still refuses a policy it cannot read.
    let key = SigningKey::from_pem(include_str!("fixtures/rsa2048_pkcs1.pem")).unwrap();
    let verifier = verifier_for(&rsa());
    for (json, reason) in [
        (r#"{"Statement":[]}"#.to_owned(), "0 statements"),
        (
            format!(
                r#"{{"Statement":[{{"Resource":"*","Condition":{{"DateLessThan":{{"AWS:EpochTime":{LATER}}}}}}},{{"Resource":"*","Condition":{{"DateLessThan":{{"AWS:EpochTime":{LATER}}}}}}}]}}"#
            ),
            "2 statements",
        ),
        (
            r#"{"Statement":[{"Resource":"*","Condition":{}}]}"#.to_owned(),
            "DateLessThan missing",
        ),
        ("not json".to_owned(), "not JSON"),
        (
            "{\"Statement\":[{\"Resource\":\"h\u{e9}\"}]}".to_owned(),
            "Condition missing",
        ),
    ] {
        let signature = encoding::encode(&key.sign(json.as_bytes(), HashAlgorithm::Sha1).unwrap());
        let request = format!(
            "{}?Policy={}&Signature={signature}&Key-Pair-Id=K2JCJMDEHXQW5F",
            url("/a.ts"),
            encoding::encode(json.as_bytes())
        );
        match verifier.verify_url(&request, "", NOW, None) {
            Err(Denied::MalformedPolicy(message)) => assert!(message.contains(reason), "{message}"),
            other => panic!("{json}: {other:?}"),
        }
    }
    let not_base64 = format!("{}?Policy=!!!&Signature=AAAA&Key-Pair-Id=K2JCJMDEHXQW5F", url("/a.ts"));
    assert!(matches!(
        verifier.verify_url(&not_base64, "", NOW, None),
        Err(Denied::MalformedPolicy(_))
    ));
}

#[test]
fn time_window_edges() {
    let signer = rsa();
    let verifier = verifier_for(&signer);
    let policy = Policy::new(url("/*"), 2000).not_before(1000);
    let signed = signer.sign_with_policy(&url("/a.ts"), &policy).unwrap();
    assert_eq!(verifier.verify_url(&signed, "", 999, None), Err(Denied::NotYetValid));
    assert!(verifier.verify_url(&signed, "", 1000, None).is_ok());
    assert!(verifier.verify_url(&signed, "", 1999, None).is_ok());
    assert_eq!(verifier.verify_url(&signed, "", 2000, None), Err(Denied::Expired));
    let canned = signer.sign_canned(&url("/a.ts"), 2000).unwrap();
    assert!(verifier.verify_url(&canned, "", 1999, None).is_ok());
    assert_eq!(verifier.verify_url(&canned, "", 2000, None), Err(Denied::Expired));
}

#[test]
fn ip_condition() {
    let signer = rsa();
    let verifier = verifier_for(&signer);
    let policy = Policy::new(url("/*"), LATER).from_ip("192.0.2.0/24".parse().unwrap());
    let signed = signer.sign_with_policy(&url("/a.ts"), &policy).unwrap();
    assert!(verifier.verify_url(&signed, "", NOW, ip("192.0.2.200")).is_ok());
    assert!(verifier.verify_url(&signed, "", NOW, ip("::ffff:192.0.2.200")).is_ok());
    assert_eq!(
        verifier.verify_url(&signed, "", NOW, ip("192.0.3.1")),
        Err(Denied::IpNotAllowed)
    );
    assert_eq!(
        verifier.verify_url(&signed, "", NOW, ip("2001:db8::1")),
        Err(Denied::IpNotAllowed)
    );
    assert_eq!(verifier.verify_url(&signed, "", NOW, None), Err(Denied::IpNotAllowed));
}

#[test]
fn resource_must_match_the_url() {
    let signer = rsa();
    let verifier = verifier_for(&signer);
    let credential = signer
        .sign_policy(&Policy::new(url("/movies/movie_1/*"), LATER))
        .unwrap();
    let ok = credential.append_to(&url("/movies/movie_1/seg.ts"), &[""]);
    assert!(verifier.verify_url(&ok, "", NOW, None).is_ok());
    for elsewhere in ["/movies/movie_2/seg.ts", "/movies/movie_1", "/other/movies/movie_1/x"] {
        let request = credential.append_to(&url(elsewhere), &[""]);
        assert_eq!(
            verifier.verify_url(&request, "", NOW, None),
            Err(Denied::ResourceMismatch),
            "{elsewhere}"
        );
    }
    let other_distribution = credential.append_to("https://d222222abcdef8.cloudfront.net/movies/movie_1/a.ts", &[""]);
    assert_eq!(
        verifier.verify_url(&other_distribution, "", NOW, None),
        Err(Denied::ResourceMismatch)
    );
    // `?` is one character; the query left after the credential counts.
    let one_char = signer.sign_policy(&Policy::new(url("/seg?.ts"), LATER)).unwrap();
    assert!(
        verifier
            .verify_url(&one_char.append_to(&url("/seg1.ts"), &[""]), "", NOW, None)
            .is_ok()
    );
    assert_eq!(
        verifier.verify_url(&one_char.append_to(&url("/seg10.ts"), &[""]), "", NOW, None),
        Err(Denied::ResourceMismatch)
    );
    let exact = signer.sign_policy(&Policy::new(url("/a.ts"), LATER)).unwrap();
    assert_eq!(
        verifier.verify_url(&exact.append_to(&url("/a.ts?x=1"), &[""]), "", NOW, None),
        Err(Denied::ResourceMismatch)
    );
}

#[test]
fn suffixed_copies_verify_like_the_originals() {
    let signer = signer("ec_p256_pkcs8.pem", HashAlgorithm::Sha256);
    let verifier = verifier_for(&signer);
    let policy = Policy::new(url("/movies/movie_1/*"), LATER);
    let suffix = KeySuffix::default();
    let both = signer
        .sign_with_policy_and_copies(&url("/movies/movie_1/index.m3u8"), &policy, &suffix)
        .unwrap();
    // What CloudFront checks: its own parameters, with the copies still in the URL.
    assert!(verifier.verify_url(&both, "", NOW, None).is_ok());
    // What the rewriter sees after CloudFront stripped its own parameters.
    let at_origin = cloudfront_sign::strip_params(&both, &cloudfront_sign::RESERVED_PARAMS);
    assert!(!at_origin.contains("&Policy=") && at_origin.contains("Policy-PREFIX="));
    let grant = verifier.verify_url(&at_origin, &suffix, NOW, None).unwrap();
    assert_eq!(grant, verifier.verify_url(&at_origin, "-PREFIX", NOW, None).unwrap());
    assert_eq!(grant.policy, policy);
    assert_eq!(grant.hash, HashAlgorithm::Sha256);
    // A copy altered on the way is refused.
    let altered = at_origin.replace("Key-Pair-Id-PREFIX=K2JCJMDEHXQW5F", "Key-Pair-Id-PREFIX=KFORGED");
    assert_eq!(
        verifier.verify_url(&altered, "-PREFIX", NOW, None),
        Err(Denied::UnknownKey)
    );
}

#[test]
fn signing_refuses_bad_urls_and_ids() {
    let signer = rsa();
    for (bad, expected) in [
        ("ftp://h/a", "not an absolute http(s) url"),
        ("/relative/a.ts", "not an absolute http(s) url"),
        ("https:///a.ts", "no host"),
        ("https://h/a.ts#t=1", "fragment"),
        ("https://h/a b.ts", "whitespace"),
        ("https://h/a.ts?Signature=x", "Signature"),
        ("https://h/a.ts?x=1&Expires=3", "Expires"),
        ("https://h/a.ts?Key%2DPair-Id=3", "Key-Pair-Id"),
    ] {
        let message = signer.sign_canned(bad, LATER).unwrap_err().to_string();
        assert!(message.contains(expected), "{bad}: {message}");
    }
    assert!(signer.sign_canned("HTTPS://H/a.ts", LATER).is_ok());
    // The credential checks come first: a reserved parameter is named as such.
    let message = signer
        .sign_canned("https://h/a*.ts?Signature=x", LATER)
        .unwrap_err()
        .to_string();
    assert!(message.contains("Signature"), "{message}");
    let long = url(&format!("/{}", "a".repeat(8000)));
    assert!(matches!(signer.sign_canned(&long, LATER), Err(Error::UrlTooLong(_))));
    let mismatch = signer.sign_with_policy(&url("/b.ts"), &Policy::new(url("/a/*"), LATER));
    assert!(matches!(mismatch, Err(Error::Url(_))));
    // A signer's key pair id was validated when it was read: the one rule.
    for id in ["", "K2 JC", "K2/..", "é"] {
        assert!(matches!(KeyPairId::new(id), Err(Error::KeyPairId(_))), "{id:?}");
        assert!(matches!(id.parse::<KeyPairId>(), Err(Error::KeyPairId(_))), "{id:?}");
    }
    let key = SigningKey::from_pem(include_str!("fixtures/rsa2048_pkcs1.pem")).unwrap();
    let legacy = UrlSigner::new(
        KeyPairId::new("APKAEIBAERJR2EXAMPLE").unwrap(),
        key,
        HashAlgorithm::Sha1,
    );
    assert_eq!(legacy.key_pair_id().as_str(), "APKAEIBAERJR2EXAMPLE");
}

/// A custom credential carrying exactly the bytes a canned credential for
/// `url` signed: what an attacker replays as `Policy=`.
fn replayed_as_custom(canned: &Credential, url: &str) -> Credential {
    let CredentialPolicy::Canned { expires } = canned.policy else {
        panic!("a canned credential");
    };
    Credential {
        policy: CredentialPolicy::Custom {
            encoded: encoding::encode(cloudfront_sign::canned_policy_json(url, expires).as_bytes()),
        },
        ..canned.clone()
    }
}

#[test]
fn a_canned_signature_replays_as_a_custom_policy_so_wildcard_urls_are_refused() {
    let signer = rsa();
    let verifier = verifier_for(&signer);
    // Why: the canned policy's bytes are a custom policy's, with the URL as
    // the resource. Signed by hand (as a canned signer without the check
    // would), the replay opens what the URL matches as a pattern.
    let pattern = url("/movies/seg*.ts");
    let signature = SigningKey::from_pem(include_str!("fixtures/rsa2048_pkcs1.pem"))
        .unwrap()
        .sign(
            cloudfront_sign::canned_policy_json(&pattern, LATER).as_bytes(),
            HashAlgorithm::Sha1,
        )
        .unwrap();
    let canned = Credential {
        policy: CredentialPolicy::Canned { expires: LATER },
        signature: encoding::encode(&signature),
        key_pair_id: KEY_ID.into(),
        hash: HashAlgorithm::Sha1,
    };
    let replay = replayed_as_custom(&canned, &pattern);
    let elsewhere = replay.append_to(&url("/movies/seg/../../secret/all.ts"), &[""]);
    assert!(
        verifier.verify_url(&elsewhere, "", NOW, None).is_ok(),
        "the replay is a wildcard grant"
    );

    // So canned signing refuses `*` and `?` (a query string too), with the reason.
    for wild in [
        "/movies/seg*.ts",
        "/movies/seg?.ts",
        "/movies/seg2.ts?v=1",
        "/movies/a.ts?",
    ] {
        let wild = url(wild);
        let refused = signer.sign_canned(&wild, LATER);
        assert!(
            matches!(refused, Err(Error::CannedWildcard(ref shown)) if *shown == wild),
            "{wild}: {refused:?}"
        );
        assert!(matches!(
            signer.sign_canned_params(&wild, LATER),
            Err(Error::CannedWildcard(_))
        ));
        let message = refused.unwrap_err().to_string();
        assert!(message.starts_with("cannot sign \"https://"), "{message}");
        assert!(
            message.contains("canned policy") && message.contains("wildcards"),
            "{message}"
        );
        assert_eq!(message, message.to_lowercase());
    }
    // A literal URL still signs canned, and its replay opens that URL only.
    let exact = url("/movies/seg1.ts");
    let canned = signer.sign_canned_params(&exact, LATER).unwrap();
    let replay = replayed_as_custom(&canned, &exact);
    assert!(
        verifier
            .verify_url(&replay.append_to(&exact, &[""]), "", NOW, None)
            .is_ok()
    );
    for other in [
        "/movies/seg1.tsx",
        "/movies/seg1.ts?x=1",
        "/movies/seg2.ts",
        "/movies/seg1.t",
    ] {
        assert_eq!(
            verifier.verify_url(&replay.append_to(&url(other), &[""]), "", NOW, None),
            Err(Denied::ResourceMismatch),
            "{other}"
        );
    }
    // A custom policy for such a URL is the caller's explicit choice.
    let custom = Policy::new(url("/movies/seg2.ts?v=1"), LATER);
    assert!(signer.sign_with_policy(&url("/movies/seg2.ts?v=1"), &custom).is_ok());
}

#[test]
fn signature_and_policy_lengths_are_known_before_signing() {
    for (key, hash) in [
        ("rsa2048_pkcs1.pem", HashAlgorithm::Sha1),
        ("rsa3072_pkcs8.pem", HashAlgorithm::Sha256),
        ("ec_p256_pkcs8.pem", HashAlgorithm::Sha1),
        ("ec_p256_sec1.pem", HashAlgorithm::Sha256),
    ] {
        let signer = signer(key, hash);
        let bound = signer.max_encoded_signature_len();
        for i in 0..40 {
            let policy = Policy::new(url(&format!("/movies/{i}/*")), LATER + i);
            let credential = signer.sign_policy(&policy).unwrap();
            assert!(credential.signature.len() <= bound, "{key}");
            if matches!(signer.key_kind(), KeyKind::Rsa { .. }) {
                assert_eq!(credential.signature.len(), bound, "{key}: RSA is exact");
            }
            let CredentialPolicy::Custom { encoded } = &credential.policy else {
                unreachable!()
            };
            assert_eq!(encoded.len(), encoding::encoded_len(policy.json_len()));
        }
    }
    assert_eq!(KeyKind::Rsa { bits: 2048 }.max_signature_bytes(), 256);
    assert_eq!(KeyKind::EcdsaP256.max_signature_bytes(), 72);
}

#[test]
fn denial_codes_are_stable() {
    assert_eq!(Denied::Expired.code(), "expired");
    assert_eq!(Denied::ResourceMismatch.to_string(), "resource does not match the url");
    assert_eq!(
        Denied::MissingParameter("Policy-PREFIX".into()).to_string(),
        "missing parameter Policy-PREFIX"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the query, verification answers without panicking.
    #[test]
    fn verify_never_panics(query in ".{0,300}") {
        let verifier = verifier_for(&rsa());
        let _ = verifier.verify_url(&format!("{HOST}/a?{query}"), "", NOW, None);
        let _ = verifier.verify_url(&format!("{HOST}/a?{query}"), "-PREFIX", NOW, None);
    }

    /// Arbitrary JSON-ish text never panics the policy parser.
    #[test]
    fn policy_parse_never_panics(text in "[{}\\[\\]\":,a-zA-Z0-9 .-]{0,200}") {
        let _ = Policy::parse(text.as_bytes());
    }

    #[test]
    fn base64_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let text = encoding::encode(&bytes);
        prop_assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_~".contains(&b)));
        prop_assert_eq!(encoding::decode(&text).unwrap(), bytes);
    }

    /// The JSON's length is counted exactly, whatever the resource holds.
    #[test]
    fn policy_json_len_is_exact(resource in "\\PC{0,40}", dlt in any::<u64>(), start in proptest::option::of(any::<u64>()), v6 in any::<bool>()) {
        let mut policy = Policy::new(resource, dlt);
        policy.date_greater_than = start;
        if v6 {
            policy = policy.from_ip("2001:db8::/48".parse().unwrap());
        }
        prop_assert_eq!(policy.json_len(), policy.to_json().len());
    }

    /// Canned signing never panics, and refuses exactly the URLs with a wildcard character.
    #[test]
    fn canned_signing_refuses_exactly_the_wildcards(path in "[a-z0-9/.*?=&%-]{0,30}") {
        let signer = signer("ec_p256_pkcs8.pem", HashAlgorithm::Sha1);
        let url = url(&format!("/{path}"));
        match signer.sign_canned(&url, LATER) {
            Err(Error::CannedWildcard(_)) => prop_assert!(url.contains(['*', '?'])),
            Err(Error::ReservedParameter(_)) => {}
            Err(other) => prop_assert!(false, "{other}"),
            Ok(_) => prop_assert!(!url.contains(['*', '?'])),
        }
    }

    /// A literal pattern (no wildcards) matches exactly itself.
    #[test]
    fn literal_resource_matches_only_itself(a in "[a-z/.]{0,20}", b in "[a-z/.]{0,20}") {
        prop_assert_eq!(cloudfront_sign::wildcard_match(&a, &b), a == b);
        let prefix = format!("{a}*");
        prop_assert_eq!(cloudfront_sign::wildcard_match(&prefix, &b), b.starts_with(&a));
    }
}
