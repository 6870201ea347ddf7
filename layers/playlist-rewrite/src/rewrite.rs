//! The rewrite, in phases: check the body; plan what each URI gets as the
//! scan finds it, measuring the output as the plan grows (an answer over
//! [`Config::max_output_bytes`] is refused then, before anything is signed
//! or built); sign each distinct policy once; emit the input with the
//! credentials inserted, into a buffer of exactly the output's size.

use std::cell::Cell;
use std::net::IpAddr;

use cloudfront_sign::{
    Credential, Denied, Grant, KeySuffix, Policy, RESERVED_PARAMS, Signatory, UrlSigner, Verifier, wildcard_match,
};

use crate::cache::SignatureCache;
use crate::plan::{Cred, Planned, Signing, plan};
use crate::sign::{Lookup, sign};
use crate::strategy::{Strategy, covers_everything_after};
use crate::uri::{Base, Context, Reason};
use crate::{Config, Error, PlaylistKind, playlist, scan};

/// The credential the viewer presented for this playlist, already verified:
/// every outgoing policy stays within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Its policy (for a canned credential: the URL it was verified for, and `Expires`).
    pub policy: Policy,
    /// Whether it was canned (an exact URL, no wildcards).
    pub canned: bool,
    /// The parameter values, as [`Strategy::Reuse`] and
    /// [`ChildCredential::Incoming`](crate::ChildCredential::Incoming) append them.
    pub credential: Credential,
}

impl Incoming {
    /// From a verified grant and the credential it was read from.
    pub fn new(grant: Grant, credential: Credential) -> Self {
        Incoming {
            policy: grant.policy,
            canned: grant.canned,
            credential,
        }
    }

    /// Verifies the copy of the credential under `suffix` in `url` (the
    /// playlist request as the rewriter received it, CloudFront's own
    /// parameters stripped) at `now`, for a client at `client_ip`.
    pub fn verify(
        verifier: &Verifier,
        url: &str,
        suffix: &KeySuffix,
        now: u64,
        client_ip: Option<IpAddr>,
    ) -> Result<Self, Denied> {
        let grant = verifier.verify_url(url, suffix, now, client_ip)?;
        let query = url.split_once('?').map_or("", |(_, q)| q);
        Ok(Incoming::new(grant, Credential::from_query(query, suffix)?))
    }

    /// The same grant with the end of its window rounded down to a multiple
    /// of `granularity` seconds ([`cloudfront_sign::round_expiry`]: never
    /// later than the incoming `DateLessThan`, never to or before `now`, as
    /// is when `granularity` is 0). The outgoing policies take this window,
    /// so viewers whose credentials end within the same window (and carry
    /// no IP condition) get byte-identical policies and share signatures.
    /// The credential itself, which [`Strategy::Reuse`] passes on, is kept.
    pub fn with_expiry_granularity(mut self, granularity: u64, now: u64) -> Self {
        self.policy.date_less_than = cloudfront_sign::round_expiry(self.policy.date_less_than, granularity, now);
        self
    }

    /// The operator's own grant: a custom policy for `resource` until
    /// `expires`, signed with `signer` (what `cfsign rewrite` starts from).
    pub fn operator(signer: &UrlSigner, resource: &str, expires: u64) -> Result<Self, cloudfront_sign::Error> {
        let policy = Policy::new(resource, expires);
        let credential = signer.sign_policy(&policy)?;
        Ok(Incoming {
            policy,
            canned: false,
            credential,
        })
    }

    /// Whether the incoming policy admits exactly `url`.
    pub(crate) fn matches(&self, url: &str) -> bool {
        if self.canned {
            self.policy.resource == url
        } else {
            wildcard_match(&self.policy.resource, url)
        }
    }

    /// Whether the incoming policy admits every URL that starts with `prefix`.
    pub(crate) fn covers_everything_after(&self, prefix: &str) -> bool {
        !self.canned && covers_everything_after(&self.policy.resource, prefix)
    }
}

/// A URI left as it was, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untouched {
    /// 1-based line number.
    pub line: usize,
    /// The URI as written.
    pub uri: String,
    /// Why it was not signed.
    pub reason: Reason,
}

