//! The rewrite: check the body, find the URIs, decide a policy for each,
//! sign each distinct policy once, and copy the input with the credentials
//! inserted, into an output buffer sized exactly beforehand.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use cloudfront_sign::{
    Credential, CredentialPolicy, Denied, Grant, KeySuffix, MAX_URL_BYTES, Policy, RESERVED_PARAMS, UrlSigner,
    Verifier, canned_policy_json, encoding, wildcard_match,
};

use crate::cache::SignatureCache;
use crate::scan::scan;
use crate::strategy::{ChildCredential, Strategy, covers_everything_after, is_literal};
use crate::uri::{Base, Context, Reason, Target, analyze};
use crate::{Config, Error, PlaylistKind, playlist};

/// The credential the viewer presented for this playlist, already verified:
/// every outgoing policy stays within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Its policy (for a canned credential: the URL it was verified for, and `Expires`).
    pub policy: Policy,
    /// Whether it was canned (an exact URL, no wildcards).
    pub canned: bool,
    /// The parameter values, as [`Strategy::Reuse`] and
    /// [`ChildCredential::Incoming`] append them.
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

    fn matches(&self, url: &str) -> bool {
        if self.canned {
            self.policy.resource == url
        } else {
            wildcard_match(&self.policy.resource, url)
        }
    }

    fn covers_everything_after(&self, prefix: &str) -> bool {
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
    /// nothing was signed.
    pub body: Vec<u8>,
    /// What was done.
    pub summary: Summary,
}

/// A policy to sign: canned (an exact URL) or custom (a resource pattern),
/// the window and address block always those of the incoming grant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Need {
    canned: bool,
    resource: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cred {
    Incoming,
    Signed(usize),
}

enum Plan<'a> {
    Skip(Reason),
    Sign {
        target: Target<'a>,
        plain: Cred,
        prefixed: Option<Cred>,
    },
}

