//! One URI: resolving it against the playlist URL, deciding whether it is
//! ours to sign, and splitting its text where the parameters go.
//!
//! Resolution follows the WHATWG URL standard (the `url` crate, what browsers
//! and hls.js do): the host is lower-cased, a default port dropped, `.` and
//! `..` segments removed, unsafe characters percent-encoded. The result is
//! the URL a player requests and so the URL CloudFront matches a policy
//! against. The text in the playlist keeps its form: only the credential is
//! inserted (before a `#fragment`), and stale credential parameters removed.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use cloudfront_sign::MAX_URL_BYTES;

use url::Url;

use crate::scan::Defines;
use crate::{ConfigError, Error};

/// Why a URI was left as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// An empty URI.
    Empty,
    /// A scheme other than http(s), such as `skd://` or `data:`.
    NotHttp,
    /// A host that is not one of ours.
    ForeignHost,
    /// The incoming grant does not cover it: signing it would widen the
    /// viewer's grant.
    OutsideGrant,
    /// An `EXT-X-DEFINE` variable that only the player can resolve (`IMPORT`,
    /// `QUERYPARAM`, or undefined) stands where it decides the resource.
    UnresolvedVariable,
    /// A variable's value holds a `#` or a credential parameter, which cannot
    /// be handled without rewriting the variable.
    VariableValue,
    /// A literal `*` in the directory: any policy for it would match other paths.
    WildcardInPath,
    /// A `*` or `?` in the URI (a query string starts with `?`) that a policy
    /// for it would read as a wildcard, matching URLs the incoming grant does
    /// not cover; a canned policy would be no narrower, since its signature
    /// is also valid as a custom policy with the URL as the resource.
    WildcardInUri,
    /// The URI does not parse as a URL.
    Invalid,
    /// The signed URL would exceed CloudFront's 8,192 bytes (or the URI
    /// would, once its variables were expanded: they are not expanded further).
    TooLong,
    /// The playlist's variables have already added as many bytes to its URLs
    /// as one rewrite expands ([`Config::max_bytes`](crate::Config::max_bytes)
    /// in all): expanding more would make the work grow with the square of
    /// the input.
    ExpansionLimit,
}

impl Reason {
    /// A stable, machine-readable name.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Empty => "empty",
            Reason::NotHttp => "not_http",
            Reason::ForeignHost => "foreign_host",
            Reason::OutsideGrant => "outside_grant",
            Reason::UnresolvedVariable => "unresolved_variable",
            Reason::VariableValue => "variable_value",
            Reason::WildcardInPath => "wildcard_in_path",
            Reason::WildcardInUri => "wildcard_in_uri",
            Reason::Invalid => "invalid",
            Reason::TooLong => "too_long",
            Reason::ExpansionLimit => "expansion_limit",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Empty => "empty uri",
            Reason::NotHttp => "not an http(s) uri",
            Reason::ForeignHost => "not one of our hosts",
            Reason::OutsideGrant => "outside the incoming grant",
            Reason::UnresolvedVariable => "a variable only the player can resolve decides the resource",
            Reason::VariableValue => "a variable's value holds a fragment or a credential parameter",
            Reason::WildcardInPath => "a literal * in the directory",
            Reason::WildcardInUri => "a * or ? in the uri would be a wildcard reaching outside the incoming grant",
            Reason::Invalid => "not a valid url",
            Reason::TooLong => "the signed url would exceed 8192 bytes",
            Reason::ExpansionLimit => "the playlist's variables already expanded to the limit of one rewrite",
        })
    }
}

/// The hosts whose URIs we sign: `host` or `host:port`, compared
/// case-insensitively. A default port (80, 443) is dropped when parsed: a
/// host without a port is on the default port of the URI's scheme. The
/// first is the distribution's own host, the one the grants name; the
/// others are its aliases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Hosts(Vec<(String, Option<u16>)>);

impl Hosts {
    /// Parses configured hosts, each `host` or `host:port` (port 1 to 65535),
    /// as a browser reads them (lower-case, IDNA), a default port dropped.
    pub fn parse(configured: &[String]) -> Result<Self, ConfigError> {
        configured
            .iter()
            .map(|entry| {
                let refused = || ConfigError::Host(entry.clone());
                let parsed = Url::parse(&format!("http://{entry}/")).map_err(|_| refused())?;
                let valid = !entry.is_empty() && !entry.ends_with(':') && !entry.contains(['/', '@', '?', '#', ' ']);
                match (valid, parsed.host_str(), parsed.port()) {
                    // `url` already dropped http's 80; drop https's 443 too.
                    (true, Some(host), port) if port != Some(0) => Ok((host.to_owned(), port.filter(|&p| p != 443))),
                    _ => Err(refused()),
                }
            })
            .collect::<Result<_, _>>()
            .map(Hosts)
    }

