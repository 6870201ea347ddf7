use super::*;

fn env(pairs: &[(&str, &str)]) -> Env {
    Env::from_pairs(pairs.iter().copied())
}

#[test]
fn defaults() {
    let c = CommonConfig::from_env(&env(&[("SM_SECRET_NAME", "arn:x")])).unwrap();
    assert_eq!(c.key_suffix.as_str(), "-PREFIX");
    assert_eq!(c.hash, HashAlgorithm::Sha1);
    assert_eq!(c.key_refresh, Duration::from_secs(3600));
    assert!(!c.cors.is_configured());
    assert!(!c.bind_viewer_ip && !c.s3_path_style);
    assert_eq!(c.key_source, KeySourceConfig::SecretsManager("arn:x".into()));
    let s = SignurlConfig::from_env(&env(&[("SM_SECRET_NAME", "s")])).unwrap();
    assert_eq!((s.ttl_seconds, s.not_before_skew, s.check_bucket), (21_600, None, None));
    assert_eq!(s.template.key("7"), "movies/movie_7/index.m3u8");
    assert_eq!(s.auth.mode, Mode::None);
    assert!(!s.auth.bind_token_expiry);
    assert_eq!((s.auth.leeway, s.auth.movies_claim.as_str()), (60, "movies"));
    let r = RewriterConfig::from_env(&env(&[("SM_SECRET_NAME", "s"), ("S3_BUCKET", "b")])).unwrap();
    assert_eq!(
        (r.media_prefix.as_str(), r.strategy, r.max_playlist_bytes),
        ("movies/", Strategy::Resign, 16_777_216)
    );
    assert_eq!(
        (r.raw_cache_ttl, r.raw_cache_bytes),
        (Duration::from_secs(60), 64 * 1024 * 1024)
    );
}