/// Rewrites `body`, served at `playlist_url`, for a viewer who holds
/// `incoming`: every eligible URI gets a credential within that grant.
///
/// Errors when the body is not a playlist, the playlist URL is not an
/// absolute http(s) URL, [`Strategy::Reuse`] cannot cover a URI, or the
/// signer fails; never for the configuration, which was checked when it was built. URIs that
/// cannot be signed are left untouched and listed in the summary.
pub fn rewrite(
    body: &[u8],
    playlist_url: &str,
    incoming: &Incoming,
    config: &Config,
    signer: &UrlSigner,
    cache: &SignatureCache,
) -> Result<Rewritten, Error> {
    let prefix = config.key_suffix().as_str();
    let (text, kind) = playlist::check(body, config.max_bytes())?;
    let (base, hosts) = Base::new(playlist_url, config.host_list())?;
    let scan = scan(text, kind);
    let suffixed: Vec<String> = RESERVED_PARAMS.iter().map(|p| format!("{p}{prefix}")).collect();
    let stale: Vec<&str> = RESERVED_PARAMS
        .iter()
        .copied()
        .chain(suffixed.iter().map(String::as_str))
        .collect();
    let cx = Context {
        base: &base,
        hosts: &hosts,
        defines: &scan.defines,
        stale: &stale,
    };

    let mut needs: Vec<Need> = Vec::new();
    let mut need_index: HashMap<Need, usize> = HashMap::new();
    let mut dirs: HashMap<String, DirState> = HashMap::new();
    let mut last: Option<(String, DirState)> = None;
    let mut plans = Vec::with_capacity(scan.sites.len());
    for site in &scan.sites {
        let text_uri = &text[site.range.clone()];
        let target = match analyze(text_uri, site.playlist, &cx) {
            Ok(target) => target,
            Err(reason) => {
                plans.push(Plan::Skip(reason));
                continue;
            }
        };
        // Per directory, once: whether the grant covers all of it (and, for
        // resign, the index of its policy). Consecutive URIs mostly share a
        // directory, so the last one is checked before the map.
        let mut state = match last.as_ref().filter(|(dir, _)| dir == target.dir()) {
            Some(&(_, state)) => state,
            None => match dirs.get(target.dir()) {
                Some(&state) => state,
                None => {
                    let covered = incoming.covers_everything_after(target.dir());
                    let state = DirState { covered, need: None };
                    dirs.insert(target.dir().to_owned(), state);
                    state
                }
            },
        };
        if config.strategy() == Strategy::Resign && state.covered && state.need.is_none() {
            let need = Need {
                canned: false,
                resource: format!("{}*", target.dir()),
            };
            state.need = Some(intern(&mut needs, &mut need_index, need));
            dirs.insert(target.dir().to_owned(), state);
        }
        match &mut last {
            Some((dir, cached)) if dir == target.dir() => *cached = state,
            _ => last = Some((target.dir().to_owned(), state)),
        }
        let index = match config.strategy() {
            Strategy::Resign if state.covered => state.need,
            Strategy::Resign => exact(&target, incoming).map(|need| intern(&mut needs, &mut need_index, need)),
            Strategy::PerUri => {
                per_uri(&target, incoming, state.covered).map(|need| intern(&mut needs, &mut need_index, need))
            }
            Strategy::Reuse => {
                if !reuse_covers(&target, incoming, prefix, state.covered) {
                    return Err(Error::ReuseNotCovering {
                        uri: text_uri.to_owned(),
                        line: site.line,
                        resource: incoming.policy.resource.clone(),
                    });
                }
                plans.push(Plan::Sign {
                    prefixed: target.playlist.then_some(Cred::Incoming),
                    target,
                    plain: Cred::Incoming,
                });
                continue;
            }
        };
        let Some(index) = index else {
            plans.push(Plan::Skip(Reason::OutsideGrant));
            continue;
        };
        let plain = Cred::Signed(index);
        let prefixed = target.playlist.then_some(match config.child_credential() {
            ChildCredential::Copy => plain,
            ChildCredential::Incoming => Cred::Incoming,
        });
        plans.push(Plan::Sign {
            target,
            plain,
            prefixed,
        });
    }

    let (credentials, computed, reused) =
        sign_needs(&needs, incoming, signer, cache, config.strategy() == Strategy::PerUri)?;
    // Each credential's query text, once: plain for every URI, prefixed
    // only for those that child playlists use.
    let mut prefixed_used = vec![false; credentials.len()];
    for plan in &plans {
        if let Plan::Sign {
            prefixed: Some(Cred::Signed(index)),
            ..
        } = plan
        {
            prefixed_used[*index] = true;
        }
    }
    let rendered: Vec<(String, String)> = credentials
        .iter()
        .zip(prefixed_used)
        .map(|(credential, used)| {
            (
                credential.query(""),
                if used { credential.query(prefix) } else { String::new() },
            )
        })
        .collect();
    let incoming_rendered = (incoming.credential.query(""), incoming.credential.query(prefix));
    let query = |cred: Cred| match cred {
        Cred::Incoming => &incoming_rendered,
        Cred::Signed(index) => &rendered[index],
    };

    // Final decisions (length), and the exact output size.
    let mut size = body.len();
    let mut untouched = Vec::new();
    let mut signed = 0;
    for (plan, site) in plans.iter_mut().zip(&scan.sites) {
        if let Plan::Sign {
            target,
            plain,
            prefixed,
        } = plan
        {
            let added = 1 + query(*plain).0.len() + prefixed.map_or(0, |p| 1 + query(p).1.len());
            if target.url.len() + added > MAX_URL_BYTES {
                *plan = Plan::Skip(Reason::TooLong);
            } else {
                let removed = site.range.len() - target.fragment.len() - target.head.len();
                size = size + target.join.len() + added - 1 - removed;
                signed += 1;
            }
        }
        if let Plan::Skip(reason) = plan {
            untouched.push(Untouched {
                line: site.line,
                uri: text[site.range.clone()].to_owned(),
                reason: *reason,
            });
        }
    }
    let summary = Summary {
        kind,
        uris_signed: signed,
        untouched,
        signatures_computed: computed,
        signatures_reused: reused,
    };
    if signed == 0 {
        return Ok(Rewritten {
            body: body.to_vec(),
            summary,
        });
    }

    let mut out = String::with_capacity(size);
    let mut pos = 0;
    for (plan, site) in plans.iter().zip(&scan.sites) {
        let Plan::Sign {
            target,
            plain,
            prefixed,
        } = plan
        else {
            continue;
        };
        out.push_str(&text[pos..site.range.start]);
        out.push_str(&target.head);
        out.push_str(target.join);
        out.push_str(&query(*plain).0);
        if let Some(prefixed) = prefixed {
            out.push('&');
            out.push_str(&query(*prefixed).1);
        }
        out.push_str(target.fragment);
        pos = site.range.end;
    }
    out.push_str(&text[pos..]);
    debug_assert_eq!(out.len(), size);
    Ok(Rewritten {
        body: out.into_bytes(),
        summary,
    })
}

/// The index of `need` in `needs`, added if new.
fn intern(needs: &mut Vec<Need>, index: &mut HashMap<Need, usize>, need: Need) -> usize {
    *index.entry(need).or_insert_with_key(|need| {
        needs.push(need.clone());
        needs.len() - 1
    })
}

/// What is known of one directory: whether the incoming grant covers
/// everything in it, and (resign) the index of its policy once made.
#[derive(Debug, Clone, Copy)]
struct DirState {
    covered: bool,
    need: Option<usize>,
}

/// [`Strategy::PerUri`]: canned when that drops no condition, else custom.
fn per_uri(target: &Target<'_>, incoming: &Incoming, dir_covered: bool) -> Option<Need> {
    let canned_is_narrower = incoming.policy.date_greater_than.is_none() && incoming.policy.ip_address.is_none();
    if !target.playlist && !target.unresolved && canned_is_narrower && incoming.matches(&target.url) {
        return Some(Need {
            canned: true,
            resource: target.url.clone(),
        });
    }
    if dir_covered {
        let star = if target.playlist { "*" } else { "" };
        return Some(Need {
            canned: false,
            resource: format!("{}{star}", target.url),
        });
    }
    exact(target, incoming)
}

