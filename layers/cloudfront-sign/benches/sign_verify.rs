//! Sign and verify one URL with each key kind and hash (`cargo bench -p cloudfront-sign`).

use std::hint::black_box;

use cloudfront_sign::{HashAlgorithm, KeySuffix, Policy, SigningKey, UrlSigner, Verifier};
use criterion::{Criterion, criterion_group, criterion_main};

const URL: &str = "https://d111111abcdef8.cloudfront.net/movies/movie_1/index.m3u8";

fn bench(c: &mut Criterion) {
    let keys = [
        ("rsa2048", include_str!("../tests/fixtures/rsa2048_pkcs1.pem")),
        ("ecdsa_p256", include_str!("../tests/fixtures/ec_p256_pkcs8.pem")),
    ];
    for (key_name, pem) in keys {
        for (hash_name, hash) in [("sha1", HashAlgorithm::Sha1), ("sha256", HashAlgorithm::Sha256)] {
            let signer = UrlSigner::new(
                "K2JCJMDEHXQW5F".parse().unwrap(),
                SigningKey::from_pem(pem).unwrap(),
                hash,
            );
            let policy = Policy::new("https://d111111abcdef8.cloudfront.net/movies/movie_1/*", 1_900_000_000);
            c.bench_function(&format!("sign_custom/{key_name}/{hash_name}"), |b| {
                b.iter(|| signer.sign_policy(black_box(&policy)).unwrap())
            });
            let signed = signer
                .sign_with_policy_and_copies(URL, &policy, &KeySuffix::default())
                .unwrap();
            let mut verifier = Verifier::new();
            verifier.trust("K2JCJMDEHXQW5F", signer.verifying_key());
            c.bench_function(&format!("verify_custom/{key_name}/{hash_name}"), |b| {
                b.iter(|| {
                    verifier
                        .verify_url(black_box(&signed), "-PREFIX", 1_800_000_000, None)
                        .unwrap()
                })
            });
        }
    }
    c.bench_function("parse_key/rsa2048_pkcs1", |b| {
        b.iter(|| SigningKey::from_pem(black_box(keys[0].1)).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