#[test]
fn errors_name_the_variable() {
    assert_eq!(CommonConfig::from_env(&env(&[])).unwrap_err().var, "SM_SECRET_NAME");
    let too_long = "a".repeat(65);
    for (var, value) in [
        ("HASH_ALGORITHM", "md5"),
        ("BIND_VIEWER_IP", "maybe"),
        ("KEY_REFRESH_SECONDS", "-1"),
        ("CF_URL", "ftp://x"),
        ("CF_URL", "https://x/path"),
        ("CF_URL", "https://x:0"),
        ("CF_URL", "https://x:99999"),
        ("CF_KEY_ID", "K 1"),
        ("KEY_PREFIX", "a/b"),
        ("KEY_PREFIX", too_long.as_str()),
        ("CORS_ALLOWED_ORIGINS", "example.com"),
    ] {
        let e = CommonConfig::from_env(&env(&[("SIGNING_KEY_FILE", "k.pem"), (var, value)])).unwrap_err();
        assert_eq!(e.var, var, "{value}");
        assert!(e.to_string().contains(var));
    }
    for (var, value) in [
        ("PLAYLIST_KEY_TEMPLATE", "x.m3u8"),
        ("URL_TTL_SECONDS", "abc"),
        ("URL_TTL_SECONDS", "0"),
        ("NOT_BEFORE_SKEW_SECONDS", "-5"),
        ("AUTH_MODE", "oidc"),
    ] {
        let e = SignurlConfig::from_env(&env(&[("SM_SECRET_NAME", "s"), (var, value)])).unwrap_err();
        assert_eq!(e.var, var, "{value}");
    }
    let e = SignurlConfig::from_env(&env(&[("SM_SECRET_NAME", "s"), ("CHECK_PLAYLIST_EXISTS", "true")])).unwrap_err();
    assert_eq!(e.var, "S3_BUCKET");
    for (var, value) in [
        ("REWRITE_MODE", "fast"),
        ("MEDIA_PREFIX", "/movies/"),
        ("MEDIA_PREFIX", "movies"),
        ("MEDIA_PREFIX", "../"),
        ("MAX_PLAYLIST_BYTES", "0"),
        ("MAX_PLAYLIST_BYTES", "1073741825"),
        ("TRUSTED_PUBLIC_KEYS", "[]"),
        ("TRUSTED_PUBLIC_KEYS", r#"{"K1": "not a pem"}"#),
        ("TRUSTED_PUBLIC_KEYS", r#"{"K 1": "x"}"#),
        ("EXTRA_HOSTS", "https://x.example"),
        ("EXTRA_HOSTS", "cdn.example:99999"),
        ("EXTRA_HOSTS", "cdn.example:0"),
        ("RAW_CACHE_SECONDS", "86401"),
        ("RAW_CACHE_SECONDS", "1.5"),
        ("RAW_CACHE_BYTES", "-1"),
        ("RAW_CACHE_BYTES", "1073741825"),
    ] {
        let e =
            RewriterConfig::from_env(&env(&[("SM_SECRET_NAME", "s"), ("S3_BUCKET", "b"), (var, value)])).unwrap_err();
        assert_eq!(e.var, var, "{value}");
    }
    assert_eq!(
        RewriterConfig::from_env(&env(&[("SM_SECRET_NAME", "s")]))
            .unwrap_err()
            .var,
        "S3_BUCKET"
    );
}

#[test]
fn key_pair_id_and_base_url_from_the_secret() {
    let c = CommonConfig::from_env(&env(&[("SIGNING_KEY_FILE", "k.pem")])).unwrap();
    assert_eq!(resolve_key_pair_id(None, Some("KABC")).unwrap().as_str(), "KABC");
    assert_eq!(resolve_key_pair_id(None, None).unwrap_err().var, "CF_KEY_ID");
    assert_eq!(resolve_key_pair_id(None, Some("K 1")).unwrap_err().var, "CF_KEY_ID");
    // The secret's id wins over CF_KEY_ID: the key and its id rotate together.
    let kenv = KeyPairId::new("KENV").unwrap();
    assert_eq!(
        resolve_key_pair_id(Some(&kenv), Some("KSECRET")).unwrap().as_str(),
        "KSECRET"
    );
    assert_eq!(resolve_key_pair_id(Some(&kenv), None).unwrap(), kenv);
    let base = c.base_url(Some("https://D1.cloudfront.net/")).unwrap();
    assert_eq!(
        (base.url.as_str(), base.authority.as_str()),
        ("https://d1.cloudfront.net", "d1.cloudfront.net")
    );
    assert_eq!(c.base_url(None).unwrap_err().var, "CF_URL");
    let c = CommonConfig::from_env(&env(&[("SIGNING_KEY_FILE", "k"), ("CF_URL", "http://127.0.0.1:9000")])).unwrap();
    let base = c.base_url(Some("https://ignored")).unwrap();
    assert_eq!(
        (base.url.as_str(), base.authority.as_str()),
        ("http://127.0.0.1:9000", "127.0.0.1:9000")
    );
}

#[test]
fn base_urls_drop_the_default_port() {
    for (text, url) in [
        ("https://d1.cloudfront.net:443", "https://d1.cloudfront.net"),
        ("https://D1.cloudfront.net:443/", "https://d1.cloudfront.net"),
        ("http://localhost:80", "http://localhost"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("https://d1.cloudfront.net:80", "https://d1.cloudfront.net:80"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("https://[::1]:443", "https://[::1]"),
    ] {
        assert_eq!(BaseUrl::parse(text).unwrap().url, url, "{text}");
    }
    for bad in [
        "https://",
        "https://:443",
        "https://x:",
        "https://x:y",
        "https://[::1",
        "https://a@b",
    ] {
        assert!(BaseUrl::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn auth_defaults_and_errors() {
    let s = auth_settings(&env(&[
        ("AUTH_MODE", "jwt"),
        ("JWT_ISSUER", "https://id.example.com/"),
        ("JWT_AUDIENCE", "signed-hls"),
    ]))
    .unwrap();
    assert!(s.bind_token_expiry);
    let Mode::Jwt(j) = s.mode else { panic!("jwt mode") };
    assert_eq!(
        j.jwks,
        JwksSource::Discovery("https://id.example.com/.well-known/openid-configuration".into())
    );
    assert_eq!(
        j.algorithms,
        vec![viewer_auth::Algorithm::Rs256, viewer_auth::Algorithm::Es256]
    );
    let jwt = [("AUTH_MODE", "jwt"), ("JWT_ISSUER", "https://i"), ("JWT_AUDIENCE", "a")];
    let with = |extra: (&'static str, &'static str)| {
        let mut v = jwt.to_vec();
        v.push(extra);
        auth_settings(&env(&v)).unwrap_err().var
    };
    assert_eq!(
        auth_settings(&env(&[("AUTH_MODE", "oauth")])).unwrap_err().var,
        "AUTH_MODE"
    );
    assert_eq!(
        auth_settings(&env(&[("AUTH_MODE", "jwt")])).unwrap_err().var,
        "JWT_ISSUER"
    );
    assert_eq!(with(("JWT_ALGORITHMS", "HS256")), "JWT_ALGORITHMS");
    assert_eq!(with(("JWT_ALGORITHMS", "none")), "JWT_ALGORITHMS");
    assert_eq!(with(("JWT_JWKS_URL", "http://example.com/jwks")), "JWT_JWKS_URL");
    assert_eq!(with(("AUTH_LEEWAY_SECONDS", "3600")), "AUTH_LEEWAY_SECONDS");
    assert_eq!(with(("AUTH_TOKEN_QUERY_PARAM", "movie")), "AUTH_TOKEN_QUERY_PARAM");
    assert_eq!(with(("AUTH_TOKEN_COOKIE", "a b")), "AUTH_TOKEN_COOKIE");
    assert_eq!(with(("AUTH_BIND_TOKEN_EXPIRY", "maybe")), "AUTH_BIND_TOKEN_EXPIRY");
    assert_eq!(
        auth_settings(&env(&[("AUTH_MODE", "shared-secret")])).unwrap_err().var,
        "AUTH_SECRET_NAME"
    );
    assert_eq!(
        auth_settings(&env(&[
            ("AUTH_MODE", "shared-secret"),
            ("AUTH_SECRET_FILE", "f"),
            ("AUTH_MAX_TOKEN_LIFETIME_SECONDS", "0")
        ]))
        .unwrap_err()
        .var,
        "AUTH_MAX_TOKEN_LIFETIME_SECONDS"
    );
}

#[test]
fn templates() {
    let t = PlaylistTemplate::parse("movies/movie_{movie}/index.m3u8").unwrap();
    assert_eq!(t.key("7"), "movies/movie_7/index.m3u8");
    assert_eq!(t.directory("7"), "movies/movie_7");
    let t = PlaylistTemplate::parse("v/{movie}/hls/master.m3u8").unwrap();
    assert_eq!(t.directory("x"), "v/x/hls");
    for bad in [
        "movies/{movie}.m3u8",
        "index.m3u8",
        "/movies/{movie}/index.m3u8",
        "movies/../{movie}/index.m3u8",
        "movies//{movie}/index.m3u8",
        "movies/{movie}/index.mp4",
        "movies/{other}/{movie}/index.m3u8",
        "movies/{movie}/in dex.m3u8",
    ] {
        assert!(PlaylistTemplate::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn cors_origins() {
    let cors = Cors::new(vec!["https://a.example".to_owned()]).unwrap();
    assert_eq!(
        cors.allow_origin(Some("https://a.example")).as_deref(),
        Some("https://a.example")
    );
    assert_eq!(cors.allow_origin(Some("https://b.example")), None);
    assert_eq!(cors.allow_origin(None), None);
    assert_eq!(Cors::default().allow_origin(Some("https://a.example")), None);
    assert_eq!(
        Cors::new(vec!["*".to_owned()]).unwrap().allow_origin(None).as_deref(),
        Some("*")
    );
    assert!(Cors::new(vec!["https://a.example/".to_owned()]).is_err());
}

/// Every variable the parsers read is in [`SETTINGS`], and every setting
/// is read by some parser.
#[test]
fn every_variable_read_is_documented() {
    let env = env(&[
        ("SM_SECRET_NAME", "s"),
        ("S3_BUCKET", "b"),
        ("AUTH_MODE", "jwt"),
        ("JWT_ISSUER", "https://i"),
        ("JWT_AUDIENCE", "a"),
    ]);
    SignurlConfig::from_env(&env).unwrap();
    RewriterConfig::from_env(&env).unwrap();
    log_settings(&env).unwrap();
    let shared = Env::from_pairs([("AUTH_MODE", "shared-secret"), ("AUTH_SECRET_NAME", "x")]);
    auth_settings(&shared).unwrap();
    let mut read = env.names_read();
    read.extend(shared.names_read());
    for name in &read {
        assert!(
            SETTINGS.iter().any(|s| s.name == *name),
            "{name} is read but not in SETTINGS"
        );
    }
    for s in SETTINGS {
        assert!(read.contains(&s.name), "{} is documented but never read", s.name);
    }
}

/// The README's tables are the ones [`markdown_table`] generates. To update
/// them after changing [`SETTINGS`]: `UPDATE_README=1 cargo test -p signed-hls-aws readme`.
#[test]
fn readme_tables_are_generated_from_settings() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let mut updated = readme.clone();
    for (section, marker) in [(Section::Signing, "settings"), (Section::Auth, "auth-settings")] {
        let begin = format!("<!-- {marker}: generated from layers/aws-shell/src/config.rs -->\n");
        let end = format!("<!-- /{marker} -->");
        let start = updated.find(&begin).unwrap_or_else(|| panic!("README lacks {begin:?}")) + begin.len();
        let stop = start
            + updated[start..]
                .find(&end)
                .unwrap_or_else(|| panic!("README lacks {end:?}"));
        updated.replace_range(start..stop, &markdown_table(section));
    }
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(&path, &updated).unwrap();
        return;
    }
    assert!(
        readme == updated,
        "README.md's configuration tables differ from SETTINGS; run UPDATE_README=1 cargo test -p signed-hls-aws readme"
    );
}

/// The settings' defaults are the cores' own defaults (one value, two
/// spellings: a constant for the library, the text the README shows).
#[test]
fn defaults_agree_with_the_cores() {
    let parsed = |setting: &Setting| setting.default.unwrap().to_owned();
    assert_eq!(parsed(&AUTH_MOVIES_CLAIM), viewer_auth::DEFAULT_MOVIES_CLAIM);
    assert_eq!(
        parsed(&AUTH_LEEWAY_SECONDS),
        viewer_auth::DEFAULT_LEEWAY_SECONDS.to_string()
    );
    assert_eq!(
        parsed(&AUTH_MAX_TOKEN_BYTES),
        viewer_auth::DEFAULT_MAX_TOKEN_BYTES.to_string()
    );
    assert_eq!(
        parsed(&AUTH_MAX_TOKEN_LIFETIME_SECONDS),
        viewer_auth::DEFAULT_MAX_LIFETIME_SECONDS.to_string()
    );
    assert_eq!(parsed(&KEY_PREFIX), KeySuffix::default().as_str());
    assert_eq!(parsed(&REWRITE_MODE), Strategy::default().as_str());
}

#[test]
fn log_levels() {
    use tracing::level_filters::LevelFilter;
    assert_eq!(log_settings(&env(&[])).unwrap(), LogSettings::default());
    let s = log_settings(&env(&[
        ("AWS_LAMBDA_LOG_LEVEL", "trace"),
        ("RUST_LOG", "error"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
    ]))
    .unwrap();
    assert_eq!((s.level, s.json), (LevelFilter::TRACE, true));
    assert_eq!(
        log_settings(&env(&[("RUST_LOG", "WARN")])).unwrap().level,
        LevelFilter::WARN
    );
    assert_eq!(
        log_settings(&env(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")])).unwrap().level,
        LevelFilter::ERROR
    );
    assert_eq!(
        log_settings(&env(&[("AWS_LAMBDA_LOG_LEVEL", "loud")])).unwrap_err().var,
        "AWS_LAMBDA_LOG_LEVEL"
    );
    // Per-target directives could reopen what the shell closes: refused.
    assert_eq!(
        log_settings(&env(&[("RUST_LOG", "info,lambda_runtime=trace")]))
            .unwrap_err()
            .var,
        "RUST_LOG"
    );
}
