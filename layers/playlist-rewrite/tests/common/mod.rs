//! Test helpers that do not trust the crate under test: an independent URI
//! extractor, a credential stripper, and a checker that verifies every
//! rewritten URI with the signing core's verifier.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use cloudfront_sign::{Credential, HashAlgorithm, RESERVED_PARAMS, SigningKey, UrlSigner, Verifier, wildcard_match};
use playlist_rewrite::{ChildCredential, Incoming, covers_everything_after};

pub const HOST: &str = "d111111abcdef8.cloudfront.net";
pub const KEY_ID: &str = "K2JCJMDEHXQW5F";
pub const PREFIX: &str = "-PREFIX";
pub const NOW: u64 = 1_800_000_000;
pub const EXPIRES: u64 = 1_900_000_000;

pub const RSA_PEM: &str = include_str!("../../../cloudfront-sign/tests/fixtures/rsa2048_pkcs1.pem");
pub const OTHER_RSA_PEM: &str = include_str!("../../../cloudfront-sign/tests/fixtures/rsa2048_other.pem");
pub const EC_PEM: &str = include_str!("../../../cloudfront-sign/tests/fixtures/ec_p256_pkcs8.pem");

pub fn signer(pem: &str, hash: HashAlgorithm) -> UrlSigner {
    UrlSigner::new(KEY_ID.parse().unwrap(), SigningKey::from_pem(pem).unwrap(), hash)
}

pub fn verifier(signer: &UrlSigner) -> Verifier {
    let mut verifier = Verifier::new();
    verifier.trust(KEY_ID, signer.verifying_key());
    verifier
}

pub fn playlist_url(name: &str) -> String {
    format!("https://{HOST}/movies/movie_1/{name}")
}

/// The repository's root, two levels above this crate.
fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Playlists by file name, sorted.
pub type Playlists = Vec<(String, Vec<u8>)>;

/// The playlist corpus: every `.m3u8` of `tests/fixtures/corpus/` in the
/// repository, by name.
pub fn corpus() -> Playlists {
    let files = playlists_in(&repository().join("tests/fixtures/corpus"));
    assert!(files.len() >= 6, "corpus has {} playlists", files.len());
    files
}

/// The playlists of `../shared/corpus` beside the repository, when that
/// folder exists (a developer's extra corpus; never required).
pub fn shared_corpus() -> Option<(PathBuf, Playlists)> {
    let dir = repository().join("../shared/corpus");
    dir.is_dir().then(|| {
        let dir = dir.canonicalize().unwrap_or(dir);
        let files = playlists_in(&dir);
        (dir, files)
    })
}

