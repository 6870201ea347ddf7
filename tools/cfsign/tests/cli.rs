//! The cfsign binary end to end: output, exit codes and messages.

use std::process::{Command, Output};

const URL: &str = "https://d111111abcdef8.cloudfront.net/movies/movie_1/index.m3u8";

fn fixture(name: &str) -> String {
    format!(
        "{}/../../layers/cloudfront-sign/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn cfsign(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cfsign")).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap().trim_end().to_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn sign_then_verify_canned() {
    let key = fixture("rsa2048_pkcs8.pem");
    let signed = cfsign(&[
        "sign",
        URL,
        "--key-pair-id",
        "K2JCJMDEHXQW5F",
        "--private-key",
        &key,
        "--expires",
        "1900000000",
    ]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    let url = stdout(&signed);
    assert!(
        url.starts_with(&format!("{URL}?Expires=1900000000&Signature=")),
        "{url}"
    );
    let public = format!("K2JCJMDEHXQW5F={}", fixture("rsa2048_public.pem"));
    let verified = cfsign(&["verify", &url, "--public-key", &public, "--now", "1800000000"]);
    assert_eq!(verified.status.code(), Some(0), "{}", stderr(&verified));
    let report = stdout(&verified);
    assert!(
        report.contains("policy: canned") && report.contains(&format!("resource: {URL}")),
        "{report}"
    );
    let late = cfsign(&["verify", &url, "--public-key", &public, "--now", "1900000000"]);
    assert_eq!(late.status.code(), Some(1));
    assert!(stderr(&late).contains("denied: expired (expired)"), "{}", stderr(&late));
}

#[test]
fn custom_policy_with_copies_ip_and_sha256() {
    let signed = cfsign(&[
        "sign",
        URL,
        "--key-pair-id",
        "K2JCJMDEHXQW5F",
        "--private-key",
        &fixture("ec_p256_sec1.pem"),
        "--expires",
        "1900000000",
        "--resource",
        "https://d111111abcdef8.cloudfront.net/movies/movie_1/*",
        "--not-before",
        "1700000000",
        "--ip",
        "192.0.2.0/24",
        "--hash",
        "sha256",
        "--copies",
        "-PREFIX",
    ]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    let url = stdout(&signed);
    assert!(url.contains("&Hash-Algorithm=SHA256&Policy-PREFIX=") && url.ends_with("&Hash-Algorithm-PREFIX=SHA256"));
    // A private key file is accepted for verification too (its public half is used).
    let key = format!("K2JCJMDEHXQW5F={}", fixture("ec_p256_pkcs8.pem"));
    let args = |ip: &'static str| {
        vec![
            "verify".to_owned(),
            url.clone(),
            "--public-key".into(),
            key.clone(),
            "--now".into(),
            "1800000000".into(),
            "--prefix".into(),
            "-PREFIX".into(),
            "--ip".into(),
            ip.into(),
        ]
    };
    let run = |args: Vec<String>| Command::new(env!("CARGO_BIN_EXE_cfsign")).args(args).output().unwrap();
    let ok = run(args("192.0.2.77"));
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let report = stdout(&ok);
    for line in [
        "policy: custom",
        "hash: sha256",
        "not_before: 1700000000",
        "ip: 192.0.2.0/24",
    ] {
        assert!(report.contains(line), "{line} in {report}");
    }
    let refused = run(args("198.51.100.1"));
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("ip_not_allowed"));
}

