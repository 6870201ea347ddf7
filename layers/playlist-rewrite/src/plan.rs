//! The plan phase of a rewrite, which also measures it: for each URI, skip
//! it (and why) or sign it, with which credential; the distinct policies
//! that takes; and the size of the output, counted as the plan grows, so
//! that an answer over budget is refused before anything is signed or built.
//!
//! The sites are planned one at a time as the scan finds them: nothing is
//! kept of a URI left untouched but its entry in the summary, and nothing of
//! a URI to sign but where it stands and which credential it gets.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use cloudfront_sign::{Credential, CredentialPolicy, KeySuffix, MAX_URL_BYTES, Policy, Signatory, encoding};

use crate::rewrite::{Incoming, Untouched};
use crate::scan::{Site, for_each_site};
use crate::strategy::{ChildCredential, Strategy, is_literal};
use crate::uri::{Context, Reason, Target, analyze};
use crate::{Config, Error, PlaylistKind};

/// A policy to sign: canned (an exact URL) or custom (a resource pattern),
/// the window and address block always those of the incoming grant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Need {
    pub canned: bool,
    pub resource: Arc<str>,
}

impl Need {
    fn custom(resource: String) -> Self {
        Need {
            canned: false,
            resource: resource.into(),
        }
    }
}

/// Which credential a URI gets: the incoming one, or the signature of a need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cred {
    Incoming,
    Signed(usize),
}

/// One URI that gets a credential: `head`, `join`, the credential(s) and
/// `fragment` replace the text at `range`.
pub(crate) struct Signing<'a> {
    pub range: Range<usize>,
    /// The text up to the fragment, stale credential parameters removed.
    pub head: Cow<'a, str>,
    pub fragment: &'a str,
    pub join: &'static str,
    pub plain: Cred,
    /// The credential under the suffixed names (child playlists only).
    pub prefixed: Option<Cred>,
}

impl Signing<'_> {
    /// The bytes this URI adds to the output when its credentials' queries
    /// take `plain` and `prefixed` bytes (`prefixed` 0 when it has none).
    pub fn growth(&self, plain: usize, prefixed: usize) -> usize {
        let separators = 1 + usize::from(self.prefixed.is_some());
        self.head.len() + self.join.len() + separators - 1 + plain + prefixed + self.fragment.len()
    }

    /// The bytes of the input this URI replaces.
    pub fn replaced(&self) -> usize {
        self.range.len()
    }
}

/// What the plan phase found.
pub(crate) struct Planned<'a> {
    /// The URIs to sign, in order.
    pub signings: Vec<Signing<'a>>,
    /// The distinct policies they take, indexed by [`Cred::Signed`].
    pub needs: Vec<Need>,
    /// The URIs left as they were, in order.
    pub untouched: Vec<Untouched>,
    /// The output's size, each signature counted at its longest.
    pub size: usize,
}

/// The lengths of credential queries, known before signing: exact for the
/// incoming credential and for RSA signatures, at most for ECDSA ones.
struct Lengths<'a> {
    window: &'a Policy,
    /// `(plain, suffixed)` of the incoming credential's query.
    incoming: (usize, usize),
    /// `(plain, suffixed)` of a canned query and of a custom one without its
    /// policy, signatures counted at their longest.
    canned: (usize, usize),
    custom: (usize, usize),
}

impl<'a> Lengths<'a> {
    fn new(incoming: &'a Incoming, signer: &Signatory, suffix: &KeySuffix) -> Self {
        let template = |policy| Credential {
            policy,
            signature: String::new(),
            key_pair_id: signer.key_pair_id().to_string(),
            hash: signer.hash(),
        };
        let signature = signer.max_encoded_signature_len();
        let both = |credential: Credential| {
            (
                credential.encoded_len("") + signature,
                credential.encoded_len(suffix) + signature,
            )
        };
        Lengths {
            window: &incoming.policy,
            incoming: (
                incoming.credential.encoded_len(""),
                incoming.credential.encoded_len(suffix),
            ),
            canned: both(template(CredentialPolicy::Canned {
                expires: incoming.policy.date_less_than,
            })),
            custom: both(template(CredentialPolicy::Custom { encoded: String::new() })),
        }
    }