fn playlists_in(dir: &Path) -> Playlists {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("corpus at {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "m3u8"))
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// A URI found by the independent extractor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub line: usize,
    pub uri: String,
    /// A variant line of a master playlist, or an attribute of a tag whose URI is a playlist.
    pub playlist_by_place: bool,
}

const ATTRIBUTES: &[(&str, &str, bool)] = &[
    ("#EXT-X-KEY:", "URI", false),
    ("#EXT-X-SESSION-KEY:", "URI", false),
    ("#EXT-X-MAP:", "URI", false),
    ("#EXT-X-MEDIA:", "URI", true),
    ("#EXT-X-I-FRAME-STREAM-INF:", "URI", true),
    ("#EXT-X-IMAGE-STREAM-INF:", "URI", true),
    ("#EXT-X-SESSION-DATA:", "URI", false),
    ("#EXT-X-PART:", "URI", false),
    ("#EXT-X-PRELOAD-HINT:", "URI", false),
    ("#EXT-X-RENDITION-REPORT:", "URI", true),
    ("#EXT-X-CONTENT-STEERING:", "SERVER-URI", false),
    ("#EXT-X-DATERANGE:", "X-ASSET-URI", true),
    ("#EXT-X-DATERANGE:", "X-ASSET-LIST", false),
];

/// The playlist with each URI replaced by `\u{1}`, and the URIs in order.
/// Written independently of the crate: quoted strings are found by walking
/// the line and toggling on `"`, attribute names by what precedes `=`.
pub fn extract(text: &str) -> (String, Vec<Found>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let master = text
        .lines()
        .any(|l| l.starts_with("#EXT-X-STREAM-INF") || l.starts_with("#EXT-X-MEDIA:"));
    let mut skeleton = String::new();
    let mut found = Vec::new();
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        let trimmed = body.trim();
        if !body.starts_with('#') && !trimmed.is_empty() && !trimmed.starts_with('#') {
            let start = body.find(trimmed).unwrap();
            skeleton.push_str(&body[..start]);
            skeleton.push('\u{1}');
            skeleton.push_str(&body[start + trimmed.len()..]);
            found.push(Found {
                line: index + 1,
                uri: trimmed.to_owned(),
                playlist_by_place: master,
            });
        } else if let Some(&(tag, _, _)) = ATTRIBUTES.iter().find(|(tag, _, _)| body.starts_with(tag)) {
            // Walk the attribute list: names end at '=', quoted values at the next '"'.
            let mut out = String::from(tag);
            let rest = &body[tag.len()..];
            let mut chars = rest.char_indices().peekable();
            let mut name = String::new();
            while let Some((i, c)) = chars.next() {
                if c == '=' && rest[i + 1..].starts_with('"') {
                    out.push_str("=\"");
                    chars.next();
                    let value_start = i + 2;
                    let value_end = rest[value_start..].find('"').map_or(rest.len(), |e| value_start + e);
                    let wanted = ATTRIBUTES.iter().find(|(t, a, _)| *t == tag && *a == name.trim());
                    match wanted {
                        Some(&(_, _, playlist)) => {
                            out.push('\u{1}');
                            found.push(Found {
                                line: index + 1,
                                uri: rest[value_start..value_end].to_owned(),
                                playlist_by_place: playlist,
                            });
                        }
                        None => out.push_str(&rest[value_start..value_end]),
                    }
                    while chars.peek().is_some_and(|&(j, _)| j < value_end) {
                        chars.next();
                    }
                    name.clear();
                } else if c == ',' {
                    out.push(c);
                    name.clear();
                } else {
                    out.push(c);
                    name.push(c);
                }
            }
            skeleton.push_str(&out);
        } else {
            skeleton.push_str(body);
        }
        skeleton.push_str(ending);
    }
    (skeleton, found)
}

fn is_credential_name(name: &str) -> bool {
    let base = name.strip_suffix(PREFIX).unwrap_or(name);
    RESERVED_PARAMS.contains(&base)
}

/// `uri` without credential parameters (plain or prefixed) and without a
/// trailing `?` or `&`.
pub fn strip_uri(uri: &str) -> String {
    // m3u8-rs keeps a line's trailing whitespace in the URI: keep it aside.
    let trimmed = uri.trim_end();
    let (uri, trailing) = uri.split_at(trimmed.len());
    let (head, fragment) = uri.split_at(uri.find('#').unwrap_or(uri.len()));
    let mut out = match head.split_once('?') {
        None => head.to_owned(),
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| !is_credential_name(pair.split('=').next().unwrap_or("")))
                .collect();
            format!("{path}?{}", kept.join("&"))
        }
    };
    while out.ends_with(['?', '&']) {
        out.pop();
    }
    out + fragment + trailing
}

/// Every `[?&]NAME=VALUE` with a credential name removed from `text`.
pub fn strip_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while let Some(i) = rest.find(['?', '&']) {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        for base in RESERVED_PARAMS {
            for suffix in [PREFIX, ""] {
                let name = format!("{base}{suffix}=");
                if let Some(value) = after.strip_prefix(name.as_str()) {
                    let len = value
                        .bytes()
                        .take_while(|b| b.is_ascii_alphanumeric() || b"-_~".contains(b))
                        .count();
                    rest = &value[len..];
                    continue 'outer;
                }
            }
        }
        out.push_str(&rest[i..i + 1]);
        rest = after;
    }
    out.push_str(rest);
    out
}

/// How many times the parameter `name` appears in `uri`'s query.
pub fn count_param(uri: &str, name: &str) -> usize {
    let head = uri.split('#').next().unwrap_or("");
    head.split_once('?').map_or(0, |(_, q)| {
        q.split('&').filter(|pair| pair.split('=').next() == Some(name)).count()
    })
}

