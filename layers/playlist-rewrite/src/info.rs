//! A cheap look at a playlist, for deciding how long a copy of it may be
//! served and whether a blocking reload can be answered: its kind, whether
//! it has ended (`EXT-X-ENDLIST`), its `EXT-X-PLAYLIST-TYPE`, its target
//! duration and part target, where its segments and parts end
//! ([`crate::delivery`]), and whether it looks caught mid-write
//! ([`Incomplete`]).
//!
//! One pass over the tag lines, no allocation. It does not check that the
//! body is a valid playlist beyond its `#EXTM3U` line (a rewrite does that)
//! and it rewrites nothing.
//!
//! The caching rule it serves ([`PlaylistInfo::is_static`],
//! [`PlaylistInfo::max_staleness`]): a multivariant playlist, or a media
//! playlist with `EXT-X-ENDLIST` or `PLAYLIST-TYPE:VOD`, does not change and
//! may be kept as long as the operator allows; a live or `EVENT` media
//! playlist without `EXT-X-ENDLIST` must not be served staler than half its
//! target duration (half its part target when it has parts: low-latency HLS),
//! which is how often clients reload it when it did not change (RFC 8216bis
//! section 6.3.4).

use std::time::Duration;

use crate::PlaylistKind;
use crate::playlist::BOM;

/// `EXT-X-PLAYLIST-TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlaylistType {
    /// `VOD`: the playlist never changes.
    Vod,
    /// `EVENT`: segments are only appended, until `EXT-X-ENDLIST`.
    Event,
}

/// What [`PlaylistInfo::of`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaylistInfo {
    /// Master or media, decided as [`rewrite`](crate::rewrite) decides it.
    pub kind: PlaylistKind,
    /// Whether an `EXT-X-ENDLIST` line is present.
    pub ended: bool,
    /// `EXT-X-PLAYLIST-TYPE`, when present and known.
    pub playlist_type: Option<PlaylistType>,
    /// `EXT-X-TARGETDURATION`, when present and a number.
    pub target_duration: Option<Duration>,
    /// `PART-TARGET` of `EXT-X-PART-INF`, when present and a number: the
    /// playlist has parts (low-latency HLS).
    pub part_target: Option<Duration>,
    /// `EXT-X-MEDIA-SEQUENCE` (0 when absent, as RFC 8216 says).
    pub media_sequence: u64,
    /// Media segments listed (URI lines of a media playlist).
    pub segments: u64,
    /// `EXT-X-PART` tags after the last segment: the parts of the segment
    /// being written, whose media sequence number is the next one.
    pub trailing_parts: u64,
    /// `EXT-X-SERVER-CONTROL` with `CAN-BLOCK-RELOAD=YES`.
    pub can_block_reload: bool,
    /// Why the object looks caught mid-write, when it does.
    pub incomplete: Option<Incomplete>,
}

/// Why a playlist object looks caught mid-write (a packager's non-atomic
/// upload): a transient state, answered "try again" rather than rewritten.
///
/// The rules are those a complete playlist always passes (RFC 8216 section
/// 4.1: every line ends with a line feed; section 4.3.3.1: a media playlist
/// has `EXT-X-TARGETDURATION`, in its header, before any segment; every
/// `EXTINF` and `EXT-X-STREAM-INF` is followed by its URI). A live playlist
/// cut at a line end after a segment's URI is a valid, shorter playlist, and
/// is answered as such. A playlist that has ended (`EXT-X-ENDLIST`) is
/// complete by definition, a line feed missing at its very end tolerated,
/// as hand-written VOD playlists often lack it; so is a multivariant
/// playlist's last line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incomplete {
    /// Nothing, or nothing after (part of) the `#EXTM3U` line.
    Empty,
    /// A live media playlist whose last line has no line feed: cut mid-line.
    LineCut,
    /// The last tag announces a segment or a variant whose URI line is missing.
    UriMissing,
    /// A live media playlist with neither `EXT-X-TARGETDURATION` nor a
    /// segment: cut inside its header.
    NoTargetDuration,
}

impl Incomplete {
    /// Looks at `body`: `Some` when it is empty or a cut-off playlist,
    /// `None` when it is complete or is not a playlist at all (a body that
    /// does not start with `#EXTM3U` is refused as such, not retried).
    pub fn of(body: &[u8]) -> Option<Self> {
        if is_header_so_far(body) {
            return Some(Incomplete::Empty);
        }
        PlaylistInfo::of(body)?.incomplete
    }

    /// A short explanation, for the error message.
    pub fn as_str(self) -> &'static str {
        match self {
            Incomplete::Empty => "nothing after the #EXTM3U line yet",
            Incomplete::LineCut => "the last line has no line feed (cut mid-line)",
            Incomplete::UriMissing => "the last segment or variant has no URI line yet",
            Incomplete::NoTargetDuration => "no EXT-X-TARGETDURATION yet",
        }
    }
}

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `body` is empty, blank, or (a prefix of) the `#EXTM3U` line with
/// nothing after it: all a playlist being written can look like at first.
fn is_header_so_far(body: &[u8]) -> bool {
    let body = body.strip_prefix(BOM.as_bytes()).unwrap_or(body);
    let trimmed = body.trim_ascii();
    b"#EXTM3U".starts_with(trimmed)
}

