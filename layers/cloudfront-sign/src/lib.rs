//! CloudFront signed URLs, done exactly as CloudFront does them.
//!
//! This crate builds the policy bytes that CloudFront signs (canned and
//! custom), encodes them in CloudFront's base64 variant, signs them with an
//! RSA (PKCS#1 v1.5, SHA-1 or SHA-256) or ECDSA P-256 key, appends the
//! parameters to a URL, reads them back from a query string (under their own
//! names or with a suffix such as `-PREFIX`), and verifies a URL the way
//! CloudFront decides whether to serve it.
//!
//! A canned policy is signed only for a URL without `*` or `?` (so without
//! a query string): its bytes are those of a custom policy whose resource is
//! the URL, so its signature, replayed as `Policy=`, would be a wildcard
//! grant ([`Error::CannedWildcard`]). The length of a signature is known
//! before signing ([`UrlSigner::max_encoded_signature_len`],
//! [`Policy::json_len`]), so callers can size a signed URL first.
//!
//! It does no I/O: it never reads a file, the network or the clock. Keys
//! arrive as PEM or DER bytes and `now` is an argument, so every result is
//! deterministic and testable. It does not fetch keys from Secrets Manager
//! and does not know about HLS; other crates of this workspace do that.
//!
//! ```
//! use cloudfront_sign::{HashAlgorithm, KeyPairId, Policy, SigningKey, UrlSigner, Verifier};
//!
//! # let pem = include_str!("../tests/fixtures/rsa2048_pkcs1.pem");
//! // Settings are validated once, when they are read.
//! let id: KeyPairId = "K2JCJMDEHXQW5F".parse()?;
//! let signer = UrlSigner::new(id, SigningKey::from_pem(pem)?, HashAlgorithm::Sha1);
//!
//! // A canned policy: this exact URL until the given epoch second.
//! let url = signer.sign_canned("https://d111111abcdef8.cloudfront.net/a.m3u8", 1_900_000_000)?;
//! assert!(url.contains("Expires=1900000000&Signature="));
//!
//! // A custom policy: a whole directory, verified as CloudFront would.
//! let policy = Policy::new("https://d111111abcdef8.cloudfront.net/movies/*", 1_900_000_000);
//! let url = signer.sign_with_policy("https://d111111abcdef8.cloudfront.net/movies/a.ts", &policy)?;
//! let mut verifier = Verifier::new();
//! verifier.trust(signer.key_pair_id(), signer.verifying_key());
//! let grant = verifier.verify_url(&url, "", 1_800_000_000, None)?;
//! assert_eq!(grant.policy.resource, "https://d111111abcdef8.cloudfront.net/movies/*");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cidr;
pub mod encoding;
mod error;
mod key;
mod key_pair_id;
mod policy;
mod query;
mod signatory;
mod signer;
mod suffix;
mod verify;
mod wildcard;

pub use cidr::Cidr;
pub use error::{Denied, Error};
pub use key::{HashAlgorithm, KeyKind, SigningKey, VerifyingKey};
pub use key_pair_id::KeyPairId;
pub use policy::{Policy, canned_policy_json, round_expiry};
pub use query::{Credential, CredentialPolicy, RESERVED_PARAMS, strip_params};
pub use signatory::Signatory;
pub use signer::UrlSigner;
pub use suffix::KeySuffix;
pub use verify::{Grant, Verifier, check_conditions};
pub use wildcard::wildcard_match;

/// The longest URL CloudFront accepts, in bytes.
pub const MAX_URL_BYTES: usize = 8192;