/// The absolute URL of a URI as written (no fragment).
pub fn absolute(playlist_url: &str, uri: &str) -> Option<url::Url> {
    let mut url = url::Url::parse(playlist_url).ok()?.join(uri).ok()?;
    url.set_fragment(None);
    Some(url)
}

/// What one rewritten playlist was found to hold.
#[derive(Debug, Default)]
pub struct Checked {
    pub signed: Vec<Found>,
    pub untouched: Vec<Found>,
    pub resources: Vec<String>,
}

pub struct Check<'a> {
    pub playlist_url: &'a str,
    pub incoming: &'a Incoming,
    pub verifier: &'a Verifier,
    pub client_ip: Option<IpAddr>,
    pub child: ChildCredential,
}

impl Check<'_> {
    /// Checks `output` against `input`: same text outside the URIs; each URI
    /// either byte-identical or the same URI plus exactly one credential
    /// (and one prefixed copy when it is a playlist) that verifies for its
    /// absolute URL, within the incoming grant, for a resource that covers
    /// only URLs in the directories the playlist references on our host.
    pub fn run(&self, input: &[u8], output: &[u8]) -> Checked {
        let input = std::str::from_utf8(input).unwrap();
        let output = std::str::from_utf8(output).expect("output is UTF-8");
        assert_eq!(
            input.starts_with('\u{feff}'),
            output.starts_with('\u{feff}'),
            "BOM kept"
        );
        let (skeleton_in, uris_in) = extract(input);
        let (skeleton_out, uris_out) = extract(output);
        assert_eq!(skeleton_in, skeleton_out, "everything but the URIs is byte-identical");
        assert_eq!(uris_in.len(), uris_out.len());
        let dirs: BTreeSet<String> = uris_in
            .iter()
            .filter_map(|f| absolute(self.playlist_url, &f.uri))
            .filter(|u| u.host_str() == Some(HOST) && u.port().is_none())
            .map(|u| {
                let s = u.as_str();
                let path_end = s.find('?').unwrap_or(s.len());
                s[..s[..path_end].rfind('/').unwrap() + 1].to_owned()
            })
            .collect();
        let mut checked = Checked::default();
        for (before, after) in uris_in.iter().zip(&uris_out) {
            assert_eq!(before.line, after.line);
            if before.uri == after.uri {
                checked.untouched.push(before.clone());
                continue;
            }
            assert_eq!(
                strip_uri(&after.uri),
                strip_uri(&before.uri),
                "only the credential changed"
            );
            let kept_head = strip_uri(&before.uri);
            let kept_head = kept_head.split('#').next().unwrap();
            let added = after
                .uri
                .strip_prefix(kept_head)
                .map_or(after.uri.as_str(), |a| a.split('#').next().unwrap());
            assert!(
                added
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.~=&?".contains(&b)),
                "added text needs no escaping anywhere: {added}"
            );
            let absolute = absolute(self.playlist_url, &after.uri).expect("absolute url");
            let path = absolute.path().to_ascii_lowercase();
            let playlist = after.playlist_by_place || path.ends_with(".m3u8") || path.ends_with(".m3u");
            assert_eq!(count_param(&after.uri, "Signature"), 1, "one credential: {}", after.uri);
            assert_eq!(
                count_param(&after.uri, "Signature-PREFIX"),
                usize::from(playlist),
                "prefixed copy: {}",
                after.uri
            );
            let mut suffixes = vec![""];
            if playlist {
                suffixes.push(PREFIX);
            }
            for suffix in suffixes {
                let grant = self
                    .verifier
                    .verify_url(absolute.as_str(), suffix, NOW, self.client_ip)
                    .unwrap_or_else(|e| panic!("{} with suffix {suffix:?}: {e}", absolute));
                if credential(&after.uri, suffix) == self.incoming.credential {
                    // The viewer's own credential, passed on (reuse, or a child's
                    // prefixed copy): nothing new was granted.
                    assert_eq!(grant.policy, self.incoming.policy);
                    continue;
                }
                assert!(
                    !(suffix == PREFIX && self.child == ChildCredential::Incoming),
                    "the prefixed copy is the incoming credential"
                );
                assert!(
                    grant.policy.window_and_ip_within(&self.incoming.policy),
                    "window and ip within the incoming"
                );
                let resource = &grant.policy.resource;
                let literal = &resource[..resource.find(['*', '?']).unwrap_or(resource.len())];
                assert!(
                    dirs.iter().any(|d| literal.starts_with(d.as_str())),
                    "{resource} is in a referenced directory"
                );
                let within = if self.incoming.canned {
                    !resource.contains(['*', '?']) && *resource == self.incoming.policy.resource
                } else if literal.len() < resource.len() {
                    covers_everything_after(&self.incoming.policy.resource, literal)
                } else {
                    wildcard_match(&self.incoming.policy.resource, resource)
                };
                assert!(within, "{resource} within {}", self.incoming.policy.resource);
                checked.resources.push(resource.clone());
            }
            checked.signed.push(before.clone());
        }
        checked
    }
}