#[test]
fn failed_checks_exit_1_with_the_reason() {
    let url = stdout(&cfsign(&[
        "sign",
        URL,
        "--key-pair-id",
        "K2JCJMDEHXQW5F",
        "--private-key",
        &fixture("rsa2048_pkcs1.pem"),
        "--ttl",
        "600",
    ]));
    let other = format!("K2JCJMDEHXQW5F={}", fixture("rsa2048_other_public.pem"));
    let forged = cfsign(&["verify", &url, "--public-key", &other]);
    assert_eq!(forged.status.code(), Some(1));
    assert!(stderr(&forged).contains("bad signature (bad_signature)"));
    let unknown = cfsign(&[
        "verify",
        &url,
        "--public-key",
        &format!("KNOTTHISONE={}", fixture("rsa2048_public.pem")),
    ]);
    assert!(stderr(&unknown).contains("unknown_key"));
    let prefixed = cfsign(&["verify", &url, "--public-key", &other, "--prefix", "-PREFIX"]);
    assert!(stderr(&prefixed).contains("missing parameter Policy-PREFIX"));
}

#[test]
fn a_canned_signature_for_a_wildcard_url_is_refused_with_the_way_out() {
    let key = fixture("rsa2048_pkcs8.pem");
    for url in [
        "https://d111111abcdef8.cloudfront.net/movies/movie_1/seg2.ts?v=1",
        "https://d111111abcdef8.cloudfront.net/movies/movie_1/seg*.ts",
    ] {
        let args = [
            "sign",
            url,
            "--key-pair-id",
            "K2JCJMDEHXQW5F",
            "--private-key",
            &key,
            "--expires",
            "1900000000",
        ];
        let refused = cfsign(&args);
        assert_eq!(refused.status.code(), Some(2), "{url}");
        assert!(stdout(&refused).is_empty());
        let message = stderr(&refused);
        assert!(
            message.contains("canned policy") && message.contains("wildcards"),
            "{message}"
        );
        assert!(message.contains(&format!("--resource \"{url}\"")), "{message}");
        // With --resource, the operator chooses the grant: a custom policy.
        let mut custom = args.to_vec();
        custom.extend(["--resource", url]);
        let signed = cfsign(&custom);
        assert!(signed.status.success(), "{}", stderr(&signed));
        assert!(stdout(&signed).contains("Policy="));
    }
}

#[test]
fn usage_errors_exit_2() {
    let key = fixture("rsa2048_pkcs1.pem");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "sign",
                URL,
                "--key-pair-id",
                "K1",
                "--private-key",
                "/nonexistent.pem",
                "--ttl",
                "1",
            ],
            "cannot read /nonexistent.pem",
        ),
        (
            vec!["sign", URL, "--key-pair-id", "K1", "--private-key", &key],
            "--expires",
        ),
        (
            vec![
                "sign",
                URL,
                "--key-pair-id",
                "K1",
                "--private-key",
                &key,
                "--ttl",
                "1",
                "--expires",
                "5",
            ],
            "cannot be used with",
        ),
        (
            vec![
                "sign",
                "not-a-url",
                "--key-pair-id",
                "K1",
                "--private-key",
                &key,
                "--ttl",
                "1",
            ],
            "not an absolute http(s) url",
        ),
        (
            vec!["sign", URL, "--key-pair-id", "K 1", "--private-key", &key, "--ttl", "1"],
            "--key-pair-id: invalid key pair id \"K 1\": expected 1 to 128 letters and digits",
        ),
        (
            vec![
                "sign",
                URL,
                "--key-pair-id",
                "K1",
                "--private-key",
                &key,
                "--ttl",
                "1",
                "--copies",
                "-P&x",
            ],
            "--copies: invalid key suffix \"-P&x\": expected 1 to 64 characters of A-Z a-z 0-9 - _ .",
        ),
        (
            vec!["verify", URL, "--public-key", "K1=/dev/null", "--prefix", "-P REFIX"],
            "--prefix: invalid key suffix \"-P REFIX\"",
        ),
        (
            vec![
                "sign",
                URL,
                "--key-pair-id",
                "K1",
                "--private-key",
                &key,
                "--ttl",
                "1",
                "--hash",
                "md5",
            ],
            "--hash: invalid hash algorithm \"md5\": expected sha1 or sha256",
        ),
        (
            vec![
                "sign",
                URL,
                "--key-pair-id",
                "K1",
                "--private-key",
                &key,
                "--ttl",
                "1",
                "--ip",
                "1.2.3.4/99",
            ],
            "invalid ip",
        ),
        (
            vec![
                "sign",
                URL,
                "--key-pair-id",
                "K1",
                "--private-key",
                &key,
                "--ttl",
                "1",
                "--resource",
                "https://other/*",
            ],
            "does not match",
        ),
        (vec!["verify", URL, "--public-key", "K1"], "expected ID=FILE"),
        (vec!["verify", URL], "--public-key"),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ];
    for (args, expected) in cases {
        let output = cfsign(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: expected {expected:?} in {}",
            stderr(&output)
        );
    }
    let bad_key = cfsign(&[
        "sign",
        URL,
        "--key-pair-id",
        "K1",
        "--private-key",
        &fixture("rsa1024_too_small.pem"),
        "--ttl",
        "1",
    ]);
    assert_eq!(bad_key.status.code(), Some(2));
    assert!(stderr(&bad_key).contains("1024 bits"));
}

