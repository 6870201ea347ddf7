//! signurl in KMS mode (issue 14): the real aws-sdk-kms client against
//! moto's KMS. The URL is signed by the KMS key (verified by our Verifier and
//! independently in Python), carries `Hash-Algorithm=SHA256`, and viewers in
//! one expiry window share one `kms:Sign` call; a throttled or unreachable
//! KMS answers 503 `key_unavailable`.

use cloudfront_sign::{Credential, CredentialPolicy, Verifier, VerifyingKey, encoding};
use serde_json::json;
use signed_hls_aws::testing::*;
use signed_hls_aws::{Env, SignurlConfig};
use signurl::{Deps, handler};

fn moto() -> &'static MotoServer {
    MotoServer::shared(env!("CARGO_MANIFEST_DIR"))
}

async fn kms_deps(endpoint: &str, key_id: &str, pairs: &[(&str, &str)]) -> Deps {
    let mut env = vec![("KMS_KEY_ID", key_id), ("CF_URL", CF), ("CF_KEY_ID", KEY_ID)];
    env.extend_from_slice(pairs);
    let config = SignurlConfig::from_env(&Env::from_pairs(env)).unwrap();
    let started = started_kms(&config.common, kms_source(endpoint, key_id).await, None).await;
    Deps::new(config, started, signurl::auth::Authorizer::open(), Box::new(|| NOW))
}

fn get(query: &str) -> lambda_runtime::LambdaEvent<aws_lambda_events::apigw::ApiGatewayV2httpRequest> {
    event("GET", "/content/media/signurl", query, json!({}))
}

#[tokio::test]
async fn kms_mode_signs_the_url_with_the_kms_key() {
    for spec in ["RSA_2048", "ECC_NIST_P256"] {
        let (key_id, public_der) = kms_key(&moto().endpoint, spec).await;
        let deps = kms_deps(&moto().endpoint, &key_id, &[]).await;
        let mut verifier = Verifier::new();
        verifier.trust(KEY_ID, VerifyingKey::from_der(&public_der).unwrap());
        let mut urls = Vec::new();
        for _viewer in 0..3 {
            let r = handler(get("movie=1"), &deps).await.unwrap();
            assert_eq!(r.status_code, 200, "{spec}: {}", text(&r));
            urls.push(json_body(&r)["url"].as_str().unwrap().to_owned());
        }
        let url = &urls[0];
        assert!(url.contains("&Hash-Algorithm=SHA256&"), "{spec}: {url}");
        verifier.verify_url(url, "", NOW, None).unwrap();
        verifier.verify_url(url, "-PREFIX", NOW, None).unwrap();
        let credential = Credential::from_query(url.split_once('?').unwrap().1, "").unwrap();
        let CredentialPolicy::Custom { encoded } = credential.policy else {
            panic!("signurl writes a custom policy")
        };
        let signed = (
            encoding::decode(&encoded).unwrap(),
            encoding::decode(&credential.signature).unwrap(),
        );
        verify_in_python(env!("CARGO_MANIFEST_DIR"), &public_der, &[signed]);
        // Three viewers in one window: one KMS call.
        assert!(urls.iter().all(|u| u == url), "{spec}");
        assert_eq!((deps.signatures.hits(), deps.signatures.misses()), (2, 1), "{spec}");
    }
}

#[tokio::test]
async fn kms_refuses_sha1_and_needs_the_key_pair_id() {
    let env = |pairs: &[(&'static str, &'static str)]| {
        let mut all = vec![("KMS_KEY_ID", "alias/cf"), ("CF_URL", CF), ("CF_KEY_ID", KEY_ID)];
        all.extend_from_slice(pairs);
        all.retain(|(k, _)| !pairs.iter().any(|(p, v)| p == k && v.is_empty()));
        SignurlConfig::from_env(&Env::from_pairs(all))
    };
    assert!(env(&[]).is_ok());
    assert_eq!(env(&[("HASH_ALGORITHM", "sha1")]).unwrap_err().var, "HASH_ALGORITHM");
    assert_eq!(env(&[("CF_KEY_ID", "")]).unwrap_err().var, "CF_KEY_ID");
    assert_eq!(env(&[("CF_URL", "")]).unwrap_err().var, "CF_URL");
    assert_eq!(env(&[("SM_SECRET_NAME", "s")]).unwrap_err().var, "KMS_KEY_ID");
}

#[tokio::test]
async fn a_throttled_or_unreachable_kms_answers_503_key_unavailable() {
    let (_, public_der) = kms_key(&moto().endpoint, "ECC_NIST_P256").await;
    let fake = FakeKms::start("ECC_NIST_P256", &public_der, FakeSign::Throttle);
    let deps = kms_deps(&fake.endpoint, "fake", &[]).await;
    let r = handler(get("movie=1"), &deps).await.unwrap();
    assert_eq!((r.status_code, error_type(&r).as_str()), (503, "key_unavailable"));
    assert_eq!(fake.signs(), fast().attempts as usize, "retried with backoff");

    let deps = kms_deps(&closed_endpoint(), "any", &[]).await;
    let r = handler(get("movie=1"), &deps).await.unwrap();
    assert_eq!((r.status_code, error_type(&r).as_str()), (503, "key_unavailable"));
}
