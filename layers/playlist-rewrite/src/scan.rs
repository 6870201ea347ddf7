//! Finding every URI in a playlist: one line-oriented pass that records where
//! each URI stands (byte offsets into the input) and never copies the text.
//!
//! A URI stands either on a line of its own (a media segment, or a variant
//! after `EXT-X-STREAM-INF`) or in an attribute of a tag (see [`URI_ATTRIBUTES`]).
//! Attribute lists are parsed as RFC 8216 section 4.2 defines them: a quoted
//! string runs to the next `"`, so commas inside it do not split it.
//! `EXT-X-DEFINE` tags are collected on the way (see [`Defines`]).
//!
//! Before that pass, [`classify`] tells a master playlist from a media one.

use std::collections::HashMap;
use std::ops::Range;

use crate::PlaylistKind;
use crate::playlist::BOM;

/// Every tag attribute that holds a URI, and whether that URI points at a
/// playlist (and so also gets the `KEY_PREFIX` copies of the credential).
///
/// RFC 8216 and its second edition, plus Apple's extensions: the
/// interstitials' `X-ASSET-URI` (a multivariant playlist) and `X-ASSET-LIST`
/// (a JSON document) of `EXT-X-DATERANGE`, and the image playlists of
/// `EXT-X-IMAGE-STREAM-INF` (Apple and Roku trick-play thumbnails).
pub const URI_ATTRIBUTES: &[(&str, &str, bool)] = &[
    ("EXT-X-KEY", "URI", false),
    ("EXT-X-SESSION-KEY", "URI", false),
    ("EXT-X-MAP", "URI", false),
    ("EXT-X-MEDIA", "URI", true),
    ("EXT-X-I-FRAME-STREAM-INF", "URI", true),
    ("EXT-X-IMAGE-STREAM-INF", "URI", true),
    ("EXT-X-SESSION-DATA", "URI", false),
    ("EXT-X-PART", "URI", false),
    ("EXT-X-PRELOAD-HINT", "URI", false),
    ("EXT-X-RENDITION-REPORT", "URI", true),
    ("EXT-X-CONTENT-STEERING", "SERVER-URI", false),
    ("EXT-X-DATERANGE", "X-ASSET-URI", true),
    ("EXT-X-DATERANGE", "X-ASSET-LIST", false),
];

/// The tags that only one kind of playlist may hold, as m3u8-rs lists them
/// (`is_master_playlist`), in its order. A tag counts when a line starts
/// with its name, whatever follows (`#EXTINF` also stands for `#EXTINFO`).
const KIND_TAGS: &[(&str, PlaylistKind)] = &[
    ("#EXT-X-STREAM-INF", PlaylistKind::Master),
    ("#EXT-X-I-FRAME-STREAM-INF", PlaylistKind::Master),
    // Only when a character other than `-` follows (not EXT-X-MEDIA-SEQUENCE).
    ("#EXT-X-MEDIA", PlaylistKind::Master),
    ("#EXT-X-SESSION-KEY", PlaylistKind::Master),
    ("#EXT-X-SESSION-DATA", PlaylistKind::Master),
    ("#EXT-X-TARGETDURATION", PlaylistKind::Media),
    ("#EXT-X-MEDIA-SEQUENCE", PlaylistKind::Media),
    ("#EXT-X-DISCONTINUITY-SEQUENCE", PlaylistKind::Media),
    ("#EXT-X-ENDLIST", PlaylistKind::Media),
    ("#EXT-X-PLAYLIST-TYPE", PlaylistKind::Media),
    ("#EXT-X-I-FRAMES-ONLY", PlaylistKind::Media),
    ("#EXTINF", PlaylistKind::Media),
    ("#EXT-X-BYTERANGE", PlaylistKind::Media),
    ("#EXT-X-DISCONTINUITY", PlaylistKind::Media),
    ("#EXT-X-KEY", PlaylistKind::Media),
    ("#EXT-X-MAP", PlaylistKind::Media),
    ("#EXT-X-PROGRAM-DATE-TIME", PlaylistKind::Media),
    ("#EXT-X-DATERANGE", PlaylistKind::Media),
];

