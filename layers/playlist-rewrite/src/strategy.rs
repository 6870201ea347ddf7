//! How URIs are signed: the caller's choice of [`Strategy`], and the one
//! rule every choice obeys, that no outgoing resource matches a URL the
//! incoming resource does not ([`covers_everything_after`]).

use std::str::FromStr;

/// How the URIs of a playlist are signed. Whatever the strategy, an outgoing
/// policy never ends later, starts earlier or admits more addresses than the
/// incoming one, and never matches a URL the incoming resource does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// One custom policy per distinct directory of the URIs, resource
    /// `https://HOST/DIR/*`, when the incoming resource covers all of
    /// `DIR/`; otherwise, for that URI, a policy for its exact URL (a child
    /// playlist: the exact URL followed by `*`, for its prefixed copies), or
    /// nothing. Typically one signature per playlist.
    #[default]
    Resign,
    /// A policy per URI: canned (the exact URL) when the incoming grant has
    /// neither `DateGreaterThan` nor `IpAddress`, custom with the exact URL
    /// otherwise (a canned policy would drop those conditions). A child
    /// playlist gets a custom policy for its exact URL followed by `*`, since
    /// CloudFront matches the URL with the remaining (prefixed) query.
    /// Signatures are spread across cores.
    PerUri,
    /// The incoming credential, appended as it is, when its resource covers
    /// every URI (as CloudFront will match it); otherwise
    /// [`Error::ReuseNotCovering`](crate::Error::ReuseNotCovering). Signs nothing.
    Reuse,
}

impl Strategy {
    /// `resign`, `per-uri` or `reuse`.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Resign => "resign",
            Strategy::PerUri => "per-uri",
            Strategy::Reuse => "reuse",
        }
    }
}

impl FromStr for Strategy {
    type Err = String;

    /// Accepts `resign`, `per-uri` (or `per_uri`) and `reuse`, in any case.
    fn from_str(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "resign" => Ok(Strategy::Resign),
            "per-uri" | "per_uri" | "peruri" => Ok(Strategy::PerUri),
            "reuse" => Ok(Strategy::Reuse),
            _ => Err(format!("unknown strategy {text:?} (expected resign, per-uri or reuse)")),
        }
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which credential a URI that points at a playlist carries under the
/// `KEY_PREFIX` names (the copy that reaches the rewriter on the next request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChildCredential {
    /// The same credential as under CloudFront's names. The child playlist
    /// is then rewritten within that narrower grant: with
    /// [`Strategy::Resign`] its own directory, with [`Strategy::PerUri`] the
    /// child playlist alone (so its segments stay unsigned).
    #[default]
    Copy,
    /// The incoming credential, unchanged: the viewer already holds it, so
    /// nothing is widened, and the child playlist is rewritten within the
    /// viewer's original grant (a child's `../keys/` stay signable).
    Incoming,
}

/// Whether `pattern` matches every string that starts with `prefix`.
///
/// Sound for CloudFront's wildcards: when `pattern` ends with `*` and
/// matches `prefix` (its part before the final `*` then matches a prefix of
/// `prefix`, and the `*` absorbs the rest), every extension matches too. A
/// `?` in the pattern is handled by the matcher, never compared as text.
pub fn covers_everything_after(pattern: &str, prefix: &str) -> bool {
    pattern.ends_with('*') && cloudfront_sign::wildcard_match(pattern, prefix)
}

/// Whether `text`, read as a resource pattern, matches only itself.
pub(crate) fn is_literal(text: &str) -> bool {
    !text.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_is_by_pattern_not_by_text() {
        let dir = "https://h/movies/movie_1/";
        assert!(covers_everything_after("https://h/movies/*", dir));
        assert!(covers_everything_after("https://h/*", dir));
        assert!(covers_everything_after("*", dir));
        assert!(covers_everything_after("https://h/movies/movie_1/*", dir));
        assert!(covers_everything_after("https://?/movies/*", dir));
        assert!(covers_everything_after("https://h/movies/movie_?/*", dir));
        // Not a prefix, or no trailing star, or a star that must be followed by text.
        assert!(!covers_everything_after("https://h/movies/movie_1/index.m3u8", dir));
        assert!(!covers_everything_after("https://h/movies/movie_1/*.ts", dir));
        assert!(!covers_everything_after("https://h/movies/movie_2/*", dir));
        assert!(!covers_everything_after("https://h/movies/movie_1/v/*", dir));
        assert!(covers_everything_after("https://h/movies/movie_1?*", dir));
        // `?` stands for one character: `movie_1?` needs a character after the slash.
        assert!(!covers_everything_after("https://h/movies/movie_1/?*", dir));
        assert!(!covers_everything_after("http://h/movies/*", dir));
    }

    #[test]
    fn parses_strategy_names() {
        for strategy in [Strategy::Resign, Strategy::PerUri, Strategy::Reuse] {
            assert_eq!(strategy.as_str().parse::<Strategy>(), Ok(strategy));
        }
        assert_eq!("PER_URI".parse::<Strategy>(), Ok(Strategy::PerUri));
        assert!("canned".parse::<Strategy>().is_err());
        assert_eq!(Strategy::default(), Strategy::Resign);
    }
}
