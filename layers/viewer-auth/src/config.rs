//! The authorisation settings, read from a name → value lookup (the process
//! environment in the functions, a map in tests). Reading the environment and
//! fetching keys or secrets is the caller's job.

use crate::jwt::{Algorithm, DEFAULT_MAX_TOKEN_BYTES};
use crate::token::TokenLocations;

/// A setting that is missing or malformed; names the variable, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {var}: {reason}")]
pub struct ConfigError {
    /// The variable.
    pub var: &'static str,
    /// What is wrong.
    pub reason: String,
}

fn err(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        reason: reason.into(),
    }
}

/// Where the JWKS comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// `JWT_JWKS_URL`, fetched directly.
    Url(String),
    /// Unset: `jwks_uri` from this OpenID Connect discovery document
    /// (`JWT_ISSUER` + `/.well-known/openid-configuration`).
    Discovery(String),
}

/// `AUTH_MODE=jwt` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtSettings {
    /// `JWT_ISSUER` (required): `iss` must equal it exactly.
    pub issuer: String,
    /// `JWT_AUDIENCE` (required): `aud` must contain it.
    pub audience: String,
    /// `JWT_JWKS_URL` or discovery.
    pub jwks: JwksSource,
    /// `JWT_ALGORITHMS` (default `RS256,ES256`).
    pub algorithms: Vec<Algorithm>,
    /// `JWT_JWKS_CACHE_SECONDS` (default 3600): the key set is fetched
    /// again after this long, on the next request.
    pub jwks_cache_seconds: u64,
    /// `JWT_JWKS_MIN_REFRESH_SECONDS` (default 30): at most one fetch per
    /// this interval, however many unknown `kid`s arrive.
    pub jwks_min_refresh_seconds: u64,
}

/// The mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `AUTH_MODE=none` (default): anyone may ask (log a warning).
    None,
    /// `AUTH_MODE=jwt`.
    Jwt(JwtSettings),
    /// `AUTH_MODE=shared-secret`: the secret's name or ARN (`AUTH_SECRET_NAME`)
    /// or, locally, a file (`AUTH_SECRET_FILE`).
    SharedSecret {
        /// Where the secret is.
        secret: SecretLocation,
        /// `AUTH_MAX_TOKEN_LIFETIME_SECONDS` (default 900, at most 86400).
        max_lifetime: u64,
    },
}

/// Where the shared secret is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretLocation {
    /// A Secrets Manager secret (name or ARN).
    SecretsManager(String),
    /// A local file (the local stack and tests).
    File(String),
}

/// Every authorisation setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// `AUTH_MODE`.
    pub mode: Mode,
    /// `AUTH_MOVIES_CLAIM` (default `movies`).
    pub movies_claim: String,
    /// `AUTH_LEEWAY_SECONDS` (default 60, at most 300).
    pub leeway: u64,
    /// `AUTH_TOKEN_COOKIE`, `AUTH_TOKEN_QUERY_PARAM` (default: neither).
    pub locations: TokenLocations,
    /// `AUTH_BIND_TOKEN_EXPIRY` (default true when a mode is on): the signed
    /// URL expires no later than the token.
    pub bind_token_expiry: bool,
    /// `AUTH_MAX_TOKEN_BYTES` (default 8192).
    pub max_token_bytes: usize,
}