/// Master or media: the first line that starts with one of [`KIND_TAGS`]
/// decides; none means media. `text` starts with `#EXTM3U` (no BOM).
///
/// Exactly m3u8-rs's `is_master_playlist`, which this replaces (so that
/// m3u8-rs, nom and chrono stay out of the Lambda binary), quirks included:
/// line breaks before a line are skipped, tags are case-sensitive, and a
/// carriage return not followed by a line feed ends the search (m3u8-rs
/// cannot read past it), the playlist then counting as media. It reads only
/// up to the deciding line, usually the second.
pub(crate) fn classify(text: &str) -> PlaylistKind {
    let bytes = text.as_bytes();
    let Some(mut pos) = text.strip_prefix("#EXTM3U").map(|rest| bytes.len() - rest.len()) else {
        return PlaylistKind::Media;
    };
    while pos < bytes.len() {
        while pos < bytes.len() && matches!(bytes[pos], b'\r' | b'\n') {
            pos += 1;
        }
        let (kind, tag_end) = match kind_tag(&bytes[pos..]) {
            Some((kind, len)) => (Some(kind), pos + len),
            None => (None, pos),
        };
        // The line must end with LF, CRLF or the end of the text.
        let next = match bytes[tag_end..].iter().position(|&b| b == b'\r' || b == b'\n') {
            None => bytes.len(),
            Some(i) if bytes[tag_end + i] == b'\n' => tag_end + i + 1,
            Some(i) if bytes.get(tag_end + i + 1) == Some(&b'\n') => tag_end + i + 2,
            Some(_) => return PlaylistKind::Media,
        };
        if let Some(kind) = kind {
            return kind;
        }
        pos = next;
    }
    PlaylistKind::Media
}

/// The kind a line starting with `line` decides, and how far m3u8-rs reads
/// its tag: the name, or for `#EXT-X-MEDIA` up to the next `-` (even on a
/// later line) or the end.
fn kind_tag(line: &[u8]) -> Option<(PlaylistKind, usize)> {
    KIND_TAGS.iter().find_map(|&(tag, kind)| {
        let after = line.strip_prefix(tag.as_bytes())?;
        if tag != "#EXT-X-MEDIA" {
            return Some((kind, tag.len()));
        }
        match after.first() {
            None | Some(b'-') => None,
            Some(_) => Some((
                kind,
                tag.len() + after.iter().position(|&b| b == b'-').unwrap_or(after.len()),
            )),
        }
    })
}

/// One URI found in the playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Site {
    /// The URI's bytes in the input (inside the quotes of an attribute; a
    /// line's leading and trailing whitespace excluded).
    pub range: Range<usize>,
    /// 1-based line number.
    pub line: usize,
    /// Whether its place says it points at a playlist.
    pub playlist: bool,
}

/// The variables of `EXT-X-DEFINE` tags (RFC 8216bis section 4.4.2.3).
///
/// `NAME`/`VALUE` defines a value this crate substitutes to compute the URL;
/// `IMPORT` (a value from the multivariant playlist) and `QUERYPARAM` (a
/// value from the query of the URL the player used) are known only to the
/// player, so they map to `None`. A name defined twice is an error in the
/// playlist and maps to `None` as well.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Defines {
    map: HashMap<String, Option<String>>,
}

impl Defines {
    /// The value of `name`: `Some(Some(v))` when known, `Some(None)` when
    /// defined but not known here, `None` when never defined.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.map.get(name).map(Option::as_deref)
    }

    fn define(&mut self, name: &str, value: Option<&str>) {
        let value = if self.map.contains_key(name) {
            None
        } else {
            value.map(str::to_owned)
        };
        self.map.insert(name.to_owned(), value);
    }
}

/// The URIs of a playlist and its variables, all at once (for tests; the
/// rewrite walks the sites one by one, see [`for_each_site`]).
#[cfg(test)]
#[derive(Debug, Clone, Default)]
pub(crate) struct Scan {
    pub sites: Vec<Site>,
    pub defines: Defines,
}

/// Finds every URI in `text` (a checked playlist of the given kind), and its variables.
#[cfg(test)]
pub(crate) fn scan(text: &str, kind: PlaylistKind) -> Scan {
    let mut out = Scan::default();
    let mut sites = Vec::new();
    let _ = walk::<()>(text, kind, Some(&mut out.defines), &mut |site| {
        sites.push(site);
        Ok(())
    });
    out.sites = sites;
    out
}

