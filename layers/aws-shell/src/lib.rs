//! The thin AWS I/O shell of signed-hls: everything the two Lambda functions
//! need from the outside world, behind small traits.
//!
//! - [`config`]: every setting of both functions, read from the environment
//!   once into validated types (an error names the variable), and the
//!   README's configuration tables generated from the same list;
//! - [`shell`]: the HTTP shell both functions share (preflight, method gate,
//!   CORS and `Vary`, the JSON error answer, the request log line) and their
//!   start-up;
//! - [`store`]: an [`ObjectStore`](store::ObjectStore) with an S3
//!   implementation and a filesystem one (local runs): bounded reads, and
//!   conditional ones by ETag;
//! - [`secret`]: a [`SecretSource`](secret::SecretSource) with a Secrets
//!   Manager implementation and a file one, and the parsing of the accepted
//!   secret formats (PEM, base64 of a PEM, JSON);
//! - [`retry`]: bounded retries with exponential backoff for transient errors;
//! - [`key`]: the signing key loaded once per cold start and refreshed after
//!   an interval, keeping the old key when a refresh fails.
//!
//! It does not sign, verify or rewrite anything (that is `cloudfront-sign`
//! and `playlist-rewrite`), and it never logs or returns key material.
//!
//! ```
//! use signed_hls_aws::secret::parse_secret;
//!
//! let err = parse_secret("not a key").unwrap_err();
//! assert_eq!(err.to_string(), "invalid secret: neither a PEM key, base64 of a PEM key, nor JSON");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod aws;
pub mod config;
pub mod http;
pub mod key;
pub mod retry;
pub mod secret;
pub mod shell;
pub mod signing;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{BaseUrl, CommonConfig, ConfigError, Env, KeySourceConfig, RewriterConfig, SignurlConfig};
pub use key::{KeyCache, KeySource, KmsKey, LoadedKey};
pub use retry::Backoff;
pub use secret::{SecretError, SecretMaterial, SecretSource};
pub use signing::{KmsSigner, LocalSigner, PolicySigner, SignError};
pub use store::{Conditional, ObjectStore, StoreError};

/// Seconds since the Unix epoch, from the system clock (0 if it is before 1970).
pub fn now_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
