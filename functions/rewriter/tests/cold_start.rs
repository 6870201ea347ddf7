//! The real binary's cold start: every setting is validated there, once, and
//! a bad one stops the process with a message naming the variable (issue 11,
//! finding 7), before any request could fail on it.

use std::process::Command;

use signed_hls_aws::testing::{PEM, secret_file};

/// Runs the rewriter binary with `vars` (and no Lambda Runtime API); its exit
/// code and what it printed.
fn cold_start(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let key = secret_file(PEM);
    let out = Command::new(env!("CARGO_BIN_EXE_rewriter"))
        .env_clear()
        .env("SIGNING_KEY_FILE", &key)
        .env("CF_URL", "https://d111111abcdef8.cloudfront.net")
        .env("CF_KEY_ID", "K2JCJMDEHXQW5F")
        .env("S3_BUCKET", "media")
        .env("LOCAL_MEDIA_DIR", std::env::temp_dir())
        .envs(vars.iter().copied())
        .output()
        .expect("the rewriter binary runs");
    let _ = std::fs::remove_file(key);
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

#[test]
fn a_bad_setting_stops_the_cold_start_naming_the_variable() {
    let long_suffix = format!("-{}", "P".repeat(64));
    for (var, value) in [
        ("KEY_PREFIX", long_suffix.as_str()),
        ("KEY_PREFIX", "a/b"),
        ("EXTRA_HOSTS", "cdn.example.com:99999"),
        ("EXTRA_HOSTS", "https://cdn.example.com"),
        ("CF_URL", "https://d111111abcdef8.cloudfront.net/path"),
        ("MAX_PLAYLIST_BYTES", "0"),
        ("AWS_LAMBDA_LOG_LEVEL", "loud"),
    ] {
        let (code, text) = cold_start(&[(var, value)]);
        assert_eq!(code, Some(1), "{var}={value}: {text}");
        assert!(
            text.contains("cold start failed (configuration)") && text.contains(var),
            "{var}={value}: {text}"
        );
    }
}

#[test]
fn a_good_configuration_passes_the_cold_start() {
    // Past every setting, the process stops only because it is not inside
    // Lambda: lambda_runtime asks for its own variables (and panics).
    let (code, text) = cold_start(&[("EXTRA_HOSTS", "cdn.example.com:8443"), ("KEY_PREFIX", "-P.1")]);
    assert_ne!(code, Some(0), "{text}");
    assert!(!text.contains("cold start failed"), "{text}");
    assert!(text.contains("Missing AWS_LAMBDA_"), "{text}");
}