impl AuthSettings {
    /// Reads the settings through `get` (blank values count as unset).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let number = |name: &'static str, default: u64, max: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| err(name, format!("must be a whole number of at most {max}"))),
            }
        };
        let movies_claim = get("AUTH_MOVIES_CLAIM").unwrap_or_else(|| "movies".to_owned());
        let leeway = number("AUTH_LEEWAY_SECONDS", 60, 300)?;
        let max_token_bytes = number("AUTH_MAX_TOKEN_BYTES", DEFAULT_MAX_TOKEN_BYTES as u64, 65_536)? as usize;
        let name_ok = |v: &str| v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        let cookie = get("AUTH_TOKEN_COOKIE");
        if cookie.as_deref().is_some_and(|c| !name_ok(c)) {
            return Err(err("AUTH_TOKEN_COOKIE", "only A-Z a-z 0-9 _ - are allowed"));
        }
        let query_param = get("AUTH_TOKEN_QUERY_PARAM");
        if query_param.as_deref().is_some_and(|q| !name_ok(q) || q == "movie") {
            return Err(err(
                "AUTH_TOKEN_QUERY_PARAM",
                "only A-Z a-z 0-9 _ - are allowed, and not \"movie\"",
            ));
        }
        let mode = match get("AUTH_MODE").as_deref().unwrap_or("none") {
            "none" => Mode::None,
            "jwt" => {
                let issuer = get("JWT_ISSUER").ok_or_else(|| err("JWT_ISSUER", "is required with AUTH_MODE=jwt"))?;
                check_url("JWT_ISSUER", &issuer)?;
                let audience =
                    get("JWT_AUDIENCE").ok_or_else(|| err("JWT_AUDIENCE", "is required with AUTH_MODE=jwt"))?;
                let jwks = match get("JWT_JWKS_URL") {
                    Some(url) => {
                        check_url("JWT_JWKS_URL", &url)?;
                        JwksSource::Url(url)
                    }
                    None => JwksSource::Discovery(format!(
                        "{}/.well-known/openid-configuration",
                        issuer.trim_end_matches('/')
                    )),
                };
                let algorithms = match get("JWT_ALGORITHMS") {
                    None => vec![Algorithm::Rs256, Algorithm::Es256],
                    Some(list) => {
                        let mut algs = Vec::new();
                        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                            let alg = Algorithm::from_name(name)
                                .ok_or_else(|| err("JWT_ALGORITHMS", "only RS256 and ES256 are supported"))?;
                            if !algs.contains(&alg) {
                                algs.push(alg);
                            }
                        }
                        if algs.is_empty() {
                            return Err(err("JWT_ALGORITHMS", "must name RS256, ES256 or both"));
                        }
                        algs
                    }
                };
                Mode::Jwt(JwtSettings {
                    issuer,
                    audience,
                    jwks,
                    algorithms,
                    jwks_cache_seconds: number("JWT_JWKS_CACHE_SECONDS", 3600, 7 * 86_400)?,
                    jwks_min_refresh_seconds: number("JWT_JWKS_MIN_REFRESH_SECONDS", 30, 3600)?,
                })
            }
            "shared-secret" => {
                let secret = match (get("AUTH_SECRET_NAME"), get("AUTH_SECRET_FILE")) {
                    (Some(name), _) => SecretLocation::SecretsManager(name),
                    (None, Some(path)) => SecretLocation::File(path),
                    (None, None) => {
                        return Err(err("AUTH_SECRET_NAME", "is required with AUTH_MODE=shared-secret"));
                    }
                };
                let max_lifetime = number("AUTH_MAX_TOKEN_LIFETIME_SECONDS", 900, 86_400)?;
                if max_lifetime == 0 {
                    return Err(err("AUTH_MAX_TOKEN_LIFETIME_SECONDS", "must be at least 1"));
                }
                Mode::SharedSecret { secret, max_lifetime }
            }
            _ => return Err(err("AUTH_MODE", "must be none, jwt or shared-secret")),
        };
        let bind_token_expiry = match get("AUTH_BIND_TOKEN_EXPIRY").map(|v| v.to_ascii_lowercase()).as_deref() {
            None => mode != Mode::None,
            Some("true" | "1" | "yes") => true,
            Some("false" | "0" | "no") => false,
            Some(_) => return Err(err("AUTH_BIND_TOKEN_EXPIRY", "must be true or false")),
        };
        Ok(AuthSettings {
            mode,
            movies_claim,
            leeway,
            locations: TokenLocations { cookie, query_param },
            bind_token_expiry,
            max_token_bytes,
        })
    }
}