impl PlaylistInfo {
    /// Looks at `body`; `None` when it is not UTF-8 or does not start with
    /// the `#EXTM3U` line (after an optional BOM). When a tag appears twice,
    /// the last one counts.
    ///
    /// ```
    /// use std::time::Duration;
    /// use playlist_rewrite::PlaylistInfo;
    ///
    /// let live = PlaylistInfo::of(b"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\ns1.ts\n").unwrap();
    /// assert!(!live.is_static());
    /// assert_eq!(live.max_staleness(), Some(Duration::from_secs(3)));
    /// let vod = PlaylistInfo::of(b"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\ns1.ts\n#EXT-X-ENDLIST\n").unwrap();
    /// assert_eq!((vod.is_static(), vod.max_staleness()), (true, None));
    /// ```
    pub fn of(body: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(body).ok()?;
        let text = text.strip_prefix(BOM).unwrap_or(text);
        let first_line = text.split('\n').next().unwrap_or("").trim_end();
        if first_line != "#EXTM3U" {
            return None;
        }
        let mut info = PlaylistInfo {
            kind: crate::scan::classify(text),
            ended: false,
            playlist_type: None,
            target_duration: None,
            part_target: None,
            media_sequence: 0,
            segments: 0,
            trailing_parts: 0,
            can_block_reload: false,
            incomplete: None,
        };
        // The last tag that announces a URI line, until that line comes.
        let mut awaiting_uri = false;
        for line in text.split('\n') {
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            if !line.starts_with('#') {
                awaiting_uri = false;
                if info.kind == PlaylistKind::Media {
                    info.segments += 1;
                    info.trailing_parts = 0;
                }
                continue;
            }
            if line.starts_with("#EXTINF:") || line.starts_with("#EXT-X-STREAM-INF:") {
                awaiting_uri = true;
            }
            let Some(tag) = line.strip_prefix("#EXT-X-") else {
                continue;
            };
            if tag.starts_with("PART:") {
                info.trailing_parts += 1;
            } else if let Some(value) = tag.strip_prefix("MEDIA-SEQUENCE:") {
                info.media_sequence = value.trim().parse().unwrap_or(0);
            } else if let Some(attributes) = tag.strip_prefix("SERVER-CONTROL:") {
                info.can_block_reload = attribute(attributes, "CAN-BLOCK-RELOAD") == Some("YES");
            } else if tag == "ENDLIST" {
                info.ended = true;
            } else if let Some(value) = tag.strip_prefix("PLAYLIST-TYPE:") {
                info.playlist_type = match value.trim() {
                    "VOD" => Some(PlaylistType::Vod),
                    "EVENT" => Some(PlaylistType::Event),
                    _ => None,
                };
            } else if let Some(value) = tag.strip_prefix("TARGETDURATION:") {
                info.target_duration = seconds(value);
            } else if let Some(attributes) = tag.strip_prefix("PART-INF:") {
                info.part_target = attribute(attributes, "PART-TARGET").and_then(seconds);
            }
        }
        let live_media = info.kind == PlaylistKind::Media && !info.ended;
        info.incomplete = if awaiting_uri && !info.ended {
            Some(Incomplete::UriMissing)
        } else if live_media && !text.ends_with('\n') {
            Some(Incomplete::LineCut)
        } else if live_media && info.target_duration.is_none() && info.segments == 0 {
            Some(Incomplete::NoTargetDuration)
        } else {
            None
        };
        Some(info)
    }

    /// The `max-age` of an answer made from this playlist, in whole seconds,
    /// when the credential it carries has `credential_left` seconds to live:
    /// that for a playlist that does not change, at most
    /// [`max_staleness`](Self::max_staleness) (rounded down) for a live one.
    /// The same for a browser and for CloudFront (whose cache key holds the
    /// credential).
    ///
    /// ```
    /// use playlist_rewrite::PlaylistInfo;
    ///
    /// let live = PlaylistInfo::of(b"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\ns1.ts\n").unwrap();
    /// assert_eq!(live.max_age(21_600), 3);
    /// assert_eq!(live.max_age(2), 2);
    /// let vod = PlaylistInfo::of(b"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\ns1.ts\n#EXT-X-ENDLIST\n").unwrap();
    /// assert_eq!(vod.max_age(21_600), 21_600);
    /// ```
    pub fn max_age(&self, credential_left: u64) -> u64 {
        match self.max_staleness() {
            None => credential_left,
            Some(staleness) => credential_left.min(staleness.as_secs()),
        }
    }

    /// Whether the playlist does not change: a multivariant playlist, or a
    /// media playlist that has ended or is of type `VOD`.
    pub fn is_static(&self) -> bool {
        self.kind == PlaylistKind::Master || self.ended || self.playlist_type == Some(PlaylistType::Vod)
    }

