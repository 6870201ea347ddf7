//! Finding every URI in a playlist: one line-oriented pass that records where
//! each URI stands (byte offsets into the input) and never copies the text.
//!
//! A URI stands either on a line of its own (a media segment, or a variant
//! after `EXT-X-STREAM-INF`) or in an attribute of a tag (see [`URI_ATTRIBUTES`]).
//! Attribute lists are parsed as RFC 8216 section 4.2 defines them: a quoted
//! string runs to the next `"`, so commas inside it do not split it.
//! `EXT-X-DEFINE` tags are collected on the way (see [`Defines`]).

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

    /// Whether no variable is defined (the common case: nothing to substitute).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The URIs of a playlist and its variables.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scan {
    pub sites: Vec<Site>,
    pub defines: Defines,
}

/// Finds every URI in `text` (a checked playlist of the given kind).
pub(crate) fn scan(text: &str, kind: PlaylistKind) -> Scan {
    let mut out = Scan::default();
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
            scan_tag(rest, pos + 4, line_no, &mut out);
        } else if !line.starts_with('#') {
            let trimmed_start = line.len() - line.trim_start().len();
            let trimmed = line.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                let begin = pos + trimmed_start;
                out.sites.push(Site {
                    range: begin..begin + trimmed.len(),
                    line: line_no,
                    playlist: kind == PlaylistKind::Master,
                });
            }
        }
        pos = end + 1;
    }
    out
}

/// `rest` is a tag line after `#EXT`, starting at byte `offset` of the input.
fn scan_tag(rest: &str, offset: usize, line: usize, out: &mut Scan) {
    let (name, attributes) = match rest.find(':') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => return,
    };
    let attributes_offset = offset + name.len() + 1;
    // `name` lacks the "EXT" that "#EXT" took; compare against the tail.
    if name == "-X-DEFINE" {
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
            (Some(name), Some(value), None) => out.defines.define(name, Some(value)),
            (None, None, Some(name)) => out.defines.define(name, None),
            _ => {}
        }
        return;
    }
    for &(tag, wanted, playlist) in URI_ATTRIBUTES {
        if tag.get(3..) != Some(name) {
            continue;
        }
        for attribute in Attributes::new(attributes) {
            if attribute.name == wanted {
                out.sites.push(Site {
                    range: attributes_offset + attribute.value.start..attributes_offset + attribute.value.end,
                    line,
                    playlist,
                });
            }
        }
    }
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
