//! The one place that calls the playlist core (`playlist-rewrite`).

use cloudfront_sign::{Denied, UrlSigner, Verifier};
use playlist_rewrite::{ChildCredential, Config, Error, Incoming};

use crate::RewriterError;

/// `REWRITE_MODE`: `resign` (default), `per-uri` or `reuse`.
pub type Mode = playlist_rewrite::Strategy;

/// Signatures made with one key, shared across warm invocations.
pub type Cache = playlist_rewrite::SignatureCache;

/// Verifies the prefixed credential in `url` (the playlist request as received).
pub fn verify(
    verifier: &Verifier,
    url: &str,
    suffix: &str,
    now: u64,
    client_ip: Option<std::net::IpAddr>,
) -> Result<Incoming, Denied> {
    Incoming::verify(verifier, url, suffix, now, client_ip)
}

/// What a rewrite needs besides the body.
pub struct Input<'a> {
    /// The object's bytes.
    pub body: &'a [u8],
    /// The public URL of the playlist (`CF_URL` + key).
    pub playlist_url: &'a str,
    /// `scheme://authority` of `CF_URL`'s authority (`host[:port]`).
    pub authority: &'a str,
    /// `EXTRA_HOSTS`.
    pub extra_hosts: &'a [String],
    /// `KEY_PREFIX`.
    pub key_prefix: &'a str,
    /// `MAX_PLAYLIST_BYTES`.
    pub max_bytes: u64,
    /// The strategy.
    pub mode: Mode,
    /// The verified incoming credential.
    pub incoming: &'a Incoming,
    /// The signer.
    pub signer: &'a UrlSigner,
    /// The signature cache of this key.
    pub cache: &'a Cache,
}

/// What a rewrite produced.
#[derive(Debug)]
pub struct Outcome {
    /// The new playlist.
    pub body: String,
    /// URIs that got a credential.
    pub uris_signed: usize,
    /// URIs left untouched (other hosts, outside the grant, ...).
    pub uris_untouched: usize,
    /// Signatures computed.
    pub signatures_computed: usize,
    /// Signatures taken from the cache.
    pub signatures_reused: usize,
}

/// Rewrites the playlist within the incoming grant.
pub fn rewrite(input: &Input<'_>) -> Result<Outcome, RewriterError> {
    let hosts = if input.extra_hosts.is_empty() {
        Vec::new()
    } else {
        std::iter::once(input.authority.to_owned())
            .chain(input.extra_hosts.iter().cloned())
            .collect()
    };
    let config = Config {
        hosts,
        key_prefix: input.key_prefix.to_owned(),
        max_bytes: usize::try_from(input.max_bytes).unwrap_or(usize::MAX),
        strategy: input.mode,
        // A child playlist carries the viewer's own (verified) credential as its
        // -PREFIX copy: no new grant, and the child's own URIs outside its
        // directory (../keys/k.key) can still be signed at the next hop.
        child_credential: ChildCredential::Incoming,
        ..Config::default()
    };
    let out = playlist_rewrite::rewrite(
        input.body,
        input.playlist_url,
        input.incoming,
        &config,
        input.signer,
        input.cache,
    )
    .map_err(|e| match e {
        Error::TooLarge { limit, .. } => RewriterError::TooLarge(limit as u64),
        Error::Binary { .. } | Error::NotUtf8 { .. } | Error::NoHeader { .. } | Error::Malformed(_) => {
            RewriterError::NotAPlaylist(e.to_string())
        }
        Error::ReuseNotCovering { .. } => RewriterError::ReuseNotCovering(e.to_string()),
        other => RewriterError::Signing(other.to_string()),
    })?;
    let body =
        String::from_utf8(out.body).map_err(|_| RewriterError::Signing("rewritten playlist is not UTF-8".into()))?;
    Ok(Outcome {
        body,
        uris_signed: out.summary.uris_signed,
        uris_untouched: out.summary.untouched.len(),
        signatures_computed: out.summary.signatures_computed,
        signatures_reused: out.summary.signatures_reused,
    })
}
