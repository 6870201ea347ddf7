//! The plan phase of a rewrite: for each URI, skip it (and why) or sign it,
//! with which credential, and the distinct policies that takes.

use std::collections::HashMap;

use cloudfront_sign::KeySuffix;

use crate::rewrite::Incoming;
use crate::scan::Site;
use crate::strategy::{ChildCredential, Strategy, is_literal};
use crate::uri::{Context, Reason, Target, analyze};
use crate::{Config, Error};

/// A policy to sign: canned (an exact URL) or custom (a resource pattern),
/// the window and address block always those of the incoming grant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Need {
    pub canned: bool,
    pub resource: String,
}

/// Which credential a URI gets: the incoming one, or the signature of a need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cred {
    Incoming,
    Signed(usize),
}

/// What is done with one URI.
pub(crate) enum Plan<'a> {
    Skip(Reason),
    Sign {
        target: Target<'a>,
        plain: Cred,
        prefixed: Option<Cred>,
    },
}

/// What is known of one directory: whether the incoming grant covers
/// everything in it, and (resign) the index of its policy once made.
#[derive(Debug, Clone, Copy)]
struct DirState {
    covered: bool,
    need: Option<usize>,
}

/// The plans of all URIs (one per site, in order) and the needs they index.
pub(crate) fn plan<'t>(
    text: &'t str,
    sites: &[Site],
    cx: &Context<'_>,
    incoming: &Incoming,
    config: &Config,
) -> Result<(Vec<Plan<'t>>, Vec<Need>), Error> {
    let mut planner = Planner {
        incoming,
        strategy: config.strategy(),
        child_credential: config.child_credential(),
        suffix: config.key_suffix(),
        needs: Vec::new(),
        need_index: HashMap::new(),
        dirs: HashMap::new(),
        last: None,
    };
    let plans = sites
        .iter()
        .map(|site| planner.plan(&text[site.range.clone()], site, cx))
        .collect::<Result<_, _>>()?;
    Ok((plans, planner.needs))
}

/// The state of the plan phase.
struct Planner<'a> {
    incoming: &'a Incoming,
    strategy: Strategy,
    child_credential: ChildCredential,
    suffix: &'a KeySuffix,
    needs: Vec<Need>,
    need_index: HashMap<Need, usize>,
    dirs: HashMap<String, DirState>,
    /// The directory of the previous URI: consecutive URIs mostly share one.
    last: Option<(String, DirState)>,
}

impl Planner<'_> {
    /// The plan of the URI `text_uri`, standing at `site`.
    fn plan<'t>(&mut self, text_uri: &'t str, site: &Site, cx: &Context<'_>) -> Result<Plan<'t>, Error> {
        let target = match analyze(text_uri, site.playlist, cx) {
            Ok(target) => target,
            Err(reason) => return Ok(Plan::Skip(reason)),
        };
        let state = self.dir_state(&target);
        let incoming = self.incoming;
        let need = match self.strategy {
            Strategy::Resign if state.covered => state.need.ok_or(Reason::OutsideGrant),
            Strategy::Resign => exact(&target, incoming).map(|need| self.intern(need)),
            Strategy::PerUri => per_uri(&target, incoming, state.covered).map(|need| self.intern(need)),
            Strategy::Reuse => return self.reuse(target, state.covered, text_uri, site),
        };
        let index = match need {
            Ok(index) => index,
            Err(reason) => return Ok(Plan::Skip(reason)),
        };
        let plain = Cred::Signed(index);
        let prefixed = target.playlist.then_some(match self.child_credential {
            ChildCredential::Copy => plain,
            ChildCredential::Incoming => Cred::Incoming,
        });
        Ok(Plan::Sign {
            target,
            plain,
            prefixed,
        })
    }

    /// [`Strategy::Reuse`]: the incoming credential, when it covers the URI.
    fn reuse<'t>(&self, target: Target<'t>, covered: bool, text_uri: &str, site: &Site) -> Result<Plan<'t>, Error> {
        if !reuse_covers(&target, self.incoming, self.suffix, covered) {
            return Err(Error::ReuseNotCovering {
                uri: text_uri.to_owned(),
                line: site.line,
                resource: self.incoming.policy.resource.clone(),
            });
        }
        Ok(Plan::Sign {
            prefixed: target.playlist.then_some(Cred::Incoming),
            target,
            plain: Cred::Incoming,
        })
    }

    /// Once per directory: whether the grant covers all of it, and, for
    /// resign, the index of its policy. The last directory is checked before
    /// the map.
    fn dir_state(&mut self, target: &Target<'_>) -> DirState {
        let mut state = match self.last.as_ref().filter(|(dir, _)| dir == target.dir()) {
            Some(&(_, state)) => state,
            None => match self.dirs.get(target.dir()) {
                Some(&state) => state,
                None => {
                    let covered = self.incoming.covers_everything_after(target.dir());
                    let state = DirState { covered, need: None };
                    self.dirs.insert(target.dir().to_owned(), state);
                    state
                }
            },
        };
        if self.strategy == Strategy::Resign && state.covered && state.need.is_none() {
            let need = Need {
                canned: false,
                resource: format!("{}*", target.dir()),
            };
            state.need = Some(self.intern(need));
            self.dirs.insert(target.dir().to_owned(), state);
        }
        match &mut self.last {
            Some((dir, cached)) if dir == target.dir() => *cached = state,
            _ => self.last = Some((target.dir().to_owned(), state)),
        }
        state
    }

    /// The index of `need` in `needs`, added if new.
    fn intern(&mut self, need: Need) -> usize {
        let needs = &mut self.needs;
        *self.need_index.entry(need).or_insert_with_key(|need| {
            needs.push(need.clone());
            needs.len() - 1
        })
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
        && incoming.matches(&target.url)
    {
        return Ok(Need {
            canned: true,
            resource: target.url.clone(),
        });
    }
    if dir_covered {
        // Every URL the resource matches starts with the covered directory.
        let star = if target.playlist { "*" } else { "" };
        return Ok(Need {
            canned: false,
            resource: format!("{}{star}", target.url),
        });
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
        let literal = &target.url[..target.url.find(['*', '?']).unwrap_or(target.url.len())];
        return match incoming.covers_everything_after(literal) {
            true => Ok(Need {
                canned: false,
                resource: format!("{}{star}", target.url),
            }),
            // Granted as text, but as a pattern it reaches further.
            false if !target.unresolved && incoming.matches(&target.url) => Err(Reason::WildcardInUri),
            false => Err(Reason::OutsideGrant),
        };
    }
    let covered = if target.playlist {
        incoming.covers_everything_after(&target.url)
    } else {
        incoming.matches(&target.url)
    };
    match covered {
        true => Ok(Need {
            canned: false,
            resource: format!("{}{star}", target.url),
        }),
        false => Err(Reason::OutsideGrant),
    }
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
