//! Reading keys in every format OpenSSL and AWS write, and refusing the rest
//! with a message that names the format found and never the key bytes.

use cloudfront_sign::{Error, HashAlgorithm, KeyKind, SigningKey, VerifyingKey};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn pem(name: &str) -> String {
    String::from_utf8(fixture(name)).unwrap()
}

#[test]
fn rsa_pkcs1_pkcs8_pem_and_der_are_the_same_key() {
    let forms = [
        SigningKey::from_pem(&pem("rsa2048_pkcs1.pem")).unwrap(),
        SigningKey::from_pem(&pem("rsa2048_pkcs8.pem")).unwrap(),
        SigningKey::from_der(&fixture("rsa2048_pkcs1.der")).unwrap(),
        SigningKey::from_der(&fixture("rsa2048_pkcs8.der")).unwrap(),
    ];
    let public = VerifyingKey::from_pem(&pem("rsa2048_public.pem")).unwrap();
    let public_pkcs1 = VerifyingKey::from_pem(&pem("rsa2048_public_pkcs1.pem")).unwrap();
    assert_eq!(public, public_pkcs1);
    for key in &forms {
        assert_eq!(key.kind(), KeyKind::Rsa { bits: 2048 });
        assert_eq!(key.verifying_key(), public);
        for hash in [HashAlgorithm::Sha1, HashAlgorithm::Sha256] {
            let signature = key.sign(b"policy", hash).unwrap();
            assert_eq!(signature.len(), 256);
            assert!(public.verify(b"policy", &signature, hash));
            assert!(!public.verify(b"policy!", &signature, hash));
            let other = if hash == HashAlgorithm::Sha1 {
                HashAlgorithm::Sha256
            } else {
                HashAlgorithm::Sha1
            };
            assert!(!public.verify(b"policy", &signature, other));
        }
    }
    // PKCS#1 v1.5 is deterministic: every form signs identically.
    let first = forms[0].sign(b"x", HashAlgorithm::Sha1).unwrap();
    assert!(
        forms
            .iter()
            .all(|k| k.sign(b"x", HashAlgorithm::Sha1).unwrap() == first)
    );
}

#[test]
fn larger_rsa_keys_are_accepted() {
    let key = SigningKey::from_pem(&pem("rsa3072_pkcs8.pem")).unwrap();
    assert_eq!(key.kind(), KeyKind::Rsa { bits: 3072 });
    assert_eq!(key.kind().to_string(), "RSA-3072");
}

#[test]
fn ecdsa_p256_sec1_pkcs8_and_der_are_the_same_key() {
    let public = VerifyingKey::from_pem(&pem("ec_p256_public.pem")).unwrap();
    for key in [
        SigningKey::from_pem(&pem("ec_p256_sec1.pem")).unwrap(),
        SigningKey::from_pem(&pem("ec_p256_pkcs8.pem")).unwrap(),
        SigningKey::from_der(&fixture("ec_p256_sec1.der")).unwrap(),
    ] {
        assert_eq!(key.kind(), KeyKind::EcdsaP256);
        assert_eq!(key.verifying_key(), public);
        for hash in [HashAlgorithm::Sha1, HashAlgorithm::Sha256] {
            let signature = key.sign(b"policy", hash).unwrap();
            assert!(public.verify(b"policy", &signature, hash));
            assert!(!public.verify(b"other", &signature, hash));
        }
    }
}

#[test]
fn public_pem_round_trips() {
    for name in ["rsa2048_public.pem", "ec_p256_public.pem"] {
        let key = VerifyingKey::from_pem(&pem(name)).unwrap();
        assert_eq!(key.to_pem(), pem(name), "{name}");
    }
}

#[test]
fn pem_tolerates_crlf_indentation_and_surrounding_text() {
    let original = pem("rsa2048_pkcs1.pem");
    let messy = format!(
        "key follows:\r\n{}\r\ntrailing words\r\n",
        original.replace('\n', "\r\n  ")
    );
    assert_eq!(
        SigningKey::from_pem(&messy).unwrap().verifying_key(),
        SigningKey::from_pem(&original).unwrap().verifying_key()
    );
}

fn key_error(text: &str) -> String {
    let err = SigningKey::from_pem(text).unwrap_err();
    err.to_string()
}