/// The `EXT-X-DEFINE` variables of `text`, wherever they stand.
pub(crate) fn defines(text: &str) -> Defines {
    let mut defines = Defines::default();
    let _ = walk::<()>(text, PlaylistKind::Media, Some(&mut defines), &mut |_| Ok(()));
    defines
}

/// Calls `on_site` with every URI of `text` (a checked playlist of the
/// given kind), in order, stopping at the first error: the sites are never
/// all held at once.
pub(crate) fn for_each_site<E>(
    text: &str,
    kind: PlaylistKind,
    on_site: &mut impl FnMut(Site) -> Result<(), E>,
) -> Result<(), E> {
    walk(text, kind, None, on_site)
}

/// One pass over the lines: sites to `on_site`, variables into `defines` when given.
fn walk<E>(
    text: &str,
    kind: PlaylistKind,
    mut defines: Option<&mut Defines>,
    on_site: &mut impl FnMut(Site) -> Result<(), E>,
) -> Result<(), E> {
    let start = if text.starts_with(BOM) { BOM.len() } else { 0 };
    let bytes = text.as_bytes();
    let mut pos = start;
    let mut line_no = 0;
    while pos < bytes.len() {
        line_no += 1;
        let end = match text[pos..].find('\n') {
            Some(i) => pos + i,
            None => bytes.len(),
        };
        let content_end = if end > pos && bytes[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        let line = &text[pos..content_end];
        if let Some(rest) = line.strip_prefix("#EXT") {
            scan_tag(rest, pos + 4, line_no, defines.as_deref_mut(), on_site)?;
        } else if !line.starts_with('#') {
            let trimmed_start = line.len() - line.trim_start().len();
            let trimmed = line.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                let begin = pos + trimmed_start;
                on_site(Site {
                    range: begin..begin + trimmed.len(),
                    line: line_no,
                    playlist: kind == PlaylistKind::Master,
                })?;
            }
        }
        pos = end + 1;
    }
    Ok(())
}

/// `rest` is a tag line after `#EXT`, starting at byte `offset` of the input.
fn scan_tag<E>(
    rest: &str,
    offset: usize,
    line: usize,
    defines: Option<&mut Defines>,
    on_site: &mut impl FnMut(Site) -> Result<(), E>,
) -> Result<(), E> {
    let (name, attributes) = match rest.find(':') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => return Ok(()),
    };
    let attributes_offset = offset + name.len() + 1;
    // `name` lacks the "EXT" that "#EXT" took; compare against the tail.
    if name == "-X-DEFINE" {
        let Some(defines) = defines else { return Ok(()) };
        let mut define = (None, None, None);
        for attribute in Attributes::new(attributes) {
            let value = &attributes[attribute.value.clone()];
            match attribute.name {
                "NAME" => define.0 = Some(value),
                "VALUE" => define.1 = Some(value),
                "IMPORT" | "QUERYPARAM" => define.2 = Some(value),
                _ => {}
            }
        }
        match define {
            (Some(name), Some(value), None) => defines.define(name, Some(value)),
            (None, None, Some(name)) => defines.define(name, None),
            _ => {}
        }
        return Ok(());
    }
    for &(tag, wanted, playlist) in URI_ATTRIBUTES {
        if tag.get(3..) != Some(name) {
            continue;
        }
        for attribute in Attributes::new(attributes) {
            if attribute.name == wanted {
                on_site(Site {
                    range: attributes_offset + attribute.value.start..attributes_offset + attribute.value.end,
                    line,
                    playlist,
                })?;
            }
        }
    }
    Ok(())
}

/// One `NAME=value` of an attribute list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attribute<'a> {
    pub name: &'a str,
    /// The value's bytes within the list, without the quotes of a quoted string.
    pub value: Range<usize>,
    pub quoted: bool,
}

