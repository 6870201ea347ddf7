//! Why a token is refused, and what each refusal means over HTTP.

use thiserror::Error;

/// A refused request. Messages are short, lowercase, and never contain the
/// token, a claim value or key material: they are safe to log and to return.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No token in any accepted place (RFC 6750: answer 401 without an `error`).
    #[error("missing bearer token")]
    Missing,
    /// Longer than the configured limit.
    #[error("invalid token: longer than {0} bytes")]
    TooLarge(usize),
    /// Not a well-formed token (segments, base64url, JSON).
    #[error("invalid token: {0}")]
    Malformed(&'static str),
    /// `alg` is not one of the configured algorithms (`none`, `HS256`, ...).
    #[error("invalid token: algorithm not allowed")]
    AlgorithmNotAllowed,
    /// No key in the key set for the token's `kid` (and algorithm).
    #[error("invalid token: unknown signing key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("invalid token: bad signature")]
    BadSignature,
    /// `iss` is missing or not the configured issuer.
    #[error("invalid token: wrong issuer")]
    Issuer,
    /// `aud` is missing or does not contain the configured audience.
    #[error("invalid token: wrong audience")]
    Audience,
    /// `exp` is missing or not a number.
    #[error("invalid token: exp missing")]
    NoExpiry,
    /// `exp` has passed (beyond the leeway).
    #[error("invalid token: expired")]
    Expired,
    /// `nbf` or `iat` lies in the future (beyond the leeway).
    #[error("invalid token: not yet valid")]
    NotYetValid,
    /// A shared-secret token whose lifetime exceeds the configured maximum.
    #[error("invalid token: lifetime longer than {0} s")]
    LifetimeTooLong(u64),
    /// A valid token without the entitlement to the requested movie (403).
    #[error("not entitled to this movie")]
    NotEntitled,
}

impl AuthError {
    /// 401 for a missing or invalid token, 403 for a valid token without the
    /// entitlement.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::NotEntitled => 403,
            _ => 401,
        }
    }

    /// A stable, machine-readable name (`error_type` in the JSON answer).
    pub fn error_type(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing_token",
            AuthError::NotEntitled => "not_entitled",
            AuthError::Expired => "token_expired",
            AuthError::UnknownKey => "unknown_key",
            _ => "invalid_token",
        }
    }

    /// Whether fetching the key set again might help (the token names a key
    /// that the cached key set does not hold).
    pub fn is_unknown_key(&self) -> bool {
        matches!(self, AuthError::UnknownKey)
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3) for a 401, `None` for a
    /// 403. A missing token gets no `error` attribute; the description
    /// holds only characters allowed there (no quote, no backslash).
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            AuthError::NotEntitled => None,
            AuthError::Missing => Some(format!("Bearer realm=\"{REALM}\"")),
            other => {
                let description: String = other
                    .to_string()
                    .chars()
                    .filter(|c| matches!(c, ' ' | '!' | '#'..='[' | ']'..='~'))
                    .collect();
                Some(format!(
                    "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{description}\""
                ))
            }
        }
    }
}

/// The realm in `WWW-Authenticate`.
pub const REALM: &str = "signed-hls";