fn cfsign_stdin(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cfsign"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A usage error exits before reading stdin: a broken pipe is not the test's concern.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn rewrite_signs_a_playlist_from_stdin() {
    let key = fixture("rsa2048_pkcs1.pem");
    let args = [
        "rewrite",
        "--url",
        URL,
        "--private-key",
        &key,
        "--key-pair-id",
        "K2JCJMDEHXQW5F",
        "--expires",
        "1900000000",
    ];
    let playlist = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\nhttps://other.example/x.m3u8\n";
    let output = cfsign_stdin(&args, playlist.as_bytes());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[2].starts_with("v0/index.m3u8?Policy="), "{out}");
    assert!(
        lines[2].contains("&Policy-PREFIX="),
        "child playlists carry the prefixed copies: {out}"
    );
    assert_eq!(lines[4], "https://other.example/x.m3u8");
    assert!(
        stderr(&output).contains("master playlist: 1 uris signed, 1 untouched"),
        "{}",
        stderr(&output)
    );
    // The signed child URL verifies as CloudFront would.
    let child = format!("https://d111111abcdef8.cloudfront.net/movies/movie_1/{}", lines[2]);
    let verified = cfsign(&[
        "verify",
        &child,
        "--public-key",
        &format!("K2JCJMDEHXQW5F={key}"),
        "--now",
        "1800000000",
    ]);
    assert_eq!(verified.status.code(), Some(0), "{}", stderr(&verified));

    let not_a_playlist = cfsign_stdin(&args, b"\xff\xd8\xff\xe0JFIF");
    assert_eq!(not_a_playlist.status.code(), Some(1));
    assert!(!stderr(&not_a_playlist).is_empty());
    let mut bad_mode = args.to_vec();
    bad_mode.extend(["--mode", "sideways"]);
    assert_eq!(cfsign_stdin(&bad_mode, playlist.as_bytes()).status.code(), Some(2));
    // Configuration errors name the flag, the value and the rule.
    for (flag, value, expected) in [
        (
            "--prefix",
            "",
            "--prefix: invalid key suffix \"\": expected 1 to 64 characters",
        ),
        ("--prefix", "-P=", "--prefix: invalid key suffix \"-P=\""),
        ("--key-pair-id", "K/1", "--key-pair-id: invalid key pair id \"K/1\""),
        (
            "--host",
            "cdn.example/x",
            "--host: invalid host \"cdn.example/x\": expected host or host:port",
        ),
    ] {
        let mut bad = args.to_vec();
        match bad.iter().position(|a| *a == flag) {
            Some(at) => bad[at + 1] = value,
            None => bad.extend([flag, value]),
        }
        let output = cfsign_stdin(&bad, playlist.as_bytes());
        assert_eq!(output.status.code(), Some(2), "{flag} {value:?}");
        assert!(stderr(&output).contains(expected), "{}", stderr(&output));
        assert!(output.stdout.is_empty());
    }
}