/// An `https://` URL, or `http://` to a loopback host (tests, the local stack).
fn check_url(var: &'static str, url: &str) -> Result<(), ConfigError> {
    if is_allowed_url(url) {
        Ok(())
    } else {
        Err(err(
            var,
            "must be an https:// URL (http:// only for 127.0.0.1, [::1] or localhost)",
        ))
    }
}

/// Whether `url` may be fetched for keys: `https://`, or `http://` to a
/// loopback host. Also applied to a discovered `jwks_uri`.
pub fn is_allowed_url(url: &str) -> bool {
    if let Some(rest) = url.strip_prefix("https://") {
        return !rest.is_empty() && !rest.starts_with('/');
    }
    url.strip_prefix("http://").is_some_and(|rest| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = match authority.rsplit_once(':') {
            Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => authority,
        };
        matches!(host, "127.0.0.1" | "localhost" | "[::1]")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<AuthSettings, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        AuthSettings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let s = read(&[]).unwrap();
        assert_eq!(s.mode, Mode::None);
        assert!(!s.bind_token_expiry);
        assert_eq!(s.leeway, 60);
        assert_eq!(s.movies_claim, "movies");
        let s = read(&[
            ("AUTH_MODE", "jwt"),
            ("JWT_ISSUER", "https://id.example.com/"),
            ("JWT_AUDIENCE", "signed-hls"),
        ])
        .unwrap();
        assert!(s.bind_token_expiry);
        let Mode::Jwt(j) = s.mode else { panic!() };
        assert_eq!(
            j.jwks,
            JwksSource::Discovery("https://id.example.com/.well-known/openid-configuration".into())
        );
        assert_eq!(j.algorithms, vec![Algorithm::Rs256, Algorithm::Es256]);
    }

    #[test]
    fn errors_name_the_variable() {
        let jwt = [("AUTH_MODE", "jwt"), ("JWT_ISSUER", "https://i"), ("JWT_AUDIENCE", "a")];
        let with = |extra: (&'static str, &'static str)| {
            let mut v = jwt.to_vec();
            v.push(extra);
            read(&v).unwrap_err().var
        };
        assert_eq!(read(&[("AUTH_MODE", "oauth")]).unwrap_err().var, "AUTH_MODE");
        assert_eq!(read(&[("AUTH_MODE", "jwt")]).unwrap_err().var, "JWT_ISSUER");
        assert_eq!(with(("JWT_ALGORITHMS", "HS256")), "JWT_ALGORITHMS");
        assert_eq!(with(("JWT_ALGORITHMS", "none")), "JWT_ALGORITHMS");
        assert_eq!(with(("JWT_JWKS_URL", "http://example.com/jwks")), "JWT_JWKS_URL");
        assert_eq!(with(("AUTH_LEEWAY_SECONDS", "3600")), "AUTH_LEEWAY_SECONDS");
        assert_eq!(with(("AUTH_TOKEN_QUERY_PARAM", "movie")), "AUTH_TOKEN_QUERY_PARAM");
        assert_eq!(with(("AUTH_BIND_TOKEN_EXPIRY", "maybe")), "AUTH_BIND_TOKEN_EXPIRY");
        assert_eq!(
            read(&[("AUTH_MODE", "shared-secret")]).unwrap_err().var,
            "AUTH_SECRET_NAME"
        );
    }

    #[test]
    fn urls() {
        for ok in [
            "https://id.example.com/jwks",
            "http://127.0.0.1:8080/jwks",
            "http://localhost/x",
        ] {
            assert!(is_allowed_url(ok), "{ok}");
        }
        for bad in [
            "http://example.com/jwks",
            "http://127.0.0.1.evil.com/",
            "http://localhost@evil.com/",
            "ftp://x",
            "https://",
            "https:///path",
        ] {
            assert!(!is_allowed_url(bad), "{bad}");
        }
    }
}
