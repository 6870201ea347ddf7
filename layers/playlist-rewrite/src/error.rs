//! Why a rewrite failed ([`Error`]: the input is not a playlist, reuse would
//! break a URI, or the signing core refused), and why a configuration was
//! refused when it was built ([`ConfigError`], never from a rewrite).
//!
//! A URI that cannot be signed is not an error: it is left untouched and
//! listed, with its [`Reason`](crate::Reason), in the summary.

use thiserror::Error as ThisError;

/// A rewrite that could not be done. Messages are lowercase and name what was
/// found; they never contain key material or whole playlists.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum Error {
    /// The body is larger than the configured limit.
    #[error("not a playlist: {size} bytes, the limit is {limit}")]
    TooLarge {
        /// Size of the body in bytes.
        size: usize,
        /// The configured limit ([`Config::max_bytes`](crate::Config::max_bytes)).
        limit: usize,
    },
    /// The body holds a NUL byte: binary data, not a playlist.
    #[error("not a playlist: binary data (NUL byte at offset {offset})")]
    Binary {
        /// Offset of the first NUL byte.
        offset: usize,
    },
    /// The body is not valid UTF-8 (RFC 8216 section 4.1 requires it).
    #[error("not a playlist: not UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The first line is not `#EXTM3U` (a UTF-8 byte order mark before it is allowed).
    #[error("not a playlist: the first line is {first_line:?}, not #EXTM3U")]
    NoHeader {
        /// The start of the first line (at most 40 characters).
        first_line: String,
    },
    /// The rewritten playlist would be larger than
    /// [`Config::max_output_bytes`](crate::Config::max_output_bytes). Found
    /// while planning, before anything is signed or the output allocated:
    /// the size of every credential is known beforehand.
    #[error("output too large: the rewritten playlist would be at least {size} bytes, the limit is {limit}")]
    OutputTooLarge {
        /// The output's size as far as it was measured when it passed the
        /// limit (measuring stops there: the whole output is at least this),
        /// ECDSA signatures counted at their longest (72 bytes, DER).
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The playlist URL is not an absolute http(s) URL with a host.
    #[error("invalid playlist url: {0}")]
    PlaylistUrl(String),
    /// [`Strategy::Reuse`](crate::Strategy::Reuse): the incoming credential
    /// does not cover a URI of the playlist, so appending it would break that
    /// URI. Nothing is widened instead: the caller must pick another strategy.
    #[error("cannot reuse the incoming credential: its resource {resource:?} does not cover {uri:?} (line {line})")]
    ReuseNotCovering {
        /// The URI as written in the playlist.
        uri: String,
        /// Its 1-based line number.
        line: usize,
        /// The incoming policy's resource.
        resource: String,
    },
    /// More new signatures (cache misses) were needed than
    /// [`Config::max_new_signatures`](crate::Config::max_new_signatures)
    /// allows. The first `signed` of them (in playlist order) were made and
    /// are in the [`SignatureCache`](crate::SignatureCache): the same request
    /// again continues from there. A caller answers "try again later" (503
    /// with `Retry-After`), see the crate's documentation.
    #[error(
        "signing budget spent: {needed} new signatures needed, {signed} made and cached (the budget is {budget}); the same request again continues from the cache"
    )]
    SigningBudget {
        /// New signatures this rewrite needed.
        needed: usize,
        /// Those made (and cached) before it stopped: the budget.
        signed: usize,
        /// The configured budget.
        budget: usize,
    },
    /// The signing core refused (a bad key, or a policy it cannot sign).
    #[error("signing failed: {0}")]
    Sign(#[from] cloudfront_sign::Error),
}

/// A setting that [`ConfigBuilder::build`](crate::ConfigBuilder::build)
/// refuses; a finished [`Config`](crate::Config) holds none. Messages name
/// the value and the rule (hosts are not secret).
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum ConfigError {
    /// A host that is not `host` or `host:port` (port 1 to 65535).
    #[error("invalid host {0:?}: expected host or host:port (port 1 to 65535)")]
    Host(String),
    /// A body limit of 0 bytes, which no playlist passes.
    #[error("invalid max bytes 0: expected at least 1")]
    MaxBytes,
    /// An output limit of 0 bytes, which no playlist passes.
    #[error("invalid max output bytes 0: expected at least 1")]
    MaxOutputBytes,
    /// A budget of 0 new signatures: a rewrite that needs one could never
    /// make progress, however often it is retried.
    #[error("invalid max new signatures 0: expected at least 1")]
    MaxNewSignatures,
}
