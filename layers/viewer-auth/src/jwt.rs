//! JWS compact serialization (RFC 7515) carrying JWT claims (RFC 7519),
//! verified against a [`KeySet`]: RS256 and ES256 only, and only those the
//! configuration allows.
//!
//! What is refused, on purpose: `alg` values other than the allowed ones
//! (`none`, every `HS*` — an HMAC "keyed" with the issuer's public key is the
//! classic algorithm-confusion forgery —, `PS*`, `ES384`, ...), a key whose
//! type or own `alg` does not fit the token's `alg`, a `crit` header, and
//! DER-encoded ECDSA signatures (JWS uses raw `r || s`, 64 bytes). Headers
//! that point at keys (`jku`, `jwk`, `x5u`, `x5c`) are ignored: keys come
//! only from the configured key set.

use p256::ecdsa::Signature as EcSignature;
use p256::ecdsa::signature::Verifier as _;
use serde_json::Value;
use sha2::Sha256;

use crate::json::{b64url, object};
use crate::jwk::{KeySet, PublicKey};
use crate::viewer::check_times;
use crate::{AuthError, Viewer};

/// The longest token accepted, in bytes (headers and cookies rarely carry more).
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The claim that lists a viewer's movies, unless configured otherwise.
pub const DEFAULT_MOVIES_CLAIM: &str = "movies";
/// The clock tolerance for `exp`, `nbf` and `iat`, in seconds.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 60;
/// The longest shared-secret token lifetime (`exp - now`) accepted, in seconds.
pub const DEFAULT_MAX_LIFETIME_SECONDS: u64 = 900;

/// A JWS algorithm this crate verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA P-256 with SHA-256, signature `r || s`.
    Es256,
}

impl Algorithm {
    /// The algorithm named `name` (exact, case-sensitive, as RFC 7518 says).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Algorithm::Rs256),
            "ES256" => Some(Algorithm::Es256),
            _ => None,
        }
    }

    /// The JWS name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Es256 => "ES256",
        }
    }
}

/// What a JWT must satisfy.
#[derive(Debug, Clone)]
pub struct JwtRules {
    /// `iss` must equal this exactly.
    pub issuer: String,
    /// `aud` (a string or an array) must contain this.
    pub audience: String,
    /// The algorithms accepted (a subset of RS256, ES256; never empty).
    pub algorithms: Vec<Algorithm>,
    /// The claim that lists the movies (e.g. `movies`).
    pub movies_claim: String,
    /// Tolerance for `exp`, `nbf` and `iat`, in seconds.
    pub leeway: u64,
    /// The longest token accepted, in bytes.
    pub max_token_bytes: usize,
}

impl JwtRules {
    /// Rules with the defaults: RS256 and ES256, claim `movies`, 60 s leeway, 8 KiB.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        JwtRules {
            issuer: issuer.into(),
            audience: audience.into(),
            algorithms: vec![Algorithm::Rs256, Algorithm::Es256],
            movies_claim: DEFAULT_MOVIES_CLAIM.to_owned(),
            leeway: DEFAULT_LEEWAY_SECONDS,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }

    /// Verifies `token` at time `now` (seconds since the epoch) against
    /// `keys`. [`AuthError::UnknownKey`] tells the caller that fetching the
    /// key set again may help; every other error is final.
    pub fn verify(&self, token: &str, keys: &KeySet, now: u64) -> Result<Viewer, AuthError> {
        if token.len() > self.max_token_bytes {
            return Err(AuthError::TooLarge(self.max_token_bytes));
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed("not a three-part JWS"));
        };
        let header = object(header_b64).ok_or(AuthError::Malformed("header is not a base64url JSON object"))?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Algorithm::from_name)
            .filter(|a| self.algorithms.contains(a))
            .ok_or(AuthError::AlgorithmNotAllowed)?;
        if header.contains_key("crit") {
            return Err(AuthError::Malformed("crit header not supported"));
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.as_str()),
            Some(_) => return Err(AuthError::Malformed("kid is not a string")),
        };
        let key = keys.find(kid, alg).ok_or(AuthError::UnknownKey)?;
        let signature = b64url(signature_b64).ok_or(AuthError::Malformed("signature is not base64url"))?;
        let signed = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
        let valid = match (&key.key, alg) {
            (PublicKey::Rsa(rsa), Algorithm::Rs256) => rsa.pkcs1v15_verify::<Sha256>(signed, &signature).is_ok(),
            (PublicKey::Ec(ec), Algorithm::Es256) => {
                signature.len() == 64
                    && EcSignature::from_slice(&signature).is_ok_and(|sig| ec.verify(signed, &sig).is_ok())
            }
            _ => false,
        };
        if !valid {
            return Err(AuthError::BadSignature);
        }
        // Only now, with the signature checked, are the claims worth reading.
        let claims = object(payload_b64).ok_or(AuthError::Malformed("payload is not a base64url JSON object"))?;
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(AuthError::Issuer);
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == self.audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(self.audience.as_str())),
            _ => false,
        };
        if !audience_ok {
            return Err(AuthError::Audience);
        }
        let exp = check_times(&claims, now, self.leeway)?;
        Viewer::from_claims(&claims, &self.movies_claim, exp)
    }
}
