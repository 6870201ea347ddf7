//! cfsign with a key in AWS KMS (`--kms-key-id`, the real SDK against
//! moto), and `verify` explaining a hash parameter that is missing or wrong
//! for the signature (issue 14).

use std::process::{Command, Output};

use cloudfront_sign::VerifyingKey;
use signed_hls_aws::testing::{MotoServer, kms_key};

const URL: &str = "https://d111111abcdef8.cloudfront.net/movies/movie_1/index.m3u8";

fn moto() -> &'static MotoServer {
    MotoServer::shared(env!("CARGO_MANIFEST_DIR"))
}

/// cfsign with moto as AWS and dummy credentials.
fn cfsign(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cfsign"))
        .args(args)
        .env("AWS_ENDPOINT_URL", &moto().endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim_end().to_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A KMS key in moto and its public key in a PEM file.
fn key(spec: &str) -> (String, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (id, der) = runtime.block_on(kms_key(&moto().endpoint, spec));
    let path = std::env::temp_dir().join(format!("cfsign-kms-{}-{id}.pem", std::process::id()));
    std::fs::write(&path, VerifyingKey::from_der(&der).unwrap().to_pem()).unwrap();
    (id, path.to_str().unwrap().to_owned())
}

#[test]
fn sign_and_rewrite_with_a_kms_key_then_verify() {
    for spec in ["RSA_2048", "ECC_NIST_P256"] {
        let (id, public) = key(spec);
        let trusted = format!("K2JCJMDEHXQW5F={public}");
        for extra in [
            &[][..],
            &["--resource", "https://d111111abcdef8.cloudfront.net/movies/*"][..],
        ] {
            let mut args = vec![
                "sign",
                URL,
                "--key-pair-id",
                "K2JCJMDEHXQW5F",
                "--kms-key-id",
                &id,
                "--expires",
                "1900000000",
            ];
            args.extend_from_slice(extra);
            let signed = cfsign(&args, b"");
            assert!(signed.status.success(), "{spec}: {}", err(&signed));
            let url = out(&signed);
            assert!(url.contains("&Hash-Algorithm=SHA256"), "{spec}: {url}");
            let ok = cfsign(&["verify", &url, "--public-key", &trusted, "--now", "1800000000"], b"");
            assert!(ok.status.success(), "{spec}: {}", err(&ok));
            assert!(out(&ok).contains("hash: sha256"));

            // Without its Hash-Algorithm, CloudFront checks SHA-1: verify says why.
            let stripped = url.replace("&Hash-Algorithm=SHA256", "");
            let refused = cfsign(
                &["verify", &stripped, "--public-key", &trusted, "--now", "1800000000"],
                b"",
            );
            assert_eq!(refused.status.code(), Some(1), "{spec}");
            assert!(err(&refused).contains("bad_signature"), "{}", err(&refused));
            assert!(
                err(&refused).contains("valid with SHA-256, but the url has no Hash-Algorithm"),
                "{}",
                err(&refused)
            );
        }

        let playlist =
            b"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg1.ts\n#EXTINF:4,\nv/seg2.ts\n#EXT-X-ENDLIST\n";
        let rewritten = cfsign(
            &[
                "rewrite",
                "--url",
                URL,
                "--key-pair-id",
                "K2JCJMDEHXQW5F",
                "--kms-key-id",
                &id,
                "--expires",
                "1900000000",
            ],
            playlist,
        );
        assert!(rewritten.status.success(), "{spec}: {}", err(&rewritten));
        let body = out(&rewritten);
        let segments: Vec<&str> = body.lines().filter(|l| l.contains(".ts?")).collect();
        assert_eq!(segments.len(), 2);
        for segment in segments {
            let absolute = format!("https://d111111abcdef8.cloudfront.net/movies/movie_1/{segment}");
            let ok = cfsign(
                &["verify", &absolute, "--public-key", &trusted, "--now", "1800000000"],
                b"",
            );
            assert!(ok.status.success(), "{spec}: {}", err(&ok));
        }
    }
}

#[test]
fn kms_keys_sign_sha256_only() {
    let (id, _) = key("ECC_NIST_P256");
    let refused = cfsign(
        &[
            "sign",
            URL,
            "--key-pair-id",
            "K2JCJMDEHXQW5F",
            "--kms-key-id",
            &id,
            "--expires",
            "1900000000",
            "--hash",
            "sha1",
        ],
        b"",
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(err(&refused).contains("SHA-256 only"), "{}", err(&refused));
}

#[test]
fn verify_explains_a_hash_parameter_the_signature_does_not_match() {
    let key = format!(
        "{}/../../layers/cloudfront-sign/tests/fixtures/rsa2048_pkcs1.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    // Signed with SHA-1, but the URL claims SHA-256.
    let signed = cfsign(
        &[
            "sign",
            URL,
            "--key-pair-id",
            "K2JCJMDEHXQW5F",
            "--private-key",
            &key,
            "--expires",
            "1900000000",
        ],
        b"",
    );
    assert!(signed.status.success(), "{}", err(&signed));
    let claimed = format!("{}&Hash-Algorithm=SHA256", out(&signed));
    let trusted = format!("K2JCJMDEHXQW5F={key}");
    let refused = cfsign(
        &["verify", &claimed, "--public-key", &trusted, "--now", "1800000000"],
        b"",
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        err(&refused).contains("valid with SHA-1, but the url says Hash-Algorithm=SHA256"),
        "{}",
        err(&refused)
    );
}
