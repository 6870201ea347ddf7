//! What counts as a playlist: the checks every body passes before anything is
//! rewritten, and the master/media classification (by m3u8-rs).

use crate::Error;

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
/// line) and classifies it with m3u8-rs's `is_master_playlist` (the first
/// tag that only one kind may hold decides; none means media).
///
/// With `full_parse`, m3u8-rs also parses the whole playlist and must reach
/// its end: its tag loop stops at the first line it cannot read, so what is
/// left over is where the playlist stopped being HLS. That parse builds every
/// segment (8-17 ms for 10,000 segments here, three times the whole budget)
/// and, without the leftover check, rejects nothing the `#EXTM3U` check does
/// not, so it is off by default ([`Config::full_parse`](crate::Config::full_parse)).
///
/// Returns the text and its kind.
pub(crate) fn check(body: &[u8], max_bytes: usize, full_parse: bool) -> Result<(&str, PlaylistKind), Error> {
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
    let kind = if m3u8_rs::is_master_playlist(unmarked.as_bytes()) {
        PlaylistKind::Master
    } else {
        PlaylistKind::Media
    };
    if full_parse {
        let parsed_kind = match m3u8_rs::parse_playlist(unmarked.as_bytes()) {
            Ok((rest, parsed)) if rest.iter().all(u8::is_ascii_whitespace) => match parsed {
                m3u8_rs::Playlist::MasterPlaylist(_) => PlaylistKind::Master,
                m3u8_rs::Playlist::MediaPlaylist(_) => PlaylistKind::Media,
            },
            Ok((rest, _)) => {
                let line = unmarked[..unmarked.len() - rest.len()].matches('\n').count() + 1;
                return Err(Error::Malformed(format!("m3u8-rs cannot read line {line}")));
            }
            Err(_) => return Err(Error::Malformed("m3u8-rs cannot parse it".to_owned())),
        };
        debug_assert_eq!(parsed_kind, kind);
    }
    Ok((text, kind))
}