/// What a rewrite did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Master or media playlist (the first tag only one kind may hold decides).
    pub kind: PlaylistKind,
    /// URIs that now carry a credential.
    pub uris_signed: usize,
    /// URIs left as they were, in order.
    pub untouched: Vec<Untouched>,
    /// Signatures computed by this rewrite.
    pub signatures_computed: usize,
    /// Signatures found in the cache instead.
    pub signatures_reused: usize,
}

/// The rewritten playlist and what was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    /// The playlist with every eligible URI signed; the input itself when
    /// nothing was signed. Text: the input was checked to be UTF-8, and
    /// everything inserted is ASCII.
    pub body: String,
    /// What was done.
    pub summary: Summary,
}

/// Rewrites `body`, served at `playlist_url`, for a viewer who holds
/// `incoming`: every eligible URI gets a credential within that grant.
///
/// Errors when the body is not a playlist, the playlist URL is not an
/// absolute http(s) URL, the output would pass
/// [`Config::max_output_bytes`] (found before signing), more new signatures
/// are needed than [`Config::max_new_signatures`] (those are made and
/// cached first), [`Strategy::Reuse`] cannot cover a URI, or the signer
/// fails; never for the configuration, which was checked when it was built. URIs that cannot be signed are left untouched and listed in the summary.
pub fn rewrite(
    body: &[u8],
    playlist_url: &str,
    incoming: &Incoming,
    config: &Config,
    signer: &UrlSigner,
    cache: &SignatureCache,
) -> Result<Rewritten, Error> {
    // Plan and measure (refused here when over budget), then sign, then build.
    let (text, kind, planned) = check_and_plan(body, playlist_url, incoming, config, signer.signatory())?;
    let signed = sign(
        &planned.needs,
        incoming,
        signer,
        cache,
        config.strategy() == Strategy::PerUri,
        config.max_new_signatures(),
    )?;
    Ok(build(
        text,
        kind,
        planned,
        signed.credentials,
        (signed.computed, signed.reused),
        incoming,
        config,
    ))
}

/// The first step of a rewrite whose signatures are made elsewhere (a key
/// in AWS KMS, or the local key on other threads): checks, plans and
/// measures `body` as [`rewrite`] does, and looks each distinct policy up
/// in `cache`. [`PendingRewrite::to_sign`] lists the policy bytes still
/// to sign (at most [`Config::max_new_signatures`] of them);
/// [`PendingRewrite::finish`] takes their signatures and builds the answer.
///
/// The same errors as [`rewrite`], at the same points: a body that is not
/// a playlist or an output over budget is refused here, before anything
/// is to be signed.
///
/// ```
/// use cloudfront_sign::{HashAlgorithm, SigningKey, UrlSigner};
/// use playlist_rewrite::{Config, Incoming, SignatureCache, plan_rewrite, rewrite};
///
/// # let pem = include_str!("../../cloudfront-sign/tests/fixtures/rsa2048_pkcs1.pem");
/// let signer = UrlSigner::new("K2JCJMDEHXQW5F".parse()?, SigningKey::from_pem(pem)?, HashAlgorithm::Sha256);
/// let incoming = Incoming::operator(&signer, "https://d.example/movies/movie_1/*", 1_900_000_000)?;
/// let playlist = b"#EXTM3U\n#EXTINF:6,\nseg_000.ts\n#EXT-X-ENDLIST\n";
/// let url = "https://d.example/movies/movie_1/index.m3u8";
/// let (config, cache) = (Config::default(), SignatureCache::default());
///
/// // Only the public side of the signer is needed to plan.
/// let pending = plan_rewrite(playlist, url, &incoming, &config, signer.signatory(), &cache)?;
/// let signatures = pending
///     .to_sign()
///     .map(|policy| signer.sign_bytes(policy))
///     .collect::<Result<Vec<_>, _>>()?;
/// let out = pending.finish(signatures, &cache)?;
/// // The same bytes as the one-step rewrite (RSA signatures are deterministic).
/// let again = rewrite(playlist, url, &incoming, &config, &signer, &SignatureCache::default())?;
/// assert_eq!(out.body, again.body);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plan_rewrite<'a>(
    body: &'a [u8],
    playlist_url: &str,
    incoming: &'a Incoming,
    config: &'a Config,
    signatory: &Signatory,
    cache: &SignatureCache,
) -> Result<PendingRewrite<'a>, Error> {
    let (text, kind, planned) = check_and_plan(body, playlist_url, incoming, config, signatory)?;
    let lookup = Lookup::new(
        &planned.needs,
        &incoming.policy,
        signatory,
        cache,
        config.max_new_signatures(),
    );
    Ok(PendingRewrite {
        text,
        kind,
        planned,
        lookup,
        incoming,
        config,
        signatory: signatory.clone(),
    })
}