#[test]
fn refusals_name_the_format_found() {
    let cases = [
        (pem("rsa1024_too_small.pem"), "RSA key of 1024 bits"),
        (pem("rsa2048_encrypted.pem"), "\"ENCRYPTED PRIVATE KEY\" (an encrypted PKCS#8 key"),
        (pem("ec_p384_wrong_curve.pem"), "SEC1 EC key that is not a valid P-256 key"),
        (pem("ed25519_unsupported.pem"), "Ed25519"),
        (pem("rsa2048_public.pem"), "found PEM \"PUBLIC KEY\" (a public key), expected a private key"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(), "a certificate"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n".into(), "OpenSSH"),
        ("-----BEGIN RSA PRIVATE KEY-----\nnot base64!\n-----END RSA PRIVATE KEY-----\n".into(), "not valid base64"),
        ("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n".into(), "no END line"),
        ("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n".into(), "PKCS#1 RSA private key that does not parse"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(), "PKCS#8 key that is neither"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n".into(),
            "encrypted",
        ),
        ("just some text".into(), "not PEM: no -----BEGIN line"),
        ("\u{0}\u{1}binary".into(), "binary data"),
        (String::new(), "not PEM"),
    ];
    for (text, expected) in cases {
        let message = key_error(&text);
        assert!(message.starts_with("invalid key"), "{message}");
        assert!(message.contains(expected), "expected {expected:?} in {message:?}");
    }
}

#[test]
fn errors_and_debug_never_show_key_bytes() {
    let text = pem("rsa2048_pkcs1.pem");
    let body_line = text.lines().nth(1).unwrap();
    let key = SigningKey::from_pem(&text).unwrap();
    assert_eq!(format!("{key:?}"), "SigningKey(RSA-2048)");
    // Break the key in the middle: the error must not echo any of it.
    let broken = text.replacen(body_line, &body_line[..body_line.len() - 4], 1);
    let message = key_error(&broken);
    for chunk in body_line.as_bytes().chunks(8) {
        assert!(!message.contains(std::str::from_utf8(chunk).unwrap()), "{message}");
    }
}

#[test]
fn der_that_is_not_a_key_is_refused() {
    assert!(matches!(
        SigningKey::from_der(b"\x30\x03\x02\x01\x00"),
        Err(Error::Key(_))
    ));
    assert!(matches!(SigningKey::from_der(b""), Err(Error::Key(_))));
    assert!(matches!(VerifyingKey::from_der(b"\x30\x00"), Err(Error::Key(_))));
}

#[test]
fn public_key_refusals() {
    let message = VerifyingKey::from_pem(&pem("rsa2048_pkcs1.pem"))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("found PEM \"RSA PRIVATE KEY\" (a private key), expected a public key"),
        "{message}"
    );
}

fn hex(bytes: [u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn fingerprints_are_sha256_of_the_spki_der_as_openssl_prints_them() {
    // openssl pkey -pubin -in FILE -outform DER | sha256sum
    let golden = [
        (
            "rsa2048_public.pem",
            "rsa2048_pkcs1.pem",
            "115bd445fd3670ba31e5a2599da25f97c43c75a157c4a866287f13e76966f0fe",
        ),
        (
            "ec_p256_public.pem",
            "ec_p256_sec1.pem",
            "58e46a79d4eea09f0b57d52b3ed065d138786c4344b814da7cc17309d9780279",
        ),
        (
            "rsa2048_other_public.pem",
            "rsa2048_other.pem",
            "05f829731358f094a844b20ab841e40891dade577bb0f6803c19d06f9586852e",
        ),
    ];
    for (public, private, expected) in golden {
        assert_eq!(
            hex(VerifyingKey::from_pem(&pem(public)).unwrap().fingerprint()),
            expected
        );
        let key = SigningKey::from_pem(&pem(private)).unwrap();
        assert_eq!(hex(key.verifying_key().fingerprint()), expected, "{private}");
        let signer = cloudfront_sign::UrlSigner::new("K1".parse().unwrap(), key, HashAlgorithm::Sha256);
        assert_eq!(hex(signer.fingerprint()), expected, "{private}");
    }
    // The same key in another encoding has the same fingerprint.
    let pkcs1 = VerifyingKey::from_pem(&pem("rsa2048_public_pkcs1.pem")).unwrap();
    assert_eq!(hex(pkcs1.fingerprint()), golden[0].2);
}

#[test]
fn hash_algorithm_names_parse_in_any_case_and_a_typo_is_a_configuration_error() {
    for (text, hash) in [
        ("sha1", HashAlgorithm::Sha1),
        ("SHA1", HashAlgorithm::Sha1),
        ("Sha256", HashAlgorithm::Sha256),
    ] {
        assert_eq!(text.parse::<HashAlgorithm>(), Ok(hash));
    }
    let typo = "sha-256".parse::<HashAlgorithm>().unwrap_err();
    assert_eq!(typo, Error::HashAlgorithm("sha-256".into()));
    assert_eq!(
        typo.to_string(),
        "invalid hash algorithm \"sha-256\": expected sha1 or sha256"
    );
}
