//! Re-signing every URI of an HLS playlist for CloudFront, byte-faithful.
//!
//! Given a playlist's bytes, the URL the viewer fetched it at, and the
//! credential the viewer presented ([`Incoming`], already verified), this
//! crate finds every URI the HLS specification allows (RFC 8216 and its
//! second edition, with Apple's extensions: see [`URI_ATTRIBUTES`]), resolves
//! it against the playlist URL, and inserts CloudFront's signed-URL
//! parameters into the ones on our hosts. Child playlists (variants,
//! renditions, I-frame and image playlists, rendition reports, interstitial
//! assets, any `.m3u8`) also get the `KEY_PREFIX` copies, so that the next
//! request reaches the rewriter with a credential it can read.
//!
//! Every other byte stays as it was: a BOM, CRLF line ends, blank lines,
//! comments, titles with commas, unknown tags, a relative URI's relative
//! form, its query and `#fragment` (the parameters go before the fragment,
//! joined with `?` or `&`; stale credential parameters are removed first).
//! A playlist with nothing to sign comes back unchanged. The values written
//! are CloudFront base64, digits and key ids: nothing a player would escape.
//!
//! No outgoing policy is wider than the incoming one: the window and the
//! address block are copied, and each resource matches only URLs that the
//! incoming resource matches, in one of the playlist's directories on one of
//! our hosts.
//!
//! Hosts: by default, the playlist's own. When several are configured
//! ([`ConfigBuilder::hosts`]), the first is the distribution's own host,
//! the one the incoming grant names, and the others are its aliases
//! (alternate domain names of the same distribution). A URI on an alias is
//! covered when the same path on the first host is (or when the grant names
//! the alias itself), and is signed with a resource on the alias: the same
//! path pattern, which CloudFront matches against the host the player uses.
//! So the outgoing resource's path is always within the incoming one's. A URI that cannot be signed within that is left untouched and
//! listed with its [`Reason`]: other hosts, `skd://` and `data:` URIs, URIs
//! outside the grant, variables that only the player can resolve.
//!
//! `EXT-X-DEFINE`: `NAME`/`VALUE` variables are substituted to compute the
//! URL (the text keeps its `{$name}` references); an `IMPORT` or
//! `QUERYPARAM` variable is known only to the player, so a URI with one in
//! its directory is left untouched, while one in the last path segment or the
//! query still has a known directory and is signed for it. The variable's
//! value is assumed to hold no `?` or `#`. A URI is not expanded past
//! CloudFront's 8,192-byte URL limit ([`Reason::TooLong`], counted before
//! anything is copied), and the values substituted in one rewrite add at
//! most [`Config::max_bytes`] bytes in all ([`Reason::ExpansionLimit`] for
//! the URIs after that): a short playlist cannot make the work grow with the
//! square of its size.
//!
//! A body is a playlist when it is at most [`Config::max_bytes`], holds no
//! NUL byte, is UTF-8 and starts with the `#EXTM3U` line (after an optional
//! BOM); anything else is a typed [`Error`]. It is a master playlist when the
//! first tag that only one kind may hold is a master tag (as m3u8-rs decides,
//! without linking it), a media playlist otherwise. Nothing parses it further:
//! a line that is not HLS is copied as it is.
//!
//! The operator's settings (hosts, the `KEY_PREFIX` suffix, the size
//! limits, the signing budget, the [`Strategy`]) are a [`Config`], validated once when it is built
//! ([`Config::builder`], refusing with a [`ConfigError`]): a rewrite never
//! checks them again, and fails only for the request at hand.
//!
//! The signing seam: [`rewrite`] signs with a [`UrlSigner`](cloudfront_sign::UrlSigner)
//! in the process; [`plan_rewrite`] needs only the signer's public side
//! ([`Signatory`](cloudfront_sign::Signatory)) and lists the policy bytes the
//! cache lacks (within the budget), and [`PendingRewrite::finish`] takes their
//! signatures, made elsewhere (a key in AWS KMS), caches them and emits the
//! same bytes. [`Incoming::with_expiry_granularity`] rounds the outgoing
//! window's end down so that viewers share signatures.
//!
//! It does no I/O and reads no clock: the window comes from the incoming
//! grant. It does not verify the incoming credential (see
//! [`Incoming::verify`]), fetch playlists, or compress the output.
//!
//! # Bounds
//!
//! Time is linear in the input (one pass to find the variables, one to plan
//! and measure, one to build), plus one signature per distinct policy (see
//! [`Strategy`]), at most [`Config::max_new_signatures`] of them. Memory is
//! bounded for any body up to [`Config::max_bytes`]:
//!
//! - The output's size is known before it is built: every credential's
//!   length is known from its policy and the key (an RSA signature has the
//!   modulus's length, an ECDSA P-256 one at most 72 bytes), so the plan
//!   counts the output as it grows and refuses it with
//!   [`Error::OutputTooLarge`] as soon as it passes
//!   [`Config::max_output_bytes`] (default 128 MiB), before anything is signed
//!   or allocated for it. The answer is then allocated once, at its exact size.
//! - Besides the input (borrowed) and the answer, a rewrite holds: about 100
//!   bytes per URI it signs (at most one per 130 bytes of output), the query
//!   of each credential it writes (each written into the output at least
//!   once), each distinct policy's resource (at most 8 KiB; a custom one is
//!   in the output too), a copy of each URI it leaves untouched plus about
//!   40 bytes (at most 15 times the input), and one expanded URL at a time.
//!
//! Altogether at most about 3 × `max_output_bytes` + 16 × `max_bytes`, for a
//! playlist URL of up to about 100 bytes: a 4 MiB playlist of one-byte URIs,
//! which would grow to 1.2 GB, is refused with 27 MB allocated at the peak.
//! The [`SignatureCache`] is the caller's, bounded by its capacity.
//!
//! # Signing budget
//!
//! [`Strategy::PerUri`] signs every URI for every viewer (the policies
//! embed the viewer's window, so two viewers share none): 10,000 segments
//! took 13.4 s with RSA-2048 and 0.44 s with ECDSA P-256 on two (shared)
//! cores here, 19 and 17 ms once cached (`cargo bench -p playlist-rewrite
//! --bench per_uri`). [`Config::max_new_signatures`] bounds one rewrite's
//! work, with this contract:
//!
//! - Policies are looked up, and the missing signatures made, in batches of
//!   256 in playlist order; each batch goes into the [`SignatureCache`] as
//!   soon as it is made, so even a rewrite cut short (a timeout) keeps them.
//! - When more signatures are missing than the budget, the first budget's
//!   worth are made and cached, then the rewrite fails with
//!   [`Error::SigningBudget`] `{ needed, signed, budget }`, before anything
//!   is built. The caller answers 503 with `Retry-After`.
//! - The same request again (the same credential: the same window, so the
//!   same policies) finds those in the cache and continues: it succeeds
//!   after `needed / budget` retries, provided the cache keeps them: its
//!   capacity must exceed the signatures of the playlists being retried at
//!   once (a capacity of 0 never progresses).
//!
//! # Example
//!
//! ```
//! use cloudfront_sign::{HashAlgorithm, SigningKey, UrlSigner, Verifier};
//! use playlist_rewrite::{Config, Incoming, SignatureCache, rewrite};
//!
//! # let pem = include_str!("../../cloudfront-sign/tests/fixtures/rsa2048_pkcs1.pem");
//! let signer = UrlSigner::new("K2JCJMDEHXQW5F".parse()?, SigningKey::from_pem(pem)?, HashAlgorithm::Sha1);
//! let cache = SignatureCache::default(); // one per process
//!
//! // What the viewer holds: the movie's directory until 2030 (normally read
//! // from the request with `Incoming::verify`).
//! let incoming = Incoming::operator(&signer, "https://d111111abcdef8.cloudfront.net/movies/movie_1/*", 1_900_000_000)?;
//!
//! let playlist = b"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\nseg_000.ts\n#EXTINF:6,\nseg_001.ts\n#EXT-X-ENDLIST\n";
//! let url = "https://d111111abcdef8.cloudfront.net/movies/movie_1/index.m3u8";
//! let out = rewrite(playlist, url, &incoming, &Config::default(), &signer, &cache)?;
//! assert_eq!((out.summary.uris_signed, out.summary.signatures_computed), (2, 1));
//!
//! // Each segment line now verifies as CloudFront would check it.
//! let text = out.body;
//! let line = text.lines().find(|l| l.starts_with("seg_001.ts?Policy=")).unwrap();
//! let mut verifier = Verifier::new();
//! verifier.trust(signer.key_pair_id(), signer.verifying_key());
//! let absolute = format!("https://d111111abcdef8.cloudfront.net/movies/movie_1/{line}");
//! assert!(verifier.verify_url(&absolute, "", 1_800_000_000, None).is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cache;
mod config;
pub mod delivery;
mod error;
mod info;
mod plan;
mod playlist;
mod rewrite;
mod scan;
mod sign;
mod strategy;
mod uri;

pub use cache::SignatureCache;
pub use config::{Config, ConfigBuilder};
pub use delivery::{BlockingReload, DirectiveError, Readiness};
pub use error::{ConfigError, Error};
pub use info::{Incomplete, PlaylistInfo, PlaylistType};
pub use playlist::PlaylistKind;
pub use rewrite::{
    Incoming, PendingRewrite, Rewritten, Summary, Untouched, plan_rewrite, rewrite, rewrite_as_operator,
};
pub use scan::URI_ATTRIBUTES;
pub use strategy::{ChildCredential, Strategy, covers_everything_after};
pub use uri::Reason;