    /// The host of `url` alone (when none is configured: the playlist's).
    fn of(url: &Url) -> Self {
        Hosts(vec![(url.host_str().unwrap_or_default().to_owned(), url.port())])
    }

    /// Whether none is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each host as `host` or `host:port`.
    pub fn iter(&self) -> impl Iterator<Item = String> + '_ {
        self.0.iter().map(|(host, port)| match port {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        })
    }

    /// When `url` (as the URL standard writes it: lower-case host, no
    /// default port) is on a configured host other than the first, the same
    /// URL on the first host (the distribution's own; the others are its
    /// aliases).
    pub fn on_first_host(&self, url: &str) -> Option<String> {
        let ((first, first_port), others) = self.0.split_first()?;
        if others.is_empty() {
            return None;
        }
        let host_start = url.find("://")? + 3;
        let host_end = url[host_start..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |i| host_start + i);
        let authority = &url[host_start..host_end];
        if authority.contains('*') {
            // Not a host name; a pattern character there would shift what the grant is checked against.
            return None;
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, Some(port.parse::<u16>().ok()?)),
            _ => (authority, None),
        };
        let index = self
            .0
            .iter()
            .position(|(ours, our_port)| ours == host && *our_port == port)?;
        if index == 0 {
            return None;
        }
        let mut canonical = String::with_capacity(url.len() + first.len() + 6);
        canonical.push_str(&url[..host_start]);
        canonical.push_str(first);
        if let Some(port) = first_port {
            canonical.push(':');
            canonical.push_str(&port.to_string());
        }
        canonical.push_str(&url[host_end..]);
        Some(canonical)
    }

    /// Whether `url` is on one of the hosts.
    pub fn contains(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else { return false };
        self.0.iter().any(|(ours, port)| {
            ours == host
                && match port {
                    None => url.port().is_none(),
                    Some(port) => url.port_or_known_default() == Some(*port),
                }
        })
    }
}

/// The playlist URL, parsed once per rewrite.
#[derive(Debug, Clone)]
pub(crate) struct Base {
    url: Url,
    /// The URL through the last `/` of its path: what a plain relative
    /// reference is appended to.
    dir: String,
    /// Whether the playlist's own host is one of ours.
    ours: bool,
}

impl Base {
    /// The playlist URL, and our hosts: the configured ones, or the playlist's own.
    pub fn new<'h>(playlist_url: &str, configured: &'h Hosts) -> Result<(Self, Cow<'h, Hosts>), Error> {
        let url = Url::parse(playlist_url).map_err(|e| Error::PlaylistUrl(format!("{e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(Error::PlaylistUrl("not an absolute http(s) url with a host".to_owned()));
        }
        let hosts = if configured.is_empty() {
            Cow::Owned(Hosts::of(&url))
        } else {
            Cow::Borrowed(configured)
        };
        let serialized = url.as_str();
        let path_end =
            serialized.len() - url.query().map_or(0, |q| q.len() + 1) - url.fragment().map_or(0, |f| f.len() + 1);
        let dir_end = serialized[..path_end].rfind('/').map_or(path_end, |i| i + 1);
        let dir = serialized[..dir_end].to_owned();
        let ours = hosts.contains(&url);
        Ok((Base { url, dir, ours }, hosts))
    }
}

/// A URI that is ours to sign, split for the rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    /// The text up to the fragment, stale credential parameters removed: the
    /// credential goes right after it.
    pub head: Cow<'a, str>,
    /// `#fragment`, or empty.
    pub fragment: &'a str,
    /// `?`, `&` or nothing: what joins `head` and the credential.
    pub join: &'static str,
    /// The absolute URL as CloudFront matches it (no fragment, no stale
    /// parameters; an unresolved variable reads `*`).
    pub url: String,
    /// The length of `url`'s directory: through the last `/` of the path.
    pub dir_len: usize,
    /// Whether a variable the player resolves stands in the last segment or the query.
    pub unresolved: bool,
    /// Whether it points at a playlist (by place, or a `.m3u8`/`.m3u` path).
    pub playlist: bool,
    /// The same URL on the distribution's own host (the first configured),
    /// when `url` is on another configured host: an alias.
    pub canonical: Option<String>,
}

