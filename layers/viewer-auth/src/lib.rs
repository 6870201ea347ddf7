//! Who may watch: verifies a viewer's token and says which movies it covers.
//!
//! Two kinds of token, each chosen by configuration ([`AuthSettings`]):
//!
//! - **JWT** from an OpenID Connect issuer (Cognito, Auth0, Okta, Keycloak):
//!   a JWS compact token signed RS256 or ES256, checked against the issuer's
//!   key set ([`KeySet`], parsed from its JWKS) by [`JwtRules::verify`]:
//!   signature, `iss`, `aud`, `exp` (required), `nbf`/`iat` with leeway.
//! - **Shared secret**: `v1.<payload>.<mac>`, HMAC-SHA256, minted by the
//!   customer's own backend ([`SharedSecretRules`], format in [`shared`]).
//!
//! Either yields a [`Viewer`] whose [`Entitlement`] (from a configurable
//! claim, `*` for all) decides each movie: [`AuthError::status`] is 401 for
//! a missing or invalid token and 403 for a valid one without the movie.
//! [`TokenLocations::find`] picks the token out of a request.
//!
//! What it does not do: no I/O. It does not fetch the JWKS (the caller does,
//! caches it, and fetches again when [`AuthError::is_unknown_key`] says a
//! token names a key it has not seen), read secrets, read the clock (`now`
//! is an argument) or log. Nothing it returns or formats contains a token,
//! a claim value or a secret.
//!
//! ```
//! use viewer_auth::{AuthError, SharedSecretRules};
//!
//! let rules = SharedSecretRules::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap();
//! let now = 1_767_225_600;
//! let token = rules.mint(&serde_json::json!({"sub": "viewer-42", "movies": ["1", "2"], "exp": now + 300}));
//! let viewer = rules.verify(&token, now).unwrap();
//! assert!(viewer.authorize("1").is_ok());
//! assert_eq!(viewer.authorize("3"), Err(AuthError::NotEntitled));
//! assert_eq!(rules.verify(&token, now + 3600).unwrap_err().status(), 401);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod error;
mod json;
mod jwk;
mod jwt;
pub mod shared;
mod token;
mod viewer;

pub use config::{AuthSettings, JwksSource, JwtSettings, Mode, SecretLocation, is_allowed_url};
pub use error::{AuthError, REALM};
pub use jwk::{JwksError, KeySet, MAX_JWKS_BYTES, MAX_KEYS};
pub use jwt::{
    Algorithm, DEFAULT_LEEWAY_SECONDS, DEFAULT_MAX_LIFETIME_SECONDS, DEFAULT_MAX_TOKEN_BYTES, DEFAULT_MOVIES_CLAIM,
    JwtRules,
};
pub use shared::{SharedSecretRules, WeakSecret};
pub use token::{RequestParts, TokenLocations, VIEWER_TOKEN_HEADER};
pub use viewer::{Entitlement, MAX_MOVIES, Viewer};

/// The `jwks_uri` of an OpenID Connect discovery document, if it is there
/// and allowed ([`is_allowed_url`]).
pub fn discovered_jwks_uri(document: &[u8]) -> Option<String> {
    if document.len() > MAX_JWKS_BYTES {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_slice(document).ok()?;
    let uri = doc.get("jwks_uri")?.as_str()?;
    is_allowed_url(uri).then(|| uri.to_owned())
}