    /// `(plain, suffixed)` of `need`'s query.
    fn of(&self, need: &Need) -> (usize, usize) {
        if need.canned {
            return self.canned;
        }
        let policy = Policy {
            resource: need.resource.to_string(),
            ..self.window.clone()
        };
        let encoded = encoding::encoded_len(policy.json_len());
        (self.custom.0 + encoded, self.custom.1 + encoded)
    }
}

/// Plans and measures every URI of `text`; refuses with
/// [`Error::OutputTooLarge`] as soon as the output passes the budget.
pub(crate) fn plan<'t>(
    text: &'t str,
    kind: PlaylistKind,
    cx: &Context<'_>,
    incoming: &Incoming,
    config: &Config,
    signer: &Signatory,
) -> Result<Planned<'t>, Error> {
    let mut planner = Planner {
        incoming,
        strategy: config.strategy(),
        child_credential: config.child_credential(),
        suffix: config.key_suffix(),
        lengths: Lengths::new(incoming, signer, config.key_suffix()),
        max_output: config.max_output_bytes(),
        needs: Vec::new(),
        need_lengths: Vec::new(),
        need_index: HashMap::new(),
        dirs: HashMap::new(),
        last_dir: None,
        last_dir_need: None,
        planned: Planned {
            signings: Vec::new(),
            needs: Vec::new(),
            untouched: Vec::new(),
            size: text.len(),
        },
    };
    if planner.planned.size > planner.max_output {
        return Err(planner.too_large());
    }
    for_each_site(text, kind, &mut |site| planner.site(text, site, cx))?;
    let mut planned = planner.planned;
    planned.needs = planner.needs;
    Ok(planned)
}

/// A credential chosen for a URI before its length is checked: a need not
/// yet interned is interned only if the URI is signed.
enum Pick {
    Incoming,
    Known(usize),
    New(Need),
}

/// The state of the plan phase, over a playlist's text of lifetime `'t`.
struct Planner<'a, 't> {
    incoming: &'a Incoming,
    strategy: Strategy,
    child_credential: ChildCredential,
    suffix: &'a KeySuffix,
    lengths: Lengths<'a>,
    max_output: usize,
    needs: Vec<Need>,
    /// `(plain, suffixed)` query lengths of each need, at most.
    need_lengths: Vec<(usize, usize)>,
    need_index: HashMap<Need, usize>,
    /// Whether the grant covers everything in a directory (a cache, bounded).
    dirs: HashMap<String, bool>,
    /// The directory of the previous URI: consecutive URIs mostly share one.
    last_dir: Option<(String, bool)>,
    /// [`Strategy::Resign`]: the need of the last covered directory.
    last_dir_need: Option<(String, usize)>,
    planned: Planned<'t>,
}

/// Which credential a child playlist carries under the suffixed names.
#[derive(Clone, Copy)]
enum Copy {
    /// The same as under CloudFront's names.
    Plain,
    Incoming,
}

/// The most directories whose coverage is remembered at once.
const DIR_CACHE: usize = 4096;

