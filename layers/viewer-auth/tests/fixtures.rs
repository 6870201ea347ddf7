//! Tokens minted by PyJWT (tests/auth/generate_tokens.py), checked case by case.

use serde_json::Value;
use viewer_auth::{AuthError, JwtRules, KeySet, SharedSecretRules, Viewer};

const TOKENS: &str = include_str!("fixtures/tokens.json");
const JWKS: &str = include_str!("fixtures/jwks.json");
const ROTATED: &str = include_str!("fixtures/jwks-rotated.json");

fn name(e: &AuthError) -> &'static str {
    match e {
        AuthError::Missing => "missing",
        AuthError::TooLarge(_) => "too_large",
        AuthError::Malformed(_) => "malformed",
        AuthError::AlgorithmNotAllowed => "algorithm",
        AuthError::UnknownKey => "unknown_key",
        AuthError::BadSignature => "bad_signature",
        AuthError::Issuer => "issuer",
        AuthError::Audience => "audience",
        AuthError::NoExpiry => "no_expiry",
        AuthError::Expired => "expired",
        AuthError::NotYetValid => "not_yet_valid",
        AuthError::LifetimeTooLong(_) => "lifetime",
        AuthError::NotEntitled => "not_entitled",
        _ => "other",
    }
}

fn strings(case: &Value, field: &str) -> Vec<String> {
    case.get(field)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn check(case: &Value, outcome: Result<Viewer, AuthError>, expect: &str) {
    let label = case["name"].as_str().unwrap();
    match outcome {
        Ok(viewer) => {
            assert_eq!(expect, "ok", "{label}: accepted, expected {expect}");
            for movie in strings(case, "allow") {
                assert_eq!(viewer.authorize(&movie), Ok(()), "{label}: movie {movie}");
            }
            for movie in strings(case, "deny") {
                let e = viewer.authorize(&movie).unwrap_err();
                assert_eq!((e.status(), name(&e)), (403, "not_entitled"), "{label}: movie {movie}");
            }
        }
        Err(e) => {
            assert_eq!(name(&e), expect, "{label}: got {e}");
            assert_eq!(e.status(), 401, "{label}");
            let header = e.www_authenticate().unwrap();
            assert!(header.contains("error=\"invalid_token\""), "{label}: {header}");
            assert!(
                !header.contains(case["token"].as_str().unwrap()),
                "{label}: token echoed"
            );
        }
    }
}

#[test]
fn every_case() {
    let doc: Value = serde_json::from_str(TOKENS).unwrap();
    let now = doc["now"].as_u64().unwrap();
    let keys = KeySet::from_json(JWKS.as_bytes()).unwrap();
    let rotated = KeySet::from_json(ROTATED.as_bytes()).unwrap();
    assert_eq!(
        keys.kids(),
        vec![Some("rsa-1"), Some("ec-1")],
        "enc and OKP keys skipped"
    );
    let jwt = JwtRules::new(doc["issuer"].as_str().unwrap(), doc["audience"].as_str().unwrap());
    let mut shared = SharedSecretRules::new(doc["secret"].as_str().unwrap().as_bytes().to_vec()).unwrap();
    shared.max_lifetime = doc["max_lifetime"].as_u64().unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 40);
    for case in cases {
        let token = case["token"].as_str().unwrap();
        let expect = case["expect"].as_str().unwrap();
        if case["kind"] == "shared" {
            check(case, shared.verify(token, now), expect);
        } else {
            check(case, jwt.verify(token, &keys, now), expect);
            if let Some(after) = case.get("rotated").and_then(Value::as_str) {
                check(case, jwt.verify(token, &rotated, now), after);
            }
        }
    }
}

#[test]
fn algorithms_can_be_narrowed() {
    let doc: Value = serde_json::from_str(TOKENS).unwrap();
    let now = doc["now"].as_u64().unwrap();
    let keys = KeySet::from_json(JWKS.as_bytes()).unwrap();
    let mut jwt = JwtRules::new(doc["issuer"].as_str().unwrap(), doc["audience"].as_str().unwrap());
    jwt.algorithms = vec![viewer_auth::Algorithm::Rs256];
    let es = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "es256 valid")
        .unwrap();
    assert_eq!(
        jwt.verify(es["token"].as_str().unwrap(), &keys, now),
        Err(AuthError::AlgorithmNotAllowed)
    );
}

#[test]
fn jwks_documents() {
    assert!(KeySet::from_json(b"[]").is_err());
    assert!(KeySet::from_json(b"{}").is_err());
    assert!(KeySet::from_json(b"not json").is_err());
    assert!(KeySet::from_json(&vec![b' '; viewer_auth::MAX_JWKS_BYTES + 1]).is_err());
    assert!(KeySet::from_json(br#"{"keys": []}"#).unwrap().is_empty());
    // Small RSA moduli, EC points off the curve, wrong curves: skipped.
    let weak = r#"{"keys":[{"kty":"RSA","kid":"small","n":"sXch","e":"AQAB"},
        {"kty":"EC","crv":"P-256","kid":"off","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
        {"kty":"EC","crv":"P-384","kid":"p384","x":"AA","y":"AA"},
        {"kty":"RSA","kid":"alg-mismatch","alg":"ES256","n":"AQAB","e":"AQAB"}]}"#;
    assert!(KeySet::from_json(weak.as_bytes()).unwrap().is_empty());
}

#[test]
fn missing_token_header_has_no_error_attribute() {
    assert_eq!(
        AuthError::Missing.www_authenticate().as_deref(),
        Some("Bearer realm=\"signed-hls\"")
    );
    assert_eq!(
        AuthError::Expired.www_authenticate().as_deref(),
        Some("Bearer realm=\"signed-hls\", error=\"invalid_token\", error_description=\"invalid token: expired\"")
    );
    assert_eq!(AuthError::NotEntitled.www_authenticate(), None);
    assert_eq!(AuthError::NotEntitled.status(), 403);
}

#[test]
fn the_readme_openssl_recipe_mints_a_valid_token() {
    // Made by the shell recipe in the README (b64url + openssl dgst -hmac),
    // with exp = fixtures' now + 300 and the fixtures' secret.
    let token = include_str!("fixtures/openssl-minted.txt").trim();
    let doc: Value = serde_json::from_str(TOKENS).unwrap();
    let rules = SharedSecretRules::new(doc["secret"].as_str().unwrap().as_bytes().to_vec()).unwrap();
    let viewer = rules.verify(token, doc["now"].as_u64().unwrap()).unwrap();
    assert_eq!(viewer.expires, doc["now"].as_u64().unwrap() + 300);
    assert!(viewer.authorize("1").is_ok() && viewer.authorize("2").is_err());
}