/// A rewrite planned and measured, waiting for the signatures of
/// [`PendingRewrite::to_sign`] (see [`plan_rewrite`]).
pub struct PendingRewrite<'a> {
    text: &'a str,
    kind: PlaylistKind,
    planned: Planned<'a>,
    lookup: Lookup,
    incoming: &'a Incoming,
    config: &'a Config,
    signatory: Signatory,
}

impl std::fmt::Debug for PendingRewrite<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingRewrite")
            .field("kind", &self.kind)
            .field("policies", &self.planned.needs.len())
            .field("to_sign", &self.lookup.to_sign.len())
            .finish_non_exhaustive()
    }
}

impl PendingRewrite<'_> {
    /// The exact bytes of each policy still to sign, in playlist order: the
    /// distinct policies the cache does not hold, at most
    /// [`Config::max_new_signatures`] of them. Each is to be signed with the
    /// signatory's key and hash (RSA PKCS#1 v1.5 or ECDSA P-256, DER).
    pub fn to_sign(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.lookup
            .to_sign
            .iter()
            .map(|&index| self.lookup.json(index).as_bytes())
    }

    /// The distinct policies the rewrite takes, cached or not.
    pub fn policies(&self) -> usize {
        self.planned.needs.len()
    }

    /// When the signer made only some of the signatures of
    /// [`to_sign`](Self::to_sign) (`None` for the others, in its order):
    /// puts those it made in `cache`, so that the retry of the request signs
    /// only the rest. Returns how many were kept (a signature longer than
    /// the key's longest is not).
    pub fn keep_signed(&self, signatures: &[Option<Vec<u8>>], cache: &SignatureCache) -> usize {
        self.lookup.keep(signatures, &self.signatory, cache)
    }

    /// Builds the answer from the raw signatures of [`to_sign`](Self::to_sign),
    /// in its order, and puts them in `cache`. Errors when their number
    /// differs or one is longer than the key's longest signature (the
    /// output's size was measured with it), and with
    /// [`Error::SigningBudget`] (after caching them) when more were missing
    /// than the budget.
    pub fn finish(self, signatures: Vec<Vec<u8>>, cache: &SignatureCache) -> Result<Rewritten, Error> {
        let PendingRewrite {
            text,
            kind,
            planned,
            lookup,
            incoming,
            config,
            signatory,
        } = self;
        let (credentials, computed) = lookup.finish(&planned.needs, signatures, &incoming.policy, &signatory, cache)?;
        let reused = planned.needs.len() - computed;
        Ok(build(
            text,
            kind,
            planned,
            credentials,
            (computed, reused),
            incoming,
            config,
        ))
    }
}

/// Checks the body and plans it: the text, its kind and the plan.
fn check_and_plan<'t>(
    body: &'t [u8],
    playlist_url: &str,
    incoming: &Incoming,
    config: &Config,
    signatory: &Signatory,
) -> Result<(&'t str, PlaylistKind, Planned<'t>), Error> {
    let (text, kind) = playlist::check(body, config.max_bytes())?;
    let (base, hosts) = Base::new(playlist_url, config.host_list())?;
    let defines = scan::defines(text);
    let suffix = config.key_suffix();
    let suffixed: Vec<String> = RESERVED_PARAMS.iter().map(|p| format!("{p}{suffix}")).collect();
    let stale: Vec<&str> = RESERVED_PARAMS
        .iter()
        .copied()
        .chain(suffixed.iter().map(String::as_str))
        .collect();
    let cx = Context {
        base: &base,
        hosts: &hosts,
        defines: &defines,
        stale: &stale,
        expansion_left: Cell::new(config.max_bytes()),
    };
    let planned = plan(text, kind, &cx, incoming, config, signatory)?;
    Ok((text, kind, planned))
}