impl<'t> Planner<'_, 't> {
    fn too_large(&self) -> Error {
        Error::OutputTooLarge {
            size: self.planned.size,
            limit: self.max_output,
        }
    }

    /// Plans the URI at `site` and counts what it adds to the output.
    fn site(&mut self, text: &'t str, site: Site, cx: &Context<'_>) -> Result<(), Error> {
        let uri = &text[site.range.clone()];
        let (target, plain) = match self.pick(uri, &site, cx)? {
            Ok(picked) => picked,
            Err(reason) => {
                self.skip(uri, &site, reason);
                return Ok(());
            }
        };
        let copy = target.playlist.then_some(match (&plain, self.child_credential) {
            (Pick::Incoming, _) | (_, ChildCredential::Incoming) => Copy::Incoming,
            (_, ChildCredential::Copy) => Copy::Plain,
        });
        let plain_lengths = match &plain {
            Pick::Incoming => self.lengths.incoming,
            Pick::Known(index) => self.need_lengths[*index],
            Pick::New(need) => self.lengths.of(need),
        };
        let prefixed_len = match copy {
            None => 0,
            Some(Copy::Incoming) => self.lengths.incoming.1,
            Some(Copy::Plain) => plain_lengths.1,
        };
        // Resign: remember the covered directory's need for the URIs that follow.
        let remember_dir = (self.strategy == Strategy::Resign
            && self.dir_covered(&target)
            && self.last_dir_need.as_ref().is_none_or(|(dir, _)| dir != target.dir()))
        .then(|| target.dir().to_owned());
        let mut signing = Signing {
            range: site.range.clone(),
            head: target.head,
            fragment: target.fragment,
            join: target.join,
            plain: Cred::Incoming,
            prefixed: copy.map(|_| Cred::Incoming),
        };
        let growth = signing.growth(plain_lengths.0, prefixed_len);
        // The URL as CloudFront sees it: the absolute URL, a separator and the credentials.
        let added = growth - signing.head.len() - signing.join.len() - signing.fragment.len() + 1;
        if target.url.len() + added > MAX_URL_BYTES {
            self.skip(uri, &site, Reason::TooLong);
            return Ok(());
        }
        let plain = match plain {
            Pick::Incoming => Cred::Incoming,
            Pick::Known(index) => Cred::Signed(index),
            Pick::New(need) => Cred::Signed(self.intern(need, plain_lengths)),
        };
        if let (Some(dir), Cred::Signed(index)) = (remember_dir, plain) {
            self.last_dir_need = Some((dir, index));
        }
        signing.plain = plain;
        signing.prefixed = copy.map(|copy| match copy {
            Copy::Plain => plain,
            Copy::Incoming => Cred::Incoming,
        });
        self.planned.size = self.planned.size - signing.replaced() + growth;
        self.planned.signings.push(signing);
        if self.planned.size > self.max_output {
            return Err(self.too_large());
        }
        Ok(())
    }

    fn skip(&mut self, uri: &str, site: &Site, reason: Reason) {
        self.planned.untouched.push(Untouched {
            line: site.line,
            uri: uri.to_owned(),
            reason,
        });
    }

    /// The URI's target and credential, or why it is left untouched (the
    /// outer error: [`Strategy::Reuse`] cannot cover it).
    #[allow(clippy::type_complexity)]
    fn pick(
        &mut self,
        text_uri: &'t str,
        site: &Site,
        cx: &Context<'_>,
    ) -> Result<Result<(Target<'t>, Pick), Reason>, Error> {
        let target = match analyze(text_uri, site.playlist, cx) {
            Ok(target) => target,
            Err(reason) => return Ok(Err(reason)),
        };
        let covered = self.dir_covered(&target);
        let incoming = self.incoming;
        let pick = match self.strategy {
            Strategy::Resign if covered => match &self.last_dir_need {
                Some((dir, index)) if dir == target.dir() => Ok(Pick::Known(*index)),
                _ => Ok(self.lookup(Need::custom(format!("{}*", target.dir())))),
            },
            Strategy::Resign => exact(&target, incoming).map(|need| self.lookup(need)),
            Strategy::PerUri => per_uri(&target, incoming, covered).map(|need| self.lookup(need)),
            Strategy::Reuse => {
                // The incoming credential is appended as it is: CloudFront
                // matches it against the URL's own host, never an alias's.
                let covered = match target.canonical {
                    None => covered,
                    Some(_) => incoming.covers_everything_after(target.dir()),
                };
                if !reuse_covers(&target, incoming, self.suffix, covered) {
                    return Err(Error::ReuseNotCovering {
                        uri: text_uri.to_owned(),
                        line: site.line,
                        resource: incoming.policy.resource.clone(),
                    });
                }
                Ok(Pick::Incoming)
            }
        };
        Ok(pick.map(|pick| (target, pick)))
    }

    /// Whether the grant covers everything in the URI's directory, once per
    /// directory: the last one is checked before the map, which is emptied
    /// when it holds [`DIR_CACHE`] directories.
    fn dir_covered(&mut self, target: &Target<'_>) -> bool {
        if let Some((dir, covered)) = &self.last_dir
            && dir == target.dir()
        {
            return *covered;
        }
        let covered = match self.dirs.get(target.dir()) {
            Some(&covered) => covered,
            None => {
                let incoming = self.incoming;
                let covered = target
                    .prefixes(target.dir_len)
                    .any(|dir| incoming.covers_everything_after(dir));
                if self.dirs.len() >= DIR_CACHE {
                    self.dirs.clear();
                }
                self.dirs.insert(target.dir().to_owned(), covered);
                covered
            }
        };
        self.last_dir = Some((target.dir().to_owned(), covered));
        covered
    }

    /// `need`, as the index it already has or as new.
    fn lookup(&self, need: Need) -> Pick {
        match self.need_index.get(&need) {
            Some(&index) => Pick::Known(index),
            None => Pick::New(need),
        }
    }

    /// Adds `need` (not yet known) with its query lengths; its index.
    fn intern(&mut self, need: Need, lengths: (usize, usize)) -> usize {
        let index = self.needs.len();
        self.need_index.insert(need.clone(), index);
        self.needs.push(need);
        self.need_lengths.push(lengths);
        index
    }
}

