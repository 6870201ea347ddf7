//! Shared-secret tokens: short-lived, HMAC-SHA256, minted by the customer's
//! own backend with a secret that it shares with `signurl`.
//!
//! ```text
//! v1.<payload>.<mac>
//! payload = base64url(JSON claims), no padding
//! mac     = base64url(HMAC-SHA256(secret, "v1." + payload)), no padding
//! claims  = {"sub": "viewer-42",          optional string
//!            "movies": ["1", "2"],        the entitlement claim (name configurable;
//!                                         a list, or "1 2" / "1,2"; "*" = all)
//!            "exp": 1767225600,           required, seconds since the epoch
//!            "nbf": 1767225000,           optional
//!            "iat": 1767225000}           optional
//! ```
//!
//! The MAC is compared in constant time, before the payload is decoded.
//! `exp` must lie at most `max_lifetime` seconds (plus leeway) ahead of the
//! verifier's clock, so that a leaked token is short-lived whatever its minter
//! wrote.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::json::{b64url, object};
use crate::jwt::{DEFAULT_LEEWAY_SECONDS, DEFAULT_MAX_LIFETIME_SECONDS, DEFAULT_MOVIES_CLAIM};
use crate::viewer::check_times;
use crate::{AuthError, DEFAULT_MAX_TOKEN_BYTES, Viewer};

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// The token version prefix.
pub const PREFIX: &str = "v1.";

/// The secret and the rules for shared-secret tokens.
#[derive(Clone)]
pub struct SharedSecretRules {
    secret: Vec<u8>,
    /// The claim that lists the movies (e.g. `movies`).
    pub movies_claim: String,
    /// Tolerance for `exp`, `nbf` and `iat`, in seconds.
    pub leeway: u64,
    /// The longest lifetime accepted: `exp - now` at most this (plus leeway).
    pub max_lifetime: u64,
    /// The longest token accepted, in bytes.
    pub max_token_bytes: usize,
}

impl fmt::Debug for SharedSecretRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedSecretRules")
            .field("secret", &"<redacted>")
            .field("movies_claim", &self.movies_claim)
            .field("leeway", &self.leeway)
            .field("max_lifetime", &self.max_lifetime)
            .finish()
    }
}

/// A secret shorter than [`MIN_SECRET_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("shared secret too short: at least {MIN_SECRET_BYTES} bytes are required")]
pub struct WeakSecret;

impl SharedSecretRules {
    /// Rules for `secret` (its exact bytes, at least 32) with the defaults:
    /// claim `movies`, 60 s leeway, 900 s maximum lifetime, 8 KiB.
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, WeakSecret> {
        let secret = secret.into();
        if secret.len() < MIN_SECRET_BYTES {
            return Err(WeakSecret);
        }
        Ok(SharedSecretRules {
            secret,
            movies_claim: DEFAULT_MOVIES_CLAIM.to_owned(),
            leeway: DEFAULT_LEEWAY_SECONDS,
            max_lifetime: DEFAULT_MAX_LIFETIME_SECONDS,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        })
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length; this cannot fail.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!())
    }

    /// Verifies `token` at time `now`.
    pub fn verify(&self, token: &str, now: u64) -> Result<Viewer, AuthError> {
        if token.len() > self.max_token_bytes {
            return Err(AuthError::TooLarge(self.max_token_bytes));
        }
        let rest = token
            .strip_prefix(PREFIX)
            .ok_or(AuthError::Malformed("not a v1 shared-secret token"))?;
        let (payload, mac_b64) = rest
            .split_once('.')
            .ok_or(AuthError::Malformed("not a v1 shared-secret token"))?;
        let tag = b64url(mac_b64).ok_or(AuthError::Malformed("mac is not base64url"))?;
        let mut mac = self.mac();
        mac.update(&token.as_bytes()[..PREFIX.len() + payload.len()]);
        mac.verify_slice(&tag).map_err(|_| AuthError::BadSignature)?;
        let claims = object(payload).ok_or(AuthError::Malformed("payload is not a base64url JSON object"))?;
        let exp = check_times(&claims, now, self.leeway)?;
        if exp > now.saturating_add(self.max_lifetime).saturating_add(self.leeway) {
            return Err(AuthError::LifetimeTooLong(self.max_lifetime));
        }
        Viewer::from_claims(&claims, &self.movies_claim, exp)
    }

    /// Mints a token for `claims` (a JSON object): what a customer's backend
    /// does; here for tests and the local stack.
    pub fn mint(&self, claims: &serde_json::Value) -> String {
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = self.mac();
        mac.update(PREFIX.as_bytes());
        mac.update(payload.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{PREFIX}{payload}.{tag}")
    }
}