/// The answer: `text` with the credentials inserted, and the summary
/// (`counts`: signatures computed and reused).
fn build(
    text: &str,
    kind: PlaylistKind,
    planned: Planned<'_>,
    credentials: Vec<Credential>,
    (computed, reused): (usize, usize),
    incoming: &Incoming,
    config: &Config,
) -> Rewritten {
    let queries = Queries::new(
        credentials,
        &planned.signings,
        &incoming.credential,
        config.key_suffix(),
    );
    let summary = Summary {
        kind,
        uris_signed: planned.signings.len(),
        untouched: planned.untouched,
        signatures_computed: computed,
        signatures_reused: reused,
    };
    let body = if planned.signings.is_empty() {
        text.to_owned()
    } else {
        emit(text, &planned.signings, &queries)
    };
    Rewritten { body, summary }
}

/// The query text of each credential, written once: `(plain, suffixed)`,
/// the suffixed one only for the credentials that child playlists carry.
struct Queries {
    signed: Vec<(String, String)>,
    incoming: (String, String),
}

impl Queries {
    /// The queries of `credentials` (indexed by [`Cred::Signed`]) and of the incoming one.
    /// Each credential is dropped once its queries are written.
    fn new(credentials: Vec<Credential>, signings: &[Signing<'_>], incoming: &Credential, suffix: &KeySuffix) -> Self {
        let mut suffixed_used = vec![false; credentials.len()];
        let mut incoming_used = (false, false);
        for signing in signings {
            match signing.plain {
                Cred::Incoming => incoming_used.0 = true,
                Cred::Signed(_) => {}
            }
            match signing.prefixed {
                Some(Cred::Signed(index)) => suffixed_used[index] = true,
                Some(Cred::Incoming) => incoming_used.1 = true,
                None => {}
            }
        }
        let signed = credentials
            .into_iter()
            .zip(suffixed_used)
            .map(|(credential, used)| {
                let suffixed = if used { credential.query(suffix) } else { String::new() };
                (credential.query(""), suffixed)
            })
            .collect();
        let query = |used: bool, suffix: &str| if used { incoming.query(suffix) } else { String::new() };
        Queries {
            signed,
            incoming: (query(incoming_used.0, ""), query(incoming_used.1, suffix.as_str())),
        }
    }

    /// `(plain, suffixed)` of `cred`.
    fn of(&self, cred: Cred) -> &(String, String) {
        match cred {
            Cred::Incoming => &self.incoming,
            Cred::Signed(index) => &self.signed[index],
        }
    }

    /// The exact size of the output: `input_len` with each URI replaced.
    fn output_size(&self, signings: &[Signing<'_>], input_len: usize) -> usize {
        signings.iter().fold(input_len, |size, signing| {
            let prefixed = signing.prefixed.map_or(0, |cred| self.of(cred).1.len());
            size - signing.replaced() + signing.growth(self.of(signing.plain).0.len(), prefixed)
        })
    }
}

/// The output: `text` with each signed URI's head, join, credential(s) and
/// fragment in place of the URI, in a buffer of exactly the output's size.
fn emit(text: &str, signings: &[Signing<'_>], queries: &Queries) -> String {
    let size = queries.output_size(signings, text.len());
    let mut out = String::with_capacity(size);
    let mut pos = 0;
    for signing in signings {
        out.push_str(&text[pos..signing.range.start]);
        out.push_str(&signing.head);
        out.push_str(signing.join);
        out.push_str(&queries.of(signing.plain).0);
        if let Some(prefixed) = signing.prefixed {
            out.push('&');
            out.push_str(&queries.of(prefixed).1);
        }
        out.push_str(signing.fragment);
        pos = signing.range.end;
    }
    out.push_str(&text[pos..]);
    debug_assert_eq!(out.len(), size);
    out
}

/// What `cfsign rewrite` does: signs `body` as the operator, from a grant of
/// the playlist URL's whole origin (`https://HOST/*`) until `expires`.
/// The outgoing policies are still built per [`Config::strategy`].
pub fn rewrite_as_operator(
    body: &[u8],
    playlist_url: &str,
    expires: u64,
    config: &Config,
    signer: &UrlSigner,
) -> Result<Rewritten, Error> {
    let parsed = url::Url::parse(playlist_url).map_err(|e| Error::PlaylistUrl(e.to_string()))?;
    let origin = parsed.origin().ascii_serialization();
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::PlaylistUrl("not an absolute http(s) url with a host".to_owned()));
    }
    let incoming = Incoming::operator(signer, &format!("{origin}/*"), expires)?;
    rewrite(
        body,
        playlist_url,
        &incoming,
        config,
        signer,
        &SignatureCache::new(1024),
    )
}