    /// How stale a copy of a live (or `EVENT`) playlist may be served: half
    /// its part target when it has parts, else half its target duration
    /// (zero when it states neither). `None` for a static playlist, which
    /// has no such bound.
    pub fn max_staleness(&self) -> Option<Duration> {
        if self.is_static() {
            return None;
        }
        Some(self.part_target.or(self.target_duration).unwrap_or(Duration::ZERO) / 2)
    }
}

/// A non-negative decimal number of seconds.
fn seconds(text: &str) -> Option<Duration> {
    let value: f64 = text.trim().parse().ok()?;
    Duration::try_from_secs_f64(value).ok()
}

/// The value of `name` in an attribute list (`NAME=VALUE,...`), unquoted.
fn attribute<'a>(list: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = list;
    loop {
        let (key, after) = rest.split_once('=')?;
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            let tail = &quoted[end + 1..];
            (&quoted[..end], tail.split_once(',').map_or("", |(_, n)| n))
        } else {
            after.split_once(',').unwrap_or((after, ""))
        };
        if key.trim() == name {
            return Some(value);
        }
        if next.is_empty() {
            return None;
        }
        rest = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(text: &str) -> PlaylistInfo {
        PlaylistInfo::of(text.as_bytes()).expect("a playlist")
    }

    #[test]
    fn static_playlists() {
        let master = info("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n");
        assert_eq!((master.kind, master.is_static()), (PlaylistKind::Master, true));
        assert_eq!(master.max_staleness(), None);
        let ended = info("#EXTM3U\r\n#EXT-X-TARGETDURATION:4\r\n#EXTINF:4,\r\ns.ts\r\n#EXT-X-ENDLIST\r\n");
        assert!(ended.ended && ended.is_static());
        let vod = info("\u{feff}#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-TARGETDURATION:4\n");
        assert_eq!(vod.playlist_type, Some(PlaylistType::Vod));
        assert!(vod.is_static() && !vod.ended);
    }

    #[test]
    fn live_playlists_are_fresh_for_half_a_target_duration() {
        let live = info("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:9\n#EXTINF:6,\ns.ts\n");
        assert_eq!((live.kind, live.is_static()), (PlaylistKind::Media, false));
        assert_eq!(live.max_staleness(), Some(Duration::from_secs(3)));
        let event = info("#EXTM3U\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-TARGETDURATION:4\n");
        assert_eq!(event.playlist_type, Some(PlaylistType::Event));
        assert_eq!(event.max_staleness(), Some(Duration::from_secs(2)));
        let ended_event = info("#EXTM3U\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-TARGETDURATION:4\n#EXT-X-ENDLIST\n");
        assert_eq!(ended_event.max_staleness(), None);
        let low_latency = info(
            "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=3.012\n\
             #EXT-X-PART-INF:PART-TARGET=1.004\n#EXT-X-PART:DURATION=1.0,URI=\"p.mp4\"\n",
        );
        assert_eq!(low_latency.part_target, Some(Duration::from_millis(1004)));
        assert_eq!(low_latency.max_staleness(), Some(Duration::from_millis(502)));
        let unknown = info("#EXTM3U\n#EXTINF:4,\ns.ts\n");
        assert_eq!(unknown.max_staleness(), Some(Duration::ZERO));
        let bad = info("#EXTM3U\n#EXT-X-TARGETDURATION:-4\n#EXT-X-PLAYLIST-TYPE:LIVE\n");
        assert_eq!((bad.target_duration, bad.playlist_type), (None, None));
    }

    #[test]
    fn not_a_playlist() {
        for body in [&b""[..], b"<html>", b"#EXTM3U8\n", b"\xff#EXTM3U\n", b"\n#EXTM3U\n"] {
            assert_eq!(PlaylistInfo::of(body), None, "{body:?}");
        }
        assert!(PlaylistInfo::of(b"#EXTM3U").is_some());
    }

    #[test]
    fn attributes() {
        assert_eq!(attribute("A=1,PART-TARGET=0.5", "PART-TARGET"), Some("0.5"));
        assert_eq!(
            attribute("X=\"a,PART-TARGET=9\",PART-TARGET=2", "PART-TARGET"),
            Some("2")
        );
        assert_eq!(attribute("PART-TARGET", "PART-TARGET"), None);
        assert_eq!(attribute("", "PART-TARGET"), None);
    }

    #[test]
    fn the_corpus() {
        let corpus = [
            (include_str!("../../../tests/fixtures/corpus/master_full.m3u8"), true),
            (include_str!("../../../tests/fixtures/corpus/media_ts_vod.m3u8"), true),
        ];
        for (text, is_static) in corpus {
            assert_eq!(info(text).is_static(), is_static);
        }
        let llhls = info(include_str!("../../../tests/fixtures/corpus/media_llhls.m3u8"));
        assert!(!llhls.is_static(), "{llhls:?}");
        assert_eq!(llhls.max_staleness(), Some(Duration::from_micros(166_670)));
    }
}
