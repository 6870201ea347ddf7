//! The two ways things fail: bad input to build or sign ([`Error`]), and a
//! credential that CloudFront would refuse ([`Denied`]).

use thiserror::Error as ThisError;

/// Input that cannot be signed or parsed: a bad key, URL, policy or encoding.
///
/// Messages are lowercase, name what was found, and never include key bytes.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum Error {
    /// The key could not be read; the message names the format that was found.
    #[error("invalid key: {0}")]
    Key(String),
    /// The RSA key is smaller than CloudFront accepts.
    #[error("invalid key: RSA key of {0} bits, CloudFront needs at least 2048")]
    KeyTooSmall(usize),
    /// A key pair id that CloudFront cannot have issued (the value, cut to
    /// 40 characters; see [`KeyPairId`](crate::KeyPairId)).
    #[error("invalid key pair id {0:?}: expected 1 to 128 letters and digits (e.g. K2JCJMDEHXQW5F)")]
    KeyPairId(String),
    /// A hash algorithm name that is neither SHA-1 nor SHA-256 (the value,
    /// cut to 40 characters; see [`HashAlgorithm`](crate::HashAlgorithm)).
    #[error("invalid hash algorithm {0:?}: expected sha1 or sha256")]
    HashAlgorithm(String),
    /// A suffix for the credential copies that would need percent-encoding,
    /// or is empty or too long (the value; see [`KeySuffix`](crate::KeySuffix)).
    #[error("invalid key suffix {0:?}: expected 1 to 64 characters of A-Z a-z 0-9 - _ .")]
    KeySuffix(String),
    /// The URL is not an absolute http(s) URL, or carries a fragment.
    #[error("invalid url: {0}")]
    Url(String),
    /// The URL already carries a CloudFront signing parameter.
    #[error("invalid url: it already carries the reserved parameter {0}")]
    ReservedParameter(String),
    /// The signed URL would exceed CloudFront's limit.
    #[error("signed url is {0} bytes, CloudFront accepts at most 8192")]
    UrlTooLong(usize),
    /// Text that is not CloudFront base64.
    #[error("invalid base64: {0}")]
    Base64(String),
    /// A policy that CloudFront would not accept.
    #[error("invalid policy: {0}")]
    Policy(String),
    /// An IP address or CIDR block that does not parse.
    #[error("invalid ip address: {0:?}")]
    Ip(String),
    /// The signature operation itself failed (should not happen with a valid key).
    #[error("signing failed: {0}")]
    Sign(String),
    /// A canned policy asked for a URL holding `*` or `?` (the URL, cut to
    /// 100 characters). The canned policy's bytes are those of a custom
    /// policy whose resource is the URL, so its signature also works as
    /// that custom policy, where `*` and `?` are wildcards: it would grant
    /// every URL the pattern matches, not only this one.
    #[error(
        "cannot sign {0:?} with a canned policy: it holds '*' or '?', and a canned signature is also valid as a custom policy in which they are wildcards (matching other urls); sign a custom policy with the resource you mean to grant"
    )]
    CannedWildcard(String),
}

/// Why CloudFront would refuse a request: one variant per check.
#[derive(Debug, Clone, PartialEq, Eq, ThisError)]
#[non_exhaustive]
pub enum Denied {
    /// A required parameter is absent (named with its suffix, if any).
    #[error("missing parameter {0}")]
    MissingParameter(String),
    /// Both `Expires` and `Policy` are present, or a value repeats.
    #[error("ambiguous parameters: {0}")]
    Ambiguous(String),
    /// The key pair id is not one this verifier trusts.
    #[error("unknown key pair id")]
    UnknownKey,
    /// The signature does not match the policy and key.
    #[error("bad signature")]
    BadSignature,
    /// The policy could not be decoded or parsed.
    #[error("malformed policy: {0}")]
    MalformedPolicy(String),
    /// `now` is at or after `DateLessThan`.
    #[error("expired")]
    Expired,
    /// `now` is before `DateGreaterThan`.
    #[error("not yet valid")]
    NotYetValid,
    /// The policy has an `IpAddress` condition that the client does not meet
    /// (or no client address was given to check it against).
    #[error("client ip not allowed")]
    IpNotAllowed,
    /// The policy's resource does not match the requested URL.
    #[error("resource does not match the url")]
    ResourceMismatch,
}

impl Denied {
    /// A stable, machine-readable name for the failed check.
    pub fn code(&self) -> &'static str {
        match self {
            Denied::MissingParameter(_) => "missing_parameter",
            Denied::Ambiguous(_) => "ambiguous_parameters",
            Denied::UnknownKey => "unknown_key",
            Denied::BadSignature => "bad_signature",
            Denied::MalformedPolicy(_) => "malformed_policy",
            Denied::Expired => "expired",
            Denied::NotYetValid => "not_yet_valid",
            Denied::IpNotAllowed => "ip_not_allowed",
            Denied::ResourceMismatch => "resource_mismatch",
        }
    }
}