impl Target<'_> {
    /// `https://host/dir/` of the URL.
    pub fn dir(&self) -> &str {
        &self.url[..self.dir_len]
    }

    /// `url[..end]` (`end` past the host), and, on an alias, the same text
    /// on the distribution's own host: what the incoming grant, which names
    /// that host, is checked against. The resource signed is always on the
    /// URL's own host.
    pub fn prefixes(&self, end: usize) -> impl Iterator<Item = &str> {
        let canonical = self.canonical.as_deref().and_then(|canonical| {
            let end = (end + canonical.len()).checked_sub(self.url.len())?;
            canonical.get(..end)
        });
        std::iter::once(&self.url[..end]).chain(canonical)
    }
}

/// What every URI of one rewrite shares.
pub(crate) struct Context<'a> {
    pub base: &'a Base,
    pub hosts: &'a Hosts,
    pub defines: &'a Defines,
    /// Credential parameter names, plain and suffixed, to remove.
    pub stale: &'a [&'a str],
    /// The bytes that variables may still add to this playlist's URLs.
    pub expansion_left: Cell<usize>,
}

/// Decides whether `text` (a URI as written) is ours to sign, and how.
pub(crate) fn analyze<'a>(text: &'a str, playlist_by_place: bool, cx: &Context<'_>) -> Result<Target<'a>, Reason> {
    if text.is_empty() {
        return Err(Reason::Empty);
    }
    if !http_or_relative(text) {
        return Err(Reason::NotHttp);
    }
    if text.bytes().any(|b| b.is_ascii_control()) {
        // A player may split the line there, and URL parsing drops tabs and
        // line breaks: what would be signed is not what would be fetched.
        return Err(Reason::Invalid);
    }
    let (raw_head, fragment) = match text.find('#') {
        Some(i) => (&text[..i], &text[i..]),
        None => (text, ""),
    };
    let head = if raw_head.contains('?') {
        match cloudfront_sign::strip_params(raw_head, cx.stale) {
            stripped if stripped == raw_head => Cow::Borrowed(raw_head),
            stripped => Cow::Owned(stripped),
        }
    } else {
        Cow::Borrowed(raw_head)
    };
    let (expanded, unresolved) = substitute(&head, cx.defines, &cx.expansion_left)?;
    if let Cow::Owned(expanded) = &expanded {
        if expanded.contains('#') {
            return Err(Reason::VariableValue);
        }
        if expanded.contains('?') && cloudfront_sign::strip_params(expanded, cx.stale) != *expanded {
            return Err(Reason::VariableValue);
        }
        if !http_or_relative(expanded) {
            return Err(if unresolved {
                Reason::UnresolvedVariable
            } else {
                Reason::NotHttp
            });
        }
    }
    let url = resolve(cx, &expanded).map_err(|reason| if unresolved { Reason::UnresolvedVariable } else { reason })?;
    let path_end = url.find('?').unwrap_or(url.len());
    let dir_len = url[..path_end].rfind('/').map_or(path_end, |i| i + 1);
    if url[..dir_len].contains('*') {
        return Err(if unresolved {
            Reason::UnresolvedVariable
        } else {
            Reason::WildcardInPath
        });
    }
    let path = &url.as_bytes()[..path_end];
    let ends_with = |suffix: &str| {
        path.len() >= suffix.len() && path[path.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    let playlist = playlist_by_place || ends_with(".m3u8") || ends_with(".m3u");
    let mut url = url;
    let join = match expanded.split_once('?') {
        None => "?",
        Some((_, query)) if query.is_empty() || query.ends_with('&') => {
            // CloudFront drops its own parameters and the separator before
            // them, so it matches the URL without this trailing `?` or `&`.
            url.pop();
            ""
        }
        Some(_) => "&",
    };
    let canonical = cx.hosts.on_first_host(&url);
    Ok(Target {
        head,
        fragment,
        join,
        url,
        dir_len,
        unresolved,
        playlist,
        canonical,
    })
}

/// The absolute URL of `text` (no fragment), if it is on one of our hosts.
fn resolve(cx: &Context<'_>, text: &str) -> Result<String, Reason> {
    if plain_relative(text) {
        if !cx.base.ours {
            return Err(Reason::ForeignHost);
        }
        let mut url = String::with_capacity(cx.base.dir.len() + text.len());
        url.push_str(&cx.base.dir);
        url.push_str(text);
        return Ok(url);
    }
    let mut url = cx.base.url.join(text).map_err(|_| Reason::Invalid)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Reason::NotHttp);
    }
    if !cx.hosts.contains(&url) {
        return Err(Reason::ForeignHost);
    }
    url.set_fragment(None);
    Ok(url.into())
}

