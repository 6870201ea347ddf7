//! JSON Web Key Sets (RFC 7517): the issuer's public keys, RSA and EC P-256.
//!
//! Parsing is tolerant per key and strict per set: a key this crate cannot
//! use (another `kty` or curve, `use` other than `sig`, an RSA modulus below
//! 2048 bits, a point not on the curve) is skipped, so that an issuer that
//! also publishes encryption or Ed25519 keys still works; a document that is
//! not a JSON object with a `keys` array, or too large, is an error.

use std::fmt;

use p256::ecdsa::VerifyingKey as EcKey;
use rsa::{BoxedUint, PublicKey as RsaKey};
use serde_json::Value;

use crate::Algorithm;
use crate::json::b64url;

/// The largest JWKS document accepted, in bytes.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// The most keys kept from one document.
pub const MAX_KEYS: usize = 64;
/// RSA moduli accepted, in bits.
pub const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

/// A JWKS that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid jwks: {0}")]
pub struct JwksError(pub &'static str);

/// One verification key.
#[derive(Clone)]
pub(crate) enum PublicKey {
    Rsa(Box<RsaKey>),
    Ec(EcKey),
}

/// A usable key with its id and the algorithm it may be used with.
#[derive(Clone)]
pub(crate) struct Jwk {
    pub(crate) kid: Option<String>,
    pub(crate) alg: Option<Algorithm>,
    pub(crate) key: PublicKey,
}

impl Jwk {
    /// Whether this key may verify a token signed with `alg`: the key type
    /// must fit the algorithm, and the key's own `alg`, when set, must equal it.
    pub(crate) fn fits(&self, alg: Algorithm) -> bool {
        let kind_fits = matches!(
            (&self.key, alg),
            (PublicKey::Rsa(_), Algorithm::Rs256) | (PublicKey::Ec(_), Algorithm::Es256)
        );
        kind_fits && self.alg.is_none_or(|a| a == alg)
    }
}

/// The usable keys of a JWKS document.
#[derive(Clone, Default)]
pub struct KeySet {
    pub(crate) keys: Vec<Jwk>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet").field("kids", &self.kids()).finish()
    }
}

impl KeySet {
    /// Parses a JWKS document (`{"keys": [...]}`), keeping the usable keys.
    pub fn from_json(bytes: &[u8]) -> Result<Self, JwksError> {
        if bytes.len() > MAX_JWKS_BYTES {
            return Err(JwksError("document larger than 64 KiB"));
        }
        let doc: Value = serde_json::from_slice(bytes).map_err(|_| JwksError("not JSON"))?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JwksError("no \"keys\" array"))?;
        Ok(KeySet {
            keys: keys.iter().filter_map(parse_key).take(MAX_KEYS).collect(),
        })
    }

    /// The ids of the usable keys (`None` for a key without `kid`), for logs.
    pub fn kids(&self) -> Vec<Option<&str>> {
        self.keys.iter().map(|k| k.kid.as_deref()).collect()
    }

    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key for a token: by `kid` when the token names one; without a
    /// `kid`, only when exactly one key fits the algorithm.
    pub(crate) fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<&Jwk> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid) && k.fits(alg)),
            None => {
                let mut fitting = self.keys.iter().filter(|k| k.fits(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        }
    }
}

fn string<'a>(key: &'a Value, name: &str) -> Option<&'a str> {
    key.get(name).and_then(Value::as_str)
}

fn parse_key(key: &Value) -> Option<Jwk> {
    if string(key, "use").is_some_and(|u| u != "sig") {
        return None;
    }
    if let Some(ops) = key.get("key_ops") {
        let ops = ops.as_array()?;
        if !ops.iter().any(|op| op.as_str() == Some("verify")) {
            return None;
        }
    }
    let alg = match key.get("alg") {
        None => None,
        Some(a) => Some(Algorithm::from_name(a.as_str()?)?),
    };
    let kid = match key.get("kid") {
        None => None,
        Some(k) => Some(k.as_str()?.to_owned()),
    };
    let public = match string(key, "kty")? {
        "RSA" => {
            let n = strip_zeros(b64url(string(key, "n")?)?);
            let e = strip_zeros(b64url(string(key, "e")?)?);
            if n.is_empty() || n.len() > RSA_BITS.end() / 8 || e.is_empty() || e.len() > 8 {
                return None;
            }
            let n = BoxedUint::from_be_slice_vartime(&n);
            let e = BoxedUint::from_be_slice_vartime(&e);
            PublicKey::Rsa(Box::new(RsaKey::new_with_size_limits(n, e, RSA_BITS).ok()?))
        }
        "EC" => {
            if string(key, "crv")? != "P-256" {
                return None;
            }
            let x = b64url(string(key, "x")?)?;
            let y = b64url(string(key, "y")?)?;
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            let mut sec1 = Vec::with_capacity(65);
            sec1.push(4);
            sec1.extend_from_slice(&x);
            sec1.extend_from_slice(&y);
            PublicKey::Ec(EcKey::from_sec1_bytes(&sec1).ok()?)
        }
        _ => return None,
    };
    if alg.is_some_and(|a| {
        !Jwk {
            kid: None,
            alg: None,
            key: public.clone(),
        }
        .fits(a)
    }) {
        return None;
    }
    Some(Jwk { kid, alg, key: public })
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.drain(..first);
    bytes
}
