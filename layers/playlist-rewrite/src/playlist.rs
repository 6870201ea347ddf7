//! What counts as a playlist: the checks every body passes before anything is
//! rewritten, and its kind (master or media).

use crate::{Error, scan};

/// The UTF-8 byte order mark, allowed before `#EXTM3U`.
pub(crate) const BOM: &str = "\u{feff}";

/// The two kinds of HLS playlist (RFC 8216 section 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlaylistKind {
    /// A multivariant ("master") playlist: variants and renditions.
    Master,
    /// A media playlist: segments.
    Media,
}

impl PlaylistKind {
    /// `"master"` or `"media"`, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            PlaylistKind::Master => "master",
            PlaylistKind::Media => "media",
        }
    }
}

impl std::fmt::Display for PlaylistKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks `body` in order of cost (size, NUL bytes, UTF-8, the `#EXTM3U`
/// line) and classifies it as m3u8-rs would: the first tag that only one
/// kind may hold decides; none means media (see [`scan::classify`]).
///
/// Nothing parses the playlist further: a line that is not HLS is copied as
/// it is, and a URI on it left untouched when it is not a valid URL.
///
/// Returns the text and its kind.
pub(crate) fn check(body: &[u8], max_bytes: usize) -> Result<(&str, PlaylistKind), Error> {
    if body.len() > max_bytes {
        return Err(Error::TooLarge {
            size: body.len(),
            limit: max_bytes,
        });
    }
    if let Some(offset) = body.iter().position(|&b| b == 0) {
        return Err(Error::Binary { offset });
    }
    let text = std::str::from_utf8(body).map_err(|e| Error::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let unmarked = text.strip_prefix(BOM).unwrap_or(text);
    let first_line = unmarked.split('\n').next().unwrap_or("").trim_end();
    if first_line != "#EXTM3U" {
        return Err(Error::NoHeader {
            first_line: first_line.chars().take(40).collect(),
        });
    }
    Ok((text, scan::classify(unmarked)))
}