/// Whether `text` has no scheme, or http(s) in any case.
fn http_or_relative(text: &str) -> bool {
    let bytes = text.as_bytes();
    let scheme_len = bytes
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')));
    match scheme_len {
        Some(len) if len > 0 && bytes[len] == b':' && bytes[0].is_ascii_alphabetic() => {
            matches!(text[..len].to_ascii_lowercase().as_str(), "http" | "https")
        }
        _ => true,
    }
}

/// Whether `text` is a relative path that the URL standard would append to
/// the base directory unchanged: no scheme, not rooted, no `.` or `..`
/// segment, and only characters that no part of the URL percent-encodes.
/// The fast path for the common `seg00001.ts`; the rest goes to `url`.
pub(crate) fn plain_relative(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.first().is_none_or(|&b| b == b'/' || b == b'?') {
        return false;
    }
    let safe = bytes.iter().all(|&b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
                    | b'?'
            )
    });
    if !safe {
        return false;
    }
    let path = text.split('?').next().unwrap_or("");
    let first_segment = path.split('/').next().unwrap_or("");
    !first_segment.contains(':') && path.split('/').all(|segment| segment != "." && segment != "..")
}

/// `text` with its `{$name}` references replaced by their values; a variable
/// only the player knows becomes `*` and sets the flag.
///
/// The length is counted before anything is copied: a result over
/// [`MAX_URL_BYTES`] is refused ([`Reason::TooLong`]: no URL that long can be
/// signed), and the values' bytes are taken from `budget`, the bytes all
/// expansions of one rewrite may still copy ([`Reason::ExpansionLimit`] when
/// it is spent). A value that itself holds a reference is refused
/// ([`Reason::VariableValue`]: RFC 8216bis forbids nesting).
fn substitute<'a>(text: &'a str, defines: &Defines, budget: &Cell<usize>) -> Result<(Cow<'a, str>, bool), Reason> {
    if !text.contains("{$") {
        return Ok((Cow::Borrowed(text), false));
    }
    // First the size and the checks, then the copy.
    let mut len = 0usize;
    let mut copied = 0usize;
    let mut unresolved = false;
    for piece in References::new(text, defines) {
        match piece {
            Piece::Text(part) => len += part.len(),
            Piece::Value(value) if value.contains("{$") => return Err(Reason::VariableValue),
            Piece::Value(value) => {
                len += value.len();
                copied += value.len();
            }
            Piece::Unknown => {
                len += 1;
                unresolved = true;
            }
        }
        if len > MAX_URL_BYTES {
            return Err(Reason::TooLong);
        }
    }
    let left = budget.get();
    if copied > left {
        return Err(Reason::ExpansionLimit);
    }
    budget.set(left - copied);
    let mut out = String::with_capacity(len);
    for piece in References::new(text, defines) {
        match piece {
            Piece::Text(part) | Piece::Value(part) => out.push_str(part),
            Piece::Unknown => out.push('*'),
        }
    }
    Ok((Cow::Owned(out), unresolved))
}

/// A part of a URI with references: text as written, a known value, or a
/// variable only the player knows.
enum Piece<'a> {
    Text(&'a str),
    Value(&'a str),
    Unknown,
}

/// The pieces of a URI, in order: `{$name}` (letters, digits, `_`, `-`) is
/// a reference; any other `{$` is text.
struct References<'a> {
    rest: &'a str,
    defines: &'a Defines,
    /// A value found after the text piece just returned.
    pending: Option<Piece<'a>>,
}

impl<'a> References<'a> {
    fn new(text: &'a str, defines: &'a Defines) -> Self {
        References {
            rest: text,
            defines,
            pending: None,
        }
    }
}