/// The attributes of an attribute list, in order. A quoted string runs to the
/// next `"` whatever it holds; an unterminated one ends the list (its value is
/// not trusted). Names are trimmed of spaces; an item without `=` is skipped.
pub(crate) struct Attributes<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Attributes<'a> {
    pub fn new(text: &'a str) -> Self {
        Attributes { text, pos: 0 }
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    fn next(&mut self) -> Option<Attribute<'a>> {
        let bytes = self.text.as_bytes();
        loop {
            if self.pos >= bytes.len() {
                return None;
            }
            let name_start = self.pos;
            while self.pos < bytes.len() && bytes[self.pos] != b'=' && bytes[self.pos] != b',' {
                self.pos += 1;
            }
            if self.pos >= bytes.len() {
                return None;
            }
            if bytes[self.pos] == b',' {
                self.pos += 1;
                continue;
            }
            let name = self.text[name_start..self.pos].trim();
            self.pos += 1;
            let (value, quoted) = if bytes.get(self.pos) == Some(&b'"') {
                let start = self.pos + 1;
                let Some(len) = self.text[start..].find('"') else {
                    self.pos = bytes.len();
                    return None;
                };
                self.pos = start + len + 1;
                (start..start + len, true)
            } else {
                let start = self.pos;
                while self.pos < bytes.len() && bytes[self.pos] != b',' {
                    self.pos += 1;
                }
                let value = self.text[start..self.pos].trim_end();
                (start..start + value.len(), false)
            };
            // Skip to the item after the next comma (anything between a
            // closing quote and the comma is malformed and ignored).
            while self.pos < bytes.len() && bytes[self.pos] != b',' {
                self.pos += 1;
            }
            self.pos += 1;
            return Some(Attribute { name, value, quoted });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uris(text: &str, kind: PlaylistKind) -> Vec<(&str, bool)> {
        scan(text, kind)
            .sites
            .iter()
            .map(|s| (&text[s.range.clone()], s.playlist))
            .collect()
    }

    /// m3u8-rs's answer, the reference.
    fn m3u8_rs_kind(text: &str) -> PlaylistKind {
        if m3u8_rs::is_master_playlist(text.as_bytes()) {
            PlaylistKind::Master
        } else {
            PlaylistKind::Media
        }
    }

    #[test]
    fn classifies_the_corpus_as_m3u8_rs_does() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/corpus");
        let mut kinds = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "m3u8") {
                let text = std::fs::read_to_string(&path).unwrap();
                let text = text.strip_prefix(BOM).unwrap_or(&text);
                assert_eq!(classify(text), m3u8_rs_kind(text), "{}", path.display());
                kinds.push(classify(text));
            }
        }
        assert!(kinds.len() >= 6);
        assert!(kinds.contains(&PlaylistKind::Master) && kinds.contains(&PlaylistKind::Media));
    }

    #[test]
    fn classifies_tricky_playlists_as_m3u8_rs_does() {
        let cases: &[(&str, PlaylistKind)] = &[
            ("#EXTM3U", PlaylistKind::Media),
            ("#EXTM3U\n", PlaylistKind::Media),
            ("#EXTM3U\n#EXT-X-VERSION:6\n", PlaylistKind::Media),
            ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n", PlaylistKind::Master),
            (
                "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-STREAM-INF:BANDWIDTH=1\n",
                PlaylistKind::Media,
            ),
            (
                "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXTINF:4,\n",
                PlaylistKind::Master,
            ),
            // The first deciding tag wins, after any number of others.
            (
                "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n# c\n\nx.ts\n#EXT-X-MEDIA:TYPE=AUDIO\n",
                PlaylistKind::Master,
            ),
            // EXT-X-MEDIA, not EXT-X-MEDIA-SEQUENCE or another EXT-X-MEDIA-...
            (
                "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-STREAM-INF:B=1\n",
                PlaylistKind::Media,
            ),
            (
                "#EXTM3U\n#EXT-X-MEDIA-X:1\n#EXT-X-STREAM-INF:B=1\n",
                PlaylistKind::Master,
            ),
            ("#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO\n", PlaylistKind::Master),
            ("#EXTM3U\n#EXT-X-MEDIA\n", PlaylistKind::Master),
            ("#EXTM3U\n#EXT-X-MEDIA", PlaylistKind::Media),
            ("#EXTM3U\n#EXT-X-MEDIAX", PlaylistKind::Master),
            // A prefix counts; case and leading space do.
            ("#EXTM3U\n#EXT-X-STREAM-INFO\n", PlaylistKind::Master),
            ("#EXTM3U\n#EXT-X-SESSION-KEYS:x\n", PlaylistKind::Master),
            ("#EXTM3U\n#ext-x-stream-inf:BANDWIDTH=1\n", PlaylistKind::Media),
            ("#EXTM3U\n #EXT-X-STREAM-INF:BANDWIDTH=1\n", PlaylistKind::Media),
            (
                "#EXTM3U\n\t#EXT-X-SESSION-DATA:DATA-ID=\"a\"\n#EXT-X-SESSION-DATA:DATA-ID=\"a\"\n",
                PlaylistKind::Master,
            ),
            // Master-looking text elsewhere on a line does not count.
            (
                "#EXTM3U\n# #EXT-X-STREAM-INF\nv.m3u8 #EXT-X-STREAM-INF\n",
                PlaylistKind::Media,
            ),
            ("#EXTM3U #EXT-X-STREAM-INF\n", PlaylistKind::Media),
            // Not an image stream: m3u8-rs does not list it.
            ("#EXTM3U\n#EXT-X-IMAGE-STREAM-INF:URI=\"i.m3u8\"\n", PlaylistKind::Media),
            (
                "#EXTM3U\n#EXT-X-I-FRAME-STREAM-INF:URI=\"i.m3u8\"\n",
                PlaylistKind::Master,
            ),
            (
                "#EXTM3U\n#EXT-X-I-FRAMES-ONLY\n#EXT-X-I-FRAME-STREAM-INF:URI=\"i\"\n",
                PlaylistKind::Media,
            ),
            // Line ends: CRLF, runs of blank lines, lone CRs.
            (
                "#EXTM3U\r\n\r\n\r\n#EXT-X-STREAM-INF:B=1\r\nv.m3u8\r\n",
                PlaylistKind::Master,
            ),
            ("#EXTM3U\r\r\n\r#EXT-X-STREAM-INF:B=1\n", PlaylistKind::Master),
            (
                "#EXTM3U\n#EXT-X-VERSION:3\rx\n#EXT-X-STREAM-INF:B=1\n",
                PlaylistKind::Media,
            ),
            ("#EXTM3U\n#EXT-X-STREAM-INF:B=1\rx\n", PlaylistKind::Media),
            ("#EXTM3U\n#EXT-X-STREAM-INF:B=1\r", PlaylistKind::Media),
            ("#EXTM3U \r \n#EXT-X-STREAM-INF:B=1\n", PlaylistKind::Media),
            ("#EXTM3U  \n#EXT-X-STREAM-INF:B=1\n", PlaylistKind::Master),
            // EXT-X-MEDIA reads on to the next `-`, even on a later line.
            ("#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO\r\n#EXT\r-X", PlaylistKind::Master),
            ("#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO\n#EXT-X\rY\n", PlaylistKind::Media),
            ("#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO\rA-B\n", PlaylistKind::Master),
            // Non-ASCII text on the way.
            ("#EXTM3U\n#EXTINF:4,título é\n", PlaylistKind::Media),
            ("#EXTM3U\n# ü\n#EXT-X-MEDIA:NAME=\"ü\"\n", PlaylistKind::Master),
        ];
        for &(text, expected) in cases {
            assert_eq!(m3u8_rs_kind(text), expected, "the reference, for {text:?}");
            assert_eq!(classify(text), expected, "{text:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Lines built from the deciding tags, their near misses, and every
        /// kind of line break, classified as m3u8-rs classifies them.
        #[test]
        fn classifies_generated_playlists_as_m3u8_rs_does(
            lines in proptest::collection::vec((
                proptest::sample::select(vec![
                    "#EXT-X-STREAM-INF:B=1", "#EXT-X-MEDIA:T=A", "#EXT-X-MEDIA", "#EXT-X-MEDIA-", "#EXT-X-MEDIA-SEQUENCE:1",
                    "#EXT-X-I-FRAME-STREAM-INF:U", "#EXT-X-I-FRAMES-ONLY", "#EXT-X-SESSION-KEY:M", "#EXT-X-SESSION-DATA:D",
                    "#EXTINF:4,", "#EXT-X-KEY:M", "#EXT-X-MAP:U", "#EXT-X-DATERANGE:I", "#EXT-X-ENDLIST",
                    "#EXT-X-DISCONTINUITY", "#EXT-X-VERSION:3", "#EXT-X-IMAGE-STREAM-INF:U", "# c", "", "seg-1.ts",
                    " #EXTINF:4", "#ext-x-stream-inf", "#EXT", "#EXT-X-",
                ]),
                "[a-z\r -]{0,3}",
                proptest::sample::select(vec!["\n", "\r\n", "\r", "\n\n", "\r\r\n", ""]),
            ), 0..8),
        ) {
            let mut text = String::from("#EXTM3U\n");
            for (line, tail, end) in &lines {
                text.push_str(line);
                text.push_str(tail);
                text.push_str(end);
            }
            proptest::prop_assert_eq!(classify(&text), m3u8_rs_kind(&text), "{:?}", text);
        }
    }

    #[test]
    fn attributes_respect_quotes() {
        let list = r#"METHOD=AES-128,URI="a,b=c.key",IV=0x1, KEYFORMAT="x""#;
        let found: Vec<_> = Attributes::new(list)
            .map(|a| (a.name, &list[a.value], a.quoted))
            .collect();
        assert_eq!(
            found,
            [
                ("METHOD", "AES-128", false),
                ("URI", "a,b=c.key", true),
                ("IV", "0x1", false),
                ("KEYFORMAT", "x", true)
            ]
        );
    }

    #[test]
    fn unterminated_quote_ends_the_list() {
        let list = r#"A=1,URI="never closed,B=2"#;
        let found: Vec<_> = Attributes::new(list).map(|a| a.name).collect();
        assert_eq!(found, ["A"]);
    }

    #[test]
    fn empty_and_valueless_items_are_skipped() {
        let list = r#",,FLAG,URI="u",="#;
        let found: Vec<_> = Attributes::new(list).map(|a| (a.name, &list[a.value])).collect();
        assert_eq!(found, [("URI", "u"), ("", "")]);
    }

    #[test]
    fn finds_lines_and_attributes_with_roles() {
        let text = "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:4,t, with comma\nseg.ts\n# seg.ts comment\n\n  spaced.ts  \n#EXT-X-RENDITION-REPORT:URI=\"../r.m3u8\",LAST-MSN=1\n";
        assert_eq!(
            uris(text, PlaylistKind::Media),
            [
                ("init.mp4", false),
                ("seg.ts", false),
                ("spaced.ts", false),
                ("../r.m3u8", true)
            ]
        );
        let lines: Vec<usize> = scan(text, PlaylistKind::Media).sites.iter().map(|s| s.line).collect();
        assert_eq!(lines, [2, 4, 7, 8]);
    }

    #[test]
    fn variant_lines_point_at_playlists() {
        let text = "\u{feff}#EXTM3U\r\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"a,b\"\r\nv/index.m3u8\r\n#EXT-X-MEDIA:TYPE=AUDIO,URI=\"a.m3u8\",NAME=\"x,URI=y\"\r\n";
        assert_eq!(
            uris(text, PlaylistKind::Master),
            [("v/index.m3u8", true), ("a.m3u8", true)]
        );
    }

    #[test]
    fn every_listed_attribute_is_found() {
        for &(tag, attribute, playlist) in URI_ATTRIBUTES {
            let text = format!("#EXTM3U\n#{tag}:A=1,{attribute}=\"u,v\",B=\"2\"\n");
            assert_eq!(uris(&text, PlaylistKind::Media), [("u,v", playlist)], "{tag}");
        }
        // Prefixes of other tags are not confused with them.
        let text = "#EXTM3U\n#EXT-X-MAPX:URI=\"no\"\n#EXT-X-KEYS:URI=\"no\"\n#EXT-X-MEDIA-SEQUENCE:1\n";
        assert!(uris(text, PlaylistKind::Media).is_empty());
    }

    #[test]
    fn collects_defines() {
        let text = "#EXTM3U\n#EXT-X-DEFINE:NAME=\"base\",VALUE=\"https://h/x\"\n#EXT-X-DEFINE:IMPORT=\"tok\"\n#EXT-X-DEFINE:QUERYPARAM=\"q\"\n#EXT-X-DEFINE:NAME=\"d\",VALUE=\"1\"\n#EXT-X-DEFINE:NAME=\"d\",VALUE=\"2\"\n";
        let defines = scan(text, PlaylistKind::Media).defines;
        assert_eq!(defines.get("base"), Some(Some("https://h/x")));
        assert_eq!(defines.get("tok"), Some(None));
        assert_eq!(defines.get("q"), Some(None));
        assert_eq!(defines.get("d"), Some(None));
        assert_eq!(defines.get("nope"), None);
    }
}