/// [`Strategy::PerUri`]: canned when that drops no condition and the URL
/// holds no wildcard character, else custom.
///
/// A canned policy's bytes are those of a custom policy whose resource is
/// the URL: replayed as `Policy=`, its signature grants what the URL
/// matches as a pattern. So a URL with `*` or `?` (a query string) is never
/// signed canned.
fn per_uri(target: &Target<'_>, incoming: &Incoming, dir_covered: bool) -> Result<Need, Reason> {
    let canned_is_narrower = incoming.policy.date_greater_than.is_none() && incoming.policy.ip_address.is_none();
    if !target.playlist
        && !target.unresolved
        && canned_is_narrower
        && is_literal(&target.url)
        && grants(incoming, target)
    {
        return Ok(Need {
            canned: true,
            resource: target.url.as_str().into(),
        });
    }
    if dir_covered {
        // Every URL the resource matches starts with the covered directory.
        let star = if target.playlist { "*" } else { "" };
        return Ok(Need::custom(format!("{}{star}", target.url)));
    }
    exact(target, incoming)
}

/// A custom policy for exactly the URL (a playlist: the URL and any query
/// after it). A URL with `*` or `?` (a query, or a variable the player
/// resolves) is a pattern: it is signed only when everything it can match
/// is granted, that is when the incoming grant covers everything after its
/// literal part (the text before the first `*` or `?`); otherwise it is
/// left unsigned: [`Reason::WildcardInUri`] when the grant admits the URL
/// itself, [`Reason::OutsideGrant`] when not even that.
fn exact(target: &Target<'_>, incoming: &Incoming) -> Result<Need, Reason> {
    let star = if target.playlist { "*" } else { "" };
    if target.unresolved || !is_literal(&target.url) {
        let literal = target.url.find(['*', '?']).unwrap_or(target.url.len());
        return match target
            .prefixes(literal)
            .any(|prefix| incoming.covers_everything_after(prefix))
        {
            true => Ok(Need::custom(format!("{}{star}", target.url))),
            // Granted as text, but as a pattern it reaches further.
            false if !target.unresolved && grants(incoming, target) => Err(Reason::WildcardInUri),
            false => Err(Reason::OutsideGrant),
        };
    }
    let covered = if target.playlist {
        target
            .prefixes(target.url.len())
            .any(|url| incoming.covers_everything_after(url))
    } else {
        grants(incoming, target)
    };
    match covered {
        true => Ok(Need::custom(format!("{}{star}", target.url))),
        false => Err(Reason::OutsideGrant),
    }
}

/// Whether the incoming grant admits the URL (on an alias: the same URL on
/// the distribution's own host).
fn grants(incoming: &Incoming, target: &Target<'_>) -> bool {
    target.prefixes(target.url.len()).any(|url| incoming.matches(url))
}

/// [`Strategy::Reuse`]: whether the incoming credential admits the URL as
/// CloudFront will see it (a child playlist's with the prefixed copy):
/// certainly when it covers everything in the directory.
fn reuse_covers(target: &Target<'_>, incoming: &Incoming, suffix: &KeySuffix, dir_covered: bool) -> bool {
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
    incoming.matches(&format!("{}{join}{}", target.url, incoming.credential.query(suffix)))
}