impl<'a> Iterator for References<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        if let Some(piece) = self.pending.take() {
            return Some(piece);
        }
        if self.rest.is_empty() {
            return None;
        }
        let mut search = 0;
        while let Some(found) = self.rest[search..].find("{$") {
            let start = search + found;
            let after = &self.rest[start + 2..];
            let name_len = after
                .bytes()
                .take_while(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                .count();
            if name_len > 0 && after.as_bytes().get(name_len) == Some(&b'}') {
                let text = &self.rest[..start];
                self.pending = Some(match self.defines.get(&after[..name_len]) {
                    Some(Some(value)) => Piece::Value(value),
                    _ => Piece::Unknown,
                });
                self.rest = &after[name_len + 1..];
                return Some(Piece::Text(text));
            }
            search = start + 2;
        }
        let text = self.rest;
        self.rest = "";
        Some(Piece::Text(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAYLIST: &str = "https://d111111abcdef8.cloudfront.net/movies/movie_1/index.m3u8";

    fn with<T>(defines: &str, f: impl FnOnce(&Context<'_>) -> T) -> T {
        let none = Hosts::default();
        let (base, hosts) = Base::new(PLAYLIST, &none).unwrap();
        let text = format!("#EXTM3U\n{defines}");
        let scan = crate::scan::scan(&text, crate::PlaylistKind::Media);
        let stale = [
            "Policy",
            "Signature",
            "Key-Pair-Id",
            "Expires",
            "Hash-Algorithm",
            "Policy-PREFIX",
        ];
        f(&Context {
            base: &base,
            hosts: &hosts,
            defines: &scan.defines,
            stale: &stale,
            expansion_left: Cell::new(1 << 20),
        })
    }

    fn url(text: &str) -> Result<String, Reason> {
        with("", |cx| analyze(text, false, cx).map(|t| t.url))
    }

    #[test]
    fn resolves_every_form_against_the_playlist() {
        let h = "https://d111111abcdef8.cloudfront.net";
        assert_eq!(url("a.ts").unwrap(), format!("{h}/movies/movie_1/a.ts"));
        assert_eq!(url("../shared/a.ts").unwrap(), format!("{h}/movies/shared/a.ts"));
        assert_eq!(url("./x/../a.ts").unwrap(), format!("{h}/movies/movie_1/a.ts"));
        assert_eq!(url("/keys/k.key").unwrap(), format!("{h}/keys/k.key"));
        assert_eq!(
            url("//d111111abcdef8.cloudfront.net/a.ts").unwrap(),
            format!("{h}/a.ts")
        );
        assert_eq!(
            url("HTTPS://D111111ABCDEF8.CLOUDFRONT.NET:443/a.ts").unwrap(),
            format!("{h}/a.ts")
        );
        assert_eq!(url("a b.ts?x=1#f").unwrap(), format!("{h}/movies/movie_1/a%20b.ts?x=1"));
        assert_eq!(
            url("http://d111111abcdef8.cloudfront.net/a.ts").unwrap(),
            "http://d111111abcdef8.cloudfront.net/a.ts"
        );
    }

    #[test]
    fn refuses_what_is_not_ours() {
        assert_eq!(url(""), Err(Reason::Empty));
        assert_eq!(url("skd://fairplay-key"), Err(Reason::NotHttp));
        assert_eq!(url("data:text/plain;base64,AAAA"), Err(Reason::NotHttp));
        assert_eq!(url("SKD://x"), Err(Reason::NotHttp));
        assert_eq!(url("https://ads.example.net/a.ts"), Err(Reason::ForeignHost));
        assert_eq!(url("//ads.example.net/a.ts"), Err(Reason::ForeignHost));
        assert_eq!(
            url("https://d111111abcdef8.cloudfront.net:8443/a.ts"),
            Err(Reason::ForeignHost)
        );
        assert_eq!(url("https://[::1/a.ts"), Err(Reason::Invalid));
        assert_eq!(url("dir*/a.ts"), Err(Reason::WildcardInPath));
        assert_eq!(url("a\rb.ts"), Err(Reason::Invalid));
        assert_eq!(url("a\tb.ts"), Err(Reason::Invalid));
    }

    #[test]
    fn splits_head_fragment_and_join() {
        with("", |cx| {
            let t = analyze("seg2.ts?session=abc&lang=en#t=1", false, cx).unwrap();
            assert_eq!(
                (&*t.head, t.fragment, t.join),
                ("seg2.ts?session=abc&lang=en", "#t=1", "&")
            );
            let t = analyze("a.ts", false, cx).unwrap();
            assert_eq!((&*t.head, t.fragment, t.join), ("a.ts", "", "?"));
            let t = analyze("a.ts?", false, cx).unwrap();
            assert_eq!((t.join, &t.url[t.dir_len..]), ("", "a.ts"));
            let t = analyze("a.ts?x=1&", false, cx).unwrap();
            assert_eq!((t.join, &t.url[t.dir_len..]), ("", "a.ts?x=1"));
            let t = analyze("a.ts??", false, cx).unwrap();
            assert_eq!((t.join, &t.url[t.dir_len..]), ("&", "a.ts??"));
            let t = analyze("a.ts?x=1&Policy=old&Signature=old&y=2&Policy-PREFIX=z", false, cx).unwrap();
            assert_eq!((&*t.head, t.join), ("a.ts?x=1&y=2", "&"));
            assert!(t.url.ends_with("/a.ts?x=1&y=2"));
            let t = analyze("a.ts?Policy=old&Signature=old#f", false, cx).unwrap();
            assert_eq!((&*t.head, t.fragment, t.join), ("a.ts", "#f", "?"));
            assert!(t.url.ends_with("/a.ts"));
        });
    }

    #[test]
    fn classifies_playlists_by_place_or_path() {
        with("", |cx| {
            assert!(!analyze("a.ts", false, cx).unwrap().playlist);
            assert!(analyze("a.ts", true, cx).unwrap().playlist);
            assert!(analyze("v/Index.M3U8?x=1", false, cx).unwrap().playlist);
            assert!(analyze("v/list.m3u", false, cx).unwrap().playlist);
            assert!(!analyze("v/a.m3u8.ts", false, cx).unwrap().playlist);
        });
    }

    #[test]
    fn substitutes_defines_and_marks_what_the_player_resolves() {
        let defines = "#EXT-X-DEFINE:NAME=\"base\",VALUE=\"https://d111111abcdef8.cloudfront.net/movies\"\n\
                       #EXT-X-DEFINE:NAME=\"frag\",VALUE=\"a#b\"\n\
                       #EXT-X-DEFINE:NAME=\"cred\",VALUE=\"?Policy=x\"\n\
                       #EXT-X-DEFINE:IMPORT=\"dir\"\n#EXT-X-DEFINE:QUERYPARAM=\"token\"\n";
        with(defines, |cx| {
            let t = analyze("{$base}/m/a.ts", false, cx).unwrap();
            assert_eq!(
                (&*t.head, t.url.as_str(), t.unresolved),
                (
                    "{$base}/m/a.ts",
                    "https://d111111abcdef8.cloudfront.net/movies/m/a.ts",
                    false
                )
            );
            let t = analyze("seg-{$token}.ts", false, cx).unwrap();
            assert_eq!(
                (t.dir(), t.unresolved),
                ("https://d111111abcdef8.cloudfront.net/movies/movie_1/", true)
            );
            assert!(t.url.ends_with("/seg-*.ts"));
            let t = analyze("a.ts?t={$token}", false, cx).unwrap();
            assert_eq!((t.join, t.unresolved), ("&", true));
            assert_eq!(
                analyze("{$dir}/a.ts", false, cx).unwrap_err(),
                Reason::UnresolvedVariable
            );
            assert_eq!(
                analyze("{$undefined}/a.ts", false, cx).unwrap_err(),
                Reason::UnresolvedVariable
            );
            assert_eq!(analyze("x/{$frag}.ts", false, cx).unwrap_err(), Reason::VariableValue);
            assert_eq!(analyze("x.ts{$cred}", false, cx).unwrap_err(), Reason::VariableValue);
            // Not a reference: kept literally (and percent-encoded by resolution).
            let t = analyze("a{$}.ts", false, cx).unwrap();
            assert!(t.url.ends_with("/a%7B$%7D.ts"), "{}", t.url);
        });
    }

    #[test]
    fn the_fast_path_agrees_with_the_url_standard() {
        let base = Url::parse(PLAYLIST).unwrap();
        for text in [
            "a.ts",
            "x/y/a.ts?q=1&r=2",
            "a:b/c.ts",
            "c/a:b.ts",
            "a.ts?",
            "~a!$&()*+,;=@.ts",
            "v.1/..a.ts",
            "a/.b/c",
        ] {
            if plain_relative(text) {
                let (b, _) = Base::new(PLAYLIST, &Hosts::default()).unwrap();
                assert_eq!(format!("{}{text}", b.dir), base.join(text).unwrap().as_str(), "{text}");
            }
        }
        for text in [
            "/a.ts",
            "../a.ts",
            "./a.ts",
            "a/../b",
            "a b",
            "a%20b",
            "http://x/",
            "a:b",
            "?q",
            "a\\b",
            "é.ts",
            "a'b?c'd",
        ] {
            assert!(!plain_relative(text), "{text}");
        }
    }

    #[test]
    fn an_alias_maps_to_the_first_host_keeping_scheme_path_and_query() {
        let hosts = Hosts::parse(&[
            "D.cloudfront.net".into(),
            "media.example.com:443".into(),
            "alt.example:8443".into(),
        ])
        .unwrap();
        for (url, canonical) in [
            (
                "https://media.example.com/m/a.ts?x=1",
                Some("https://d.cloudfront.net/m/a.ts?x=1"),
            ),
            ("http://media.example.com/m/", Some("http://d.cloudfront.net/m/")),
            (
                "https://alt.example:8443/m/a.ts",
                Some("https://d.cloudfront.net/m/a.ts"),
            ),
            ("https://d.cloudfront.net/m/a.ts", None),
            ("https://alt.example/m/a.ts", None),
            ("https://other.example/m/a.ts", None),
            ("https://media.example.com:99999/m", None),
        ] {
            assert_eq!(hosts.on_first_host(url).as_deref(), canonical, "{url}");
        }
        let with_port = Hosts::parse(&["d.example:8443".into(), "m.example".into()]).unwrap();
        assert_eq!(
            with_port.on_first_host("https://m.example/a").as_deref(),
            Some("https://d.example:8443/a")
        );
        assert_eq!(
            Hosts::parse(&["d.example".into()])
                .unwrap()
                .on_first_host("https://d.example/a"),
            None
        );
        let odd = Hosts::parse(&["d.example".into(), "m*.example".into()]).unwrap();
        assert_eq!(odd.on_first_host("https://m*.example/a"), None);
    }

    #[test]
    fn hosts_match_case_insensitively_ignoring_default_ports() {
        let hosts = Hosts::parse(&[
            "CDN.Example.com".into(),
            "media.example.com:8443".into(),
            "x.example:443".into(),
        ])
        .unwrap();
        for (url, ours) in [
            ("https://cdn.example.com/a", true),
            ("https://CDN.EXAMPLE.COM:443/a", true),
            ("http://cdn.example.com:80/a", true),
            ("https://cdn.example.com:444/a", false),
            ("https://media.example.com:8443/a", true),
            ("https://media.example.com/a", false),
            ("https://x.example/a", true),
            ("https://d111111abcdef8.cloudfront.net/a", false),
        ] {
            assert_eq!(hosts.contains(&Url::parse(url).unwrap()), ours, "{url}");
        }
        for bad in ["", "a/b", "user@h", "h:99999", "h:0", "h:", "h h"] {
            assert_eq!(Hosts::parse(&[bad.into()]), Err(ConfigError::Host(bad.into())), "{bad}");
        }
        // `h`, `h:443` and `h:80` are the same host, whatever the case.
        let plain = Hosts::parse(&["d.cloudfront.net".into()]).unwrap();
        let explicit = Hosts::parse(&["D.CloudFront.net:443".into()]).unwrap();
        assert_eq!(plain, explicit);
        assert_eq!(plain, Hosts::parse(&["d.cloudfront.net:80".into()]).unwrap());
        for url in [
            "https://d.cloudfront.net/a",
            "https://d.cloudfront.net:443/a",
            "https://D.cloudfront.NET/a",
        ] {
            let url = Url::parse(url).unwrap();
            assert!(plain.contains(&url) && explicit.contains(&url), "{url}");
        }
        let other_port = Url::parse("https://d.cloudfront.net:8443/a").unwrap();
        assert!(!plain.contains(&other_port) && !explicit.contains(&other_port));
        // With none configured, the playlist's own host, port included.
        let none = Hosts::default();
        let (_, own) = Base::new("https://Own.example:8443/p/i.m3u8", &none).unwrap();
        assert_eq!(own.iter().collect::<Vec<_>>(), ["own.example:8443"]);
        assert!(own.contains(&Url::parse("https://own.example:8443/x").unwrap()));
        assert!(!own.contains(&Url::parse("https://own.example/x").unwrap()));
    }
}
