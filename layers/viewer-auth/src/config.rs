//! The authorisation settings as types. Reading them from the environment
//! (and validating them once, at cold start) is the function shell's job:
//! `signed_hls_aws::config::auth_settings`.

use crate::jwt::Algorithm;
use crate::token::TokenLocations;

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