/// A custom policy for exactly the URL (a playlist: the URL and any query
/// after it), only when the URL is free of wildcard characters, so that the
/// pattern matches nothing the incoming resource does not.
fn exact(target: &Target<'_>, incoming: &Incoming) -> Option<Need> {
    if target.unresolved || !is_literal(&target.url) {
        return None;
    }
    if target.playlist {
        incoming.covers_everything_after(&target.url).then(|| Need {
            canned: false,
            resource: format!("{}*", target.url),
        })
    } else {
        incoming.matches(&target.url).then(|| Need {
            canned: false,
            resource: target.url.clone(),
        })
    }
}

/// [`Strategy::Reuse`]: whether the incoming credential admits the URL as
/// CloudFront will see it (a child playlist's with the prefixed copy):
/// certainly when it covers everything in the directory.
fn reuse_covers(target: &Target<'_>, incoming: &Incoming, prefix: &str, dir_covered: bool) -> bool {
    if dir_covered {
        return true;
    }
    if target.unresolved {
        return false;
    }
    if !target.playlist {
        return incoming.matches(&target.url);
    }
    let join = if target.url.contains('?') { '&' } else { '?' };
    incoming.matches(&format!("{}{join}{}", target.url, incoming.credential.query(prefix)))
}

/// Below this many signatures, threads cost more than they save.
const PARALLEL_THRESHOLD: usize = 8;

/// Signs each need once, looking in the cache first. Returns the credentials
/// (in the order of `needs`), and how many were computed and reused.
fn sign_needs(
    needs: &[Need],
    incoming: &Incoming,
    signer: &UrlSigner,
    cache: &SignatureCache,
    parallel: bool,
) -> Result<(Vec<Credential>, usize, usize), Error> {
    let window = &incoming.policy;
    let policy_of = |need: &Need| Policy {
        resource: need.resource.clone(),
        date_less_than: window.date_less_than,
        date_greater_than: window.date_greater_than,
        ip_address: window.ip_address,
    };
    let mut signatures: Vec<Option<Arc<str>>> = Vec::with_capacity(needs.len());
    let mut keys = Vec::with_capacity(needs.len());
    let mut jsons = Vec::with_capacity(needs.len());
    let mut missing = Vec::new();
    for (index, need) in needs.iter().enumerate() {
        let json = if need.canned {
            canned_policy_json(&need.resource, window.date_less_than)
        } else {
            policy_of(need).to_json()
        };
        let key = SignatureCache::key(signer, &json);
        let found = cache.get(&key);
        if found.is_none() {
            missing.push(index);
        }
        signatures.push(found);
        keys.push(key);
        jsons.push(json);
    }
    let sign_one = |index: usize| -> Result<String, Error> {
        let need = &needs[index];
        let credential = if need.canned {
            signer.sign_canned_params(&need.resource, window.date_less_than)?
        } else {
            signer.sign_policy(&policy_of(need))?
        };
        Ok(credential.signature)
    };
    let made: Vec<String> = if parallel && missing.len() >= PARALLEL_THRESHOLD {
        sign_in_parallel(&missing, &sign_one)?
    } else {
        missing.iter().map(|&index| sign_one(index)).collect::<Result<_, _>>()?
    };
    let computed = made.len();
    for (&index, signature) in missing.iter().zip(made) {
        let signature: Arc<str> = signature.into();
        cache.insert(keys[index].clone(), signature.clone());
        signatures[index] = Some(signature);
    }
    let credentials = needs
        .iter()
        .zip(signatures)
        .zip(&jsons)
        .map(|((need, signature), json)| Credential {
            policy: if need.canned {
                CredentialPolicy::Canned {
                    expires: window.date_less_than,
                }
            } else {
                CredentialPolicy::Custom {
                    encoded: encoding::encode(json.as_bytes()),
                }
            },
            signature: signature.map(|s| s.to_string()).unwrap_or_default(),
            key_pair_id: signer.key_pair_id().to_string(),
            hash: signer.hash(),
        })
        .collect();
    Ok((credentials, computed, needs.len() - computed))
}

/// Signs on every available core with scoped threads, one contiguous chunk
/// each, results in input order.
///
/// Scoped threads rather than rayon: the work is uniform (one signature per
/// item, ~1 ms for RSA-2048), so equal chunks balance as well as work
/// stealing would; it needs no dependency and no global pool that would stay
/// alive in a Lambda between invocations.
fn sign_in_parallel(
    indexes: &[usize],
    sign_one: &(dyn Fn(usize) -> Result<String, Error> + Sync),
) -> Result<Vec<String>, Error> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = indexes.len().div_ceil(cores.max(1));
    std::thread::scope(|scope| {
        let handles: Vec<_> = indexes
            .chunks(chunk.max(1))
            .map(|part| scope.spawn(move || part.iter().map(|&index| sign_one(index)).collect::<Result<Vec<_>, _>>()))
            .collect();
        let mut all = Vec::with_capacity(indexes.len());
        for handle in handles {
            let part = handle
                .join()
                .map_err(|_| Error::Sign(cloudfront_sign::Error::Sign("a signing thread panicked".to_owned())))??;
            all.extend(part);
        }
        Ok(all)
    })
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
