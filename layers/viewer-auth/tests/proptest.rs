//! No input panics: arbitrary tokens, key sets, cookies and claims.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use viewer_auth::{JwtRules, KeySet, RequestParts, SharedSecretRules, TokenLocations};

const JWKS: &str = include_str!("fixtures/jwks.json");

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

fn json_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| if f.is_finite() {
            f.to_string()
        } else {
            "1e999".to_owned()
        }),
        "[a-z*0-9 ,]{0,12}".prop_map(|s| format!("\"{s}\"")),
        prop::collection::vec("[a-z0-9*]{0,4}", 0..4).prop_map(|v| format!("{v:?}")),
        Just("{}".to_owned()),
        Just("[1, true, null]".to_owned()),
    ]
}

fn claims() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop_oneof![
                Just("iss"),
                Just("aud"),
                Just("exp"),
                Just("nbf"),
                Just("iat"),
                Just("sub"),
                Just("movies"),
                Just("alg"),
                Just("kid"),
                Just("crit")
            ],
            json_value(),
        ),
        0..8,
    )
    .prop_map(|pairs| {
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", body.join(","))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(token in ".{0,600}", now in any::<u64>()) {
        let keys = KeySet::from_json(JWKS.as_bytes()).unwrap();
        let rules = JwtRules::new("https://issuer.test.invalid/", "signed-hls");
        prop_assert!(rules.verify(&token, &keys, now).is_err());
        let shared = SharedSecretRules::new(vec![7u8; 32]).unwrap();
        let _ = shared.verify(&token, now);
        let _ = KeySet::from_json(token.as_bytes());
        let _ = viewer_auth::discovered_jwks_uri(token.as_bytes());
    }

    #[test]
    fn structured_tokens_never_panic(header in claims(), payload in claims(), sig in prop::collection::vec(any::<u8>(), 0..300), now in any::<u64>()) {
        let keys = KeySet::from_json(JWKS.as_bytes()).unwrap();
        let rules = JwtRules::new("https://issuer.test.invalid/", "signed-hls");
        let token = format!("{}.{}.{}", b64(&header), b64(&payload), URL_SAFE_NO_PAD.encode(&sig));
        // Without the private keys, nothing can verify.
        prop_assert!(rules.verify(&token, &keys, now).is_err());
        let shared = SharedSecretRules::new(vec![7u8; 32]).unwrap();
        let minted = shared.mint(&serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null));
        let _ = shared.verify(&minted, now);
    }

    #[test]
    fn arbitrary_jwks_never_panic(kty in prop_oneof![Just("RSA"), Just("EC"), Just("oct"), Just("")],
                                  n in prop::collection::vec(any::<u8>(), 0..600),
                                  e in prop::collection::vec(any::<u8>(), 0..12),
                                  crv in prop_oneof![Just("P-256"), Just("P-384")]) {
        let doc = serde_json::json!({"keys": [{
            "kty": kty, "kid": "k", "crv": crv,
            "n": URL_SAFE_NO_PAD.encode(&n), "e": URL_SAFE_NO_PAD.encode(&e),
            "x": URL_SAFE_NO_PAD.encode(n.get(..32.min(n.len())).unwrap_or_default()),
            "y": URL_SAFE_NO_PAD.encode(e.iter().cycle().take(32).copied().collect::<Vec<u8>>()),
        }]});
        let keys = KeySet::from_json(doc.to_string().as_bytes());
        if let Ok(keys) = keys {
            let rules = JwtRules::new("i", "a");
            let token = format!("{}.{}.{}", b64(r#"{"alg":"RS256","kid":"k"}"#), b64("{}"), URL_SAFE_NO_PAD.encode(&n));
            prop_assert!(rules.verify(&token, &keys, 0).is_err());
        }
    }

    #[test]
    fn token_extraction_never_panics(auth in proptest::option::of(".{0,40}"), header in proptest::option::of(".{0,40}"),
                                     cookie in ".{0,60}", query in proptest::option::of(".{0,20}")) {
        let locations = TokenLocations { cookie: Some("vt".into()), query_param: Some("token".into()) };
        let cookies = [cookie.as_str()];
        let parts = RequestParts { authorization: auth.as_deref(), viewer_token: header.as_deref(), cookies: &cookies, query: query.as_deref() };
        if let Ok(token) = locations.find(&parts) {
            prop_assert!(!token.is_empty());
        }
    }
}