/// The credential under `suffix` in a URI's query.
pub fn credential(uri: &str, suffix: &str) -> Credential {
    let query = uri.split('#').next().unwrap().split_once('?').unwrap().1;
    Credential::from_query(query, suffix).unwrap()
}

/// Credentials removed, keeping a `?` they followed, then every `?` that
/// ends a URI dropped: the same on both sides whichever `?` was original.
fn norm(text: &str) -> String {
    let marked = text
        .replace("?Policy", "?\u{2}Policy")
        .replace("?Expires", "?\u{2}Expires");
    let stripped = strip_credentials(&marked.replace("\u{2}", "&"));
    let mut out = String::with_capacity(stripped.len());
    let mut chars = stripped.chars().peekable();
    while let Some(c) = chars.next() {
        let ends = chars
            .peek()
            .is_none_or(|n| matches!(n, '"' | ',' | '#') || n.is_whitespace());
        if !(c == '?' && ends) {
            out.push(c);
        }
    }
    strip_uri(&out)
}

/// The URI fields of a parsed playlist stripped of credentials.
pub fn normalize(playlist: &mut m3u8_rs::Playlist) {
    use m3u8_rs::{Playlist, QuotedOrUnquoted, SessionDataField};
    let strip_tag = |tag: &mut m3u8_rs::ExtTag| {
        if let Some(rest) = &mut tag.rest {
            *rest = norm(rest);
        }
    };
    match playlist {
        Playlist::MasterPlaylist(master) => {
            for variant in &mut master.variants {
                variant.uri = norm(&variant.uri);
            }
            for media in &mut master.alternatives {
                media.uri = media.uri.as_deref().map(norm);
            }
            for data in &mut master.session_data {
                if let SessionDataField::Uri(uri) = &mut data.field {
                    *uri = norm(uri);
                }
            }
            for key in &mut master.session_key {
                key.0.uri = key.0.uri.as_deref().map(norm);
            }
            master.unknown_tags.iter_mut().for_each(strip_tag);
        }
        Playlist::MediaPlaylist(media) => {
            media.unknown_tags.iter_mut().for_each(strip_tag);
            for segment in &mut media.segments {
                segment.uri = norm(&segment.uri);
                if let Some(key) = &mut segment.key {
                    key.uri = key.uri.as_deref().map(norm);
                }
                if let Some(map) = &mut segment.map {
                    map.uri = norm(&map.uri);
                }
                segment.unknown_tags.iter_mut().for_each(strip_tag);
                if let Some(range) = &mut segment.daterange {
                    for value in range.x_prefixed.iter_mut().flat_map(|m| m.values_mut()) {
                        if let QuotedOrUnquoted::Quoted(text) = value {
                            *text = norm(text);
                        }
                    }
                }
            }
        }
    }
}

/// m3u8-rs's reading of a body (after a BOM).
pub fn parse(body: &[u8]) -> m3u8_rs::Playlist {
    let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    m3u8_rs::parse_playlist_res(body).expect("m3u8-rs parses it")
}

pub fn hash_of(name: &str) -> HashAlgorithm {
    if name.contains("256") {
        HashAlgorithm::Sha256
    } else {
        HashAlgorithm::Sha1
    }
}
