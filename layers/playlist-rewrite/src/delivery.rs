//! Low-latency HLS delivery directives (RFC 8216bis section 6.2.5): what a
//! player asks with `_HLS_msn`, `_HLS_part` and `_HLS_skip`, and whether a
//! playlist can answer a blocking reload yet.
//!
//! Pure: the caller reads the playlist again until [`PlaylistInfo::readiness`]
//! says [`Readiness::Ready`] or the wait passes
//! [`PlaylistInfo::blocking_limit`]. `_HLS_skip` is accepted and ignored:
//! the whole playlist is a valid answer to a delta-update request.

use std::time::Duration;

use crate::PlaylistInfo;

/// A blocking reload: answer once the playlist holds media sequence number
/// `msn` (and, with `part`, that partial segment of it), or a later one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockingReload {
    /// `_HLS_msn`.
    pub msn: u64,
    /// `_HLS_part`, when given.
    pub part: Option<u64>,
}

/// A delivery directive the specification does not allow; the answer is 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DirectiveError {
    /// `_HLS_msn` or `_HLS_part` is not a decimal integer.
    #[error("{name} must be a decimal integer")]
    NotAnInteger {
        /// The parameter.
        name: &'static str,
    },
    /// A directive given twice.
    #[error("{name} is given more than once")]
    Repeated {
        /// The parameter.
        name: &'static str,
    },
    /// `_HLS_part` without `_HLS_msn`.
    #[error("_HLS_part requires _HLS_msn")]
    PartWithoutMsn,
}

const MSN: &str = "_HLS_msn";
const PART: &str = "_HLS_part";

impl BlockingReload {
    /// The blocking reload a query string asks for (`None`: none asked).
    /// Other parameters, `_HLS_skip` among them, are not looked at.
    ///
    /// ```
    /// use playlist_rewrite::BlockingReload;
    ///
    /// let asked = BlockingReload::from_query("Policy-X=abc&_HLS_msn=270&_HLS_part=1&_HLS_skip=YES").unwrap();
    /// assert_eq!(asked, Some(BlockingReload { msn: 270, part: Some(1) }));
    /// assert_eq!(BlockingReload::from_query("a=1").unwrap(), None);
    /// assert!(BlockingReload::from_query("_HLS_part=1").is_err());
    /// ```
    pub fn from_query(query: &str) -> Result<Option<Self>, DirectiveError> {
        let mut msn = None;
        let mut part = None;
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, slot) = match name {
                MSN => (MSN, &mut msn),
                PART => (PART, &mut part),
                _ => continue,
            };
            if slot.is_some() {
                return Err(DirectiveError::Repeated { name });
            }
            *slot = Some(decimal_integer(value).ok_or(DirectiveError::NotAnInteger { name })?);
        }
        match (msn, part) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(DirectiveError::PartWithoutMsn),
            (Some(msn), part) => Ok(Some(BlockingReload { msn, part })),
        }
    }
}

/// RFC 8216 `decimal-integer`: digits only, at most 2^64 - 1.
fn decimal_integer(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// What a playlist can do for a [`BlockingReload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Answer with this playlist: it holds what was asked (or later), it
    /// has ended, or it does not offer blocking reloads (the directives are
    /// then ignored, and the playlist as it is answers).
    Ready,
    /// Not there yet: read the playlist again.
    Wait,
    /// More than two segments (or the Advance Part Limit of parts) ahead of
    /// the playlist's last: answer 400 at once.
    TooFarAhead,
}

impl PlaylistInfo {
    /// The media sequence number of the segment being written: the one
    /// after the last complete segment.
    pub fn next_msn(&self) -> u64 {
        self.media_sequence.saturating_add(self.segments)
    }

    /// Whether `asked` can be answered with this playlist now.
    ///
    /// ```
    /// use playlist_rewrite::{BlockingReload, PlaylistInfo, Readiness};
    ///
    /// let text = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n\
    ///             #EXT-X-PART-INF:PART-TARGET=1\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:4,\ns7.mp4\n\
    ///             #EXT-X-PART:DURATION=1,URI=\"p8.0.mp4\"\n";
    /// let info = PlaylistInfo::of(text.as_bytes()).unwrap();
    /// let asked = |msn, part| info.readiness(BlockingReload { msn, part });
    /// assert_eq!(asked(8, Some(0)), Readiness::Ready);
    /// assert_eq!(asked(8, Some(1)), Readiness::Wait);
    /// assert_eq!(asked(8, None), Readiness::Wait);
    /// assert_eq!(asked(10, None), Readiness::TooFarAhead);
    /// ```
    pub fn readiness(&self, asked: BlockingReload) -> Readiness {
        if !self.can_block_reload || self.ended || self.is_static() {
            return Readiness::Ready;
        }
        let next = self.next_msn();
        // "more than two segments ahead of the last": last = next - 1.
        if asked.msn > next.saturating_add(1) {
            return Readiness::TooFarAhead;
        }
        if let Some(part) = asked.part
            && let Some(ahead) = self.parts_ahead(asked.msn, part)
            && ahead > self.advance_part_limit()
        {
            return Readiness::TooFarAhead;
        }
        let ready = asked.msn < next || (asked.msn == next && asked.part.is_some_and(|p| p < self.trailing_parts));
        if ready { Readiness::Ready } else { Readiness::Wait }
    }

    /// How many parts `(msn, part)` lies beyond the playlist's last part,
    /// when the playlist has parts (segments counted as
    /// `ceil(target duration / part target)` parts each).
    fn parts_ahead(&self, msn: u64, part: u64) -> Option<u64> {
        let per_segment = self.target_duration?.as_secs_f64() / self.part_target?.as_secs_f64();
        let per_segment = if per_segment.is_finite() {
            per_segment.ceil().max(1.0) as u64
        } else {
            1
        };
        let next = self.next_msn();
        let asked = u128::from(msn) * u128::from(per_segment) + u128::from(part);
        // The last part listed: (next, trailing_parts - 1), or the last
        // part of the segment before when none of `next` is listed yet.
        let last = (u128::from(next) * u128::from(per_segment) + u128::from(self.trailing_parts)).saturating_sub(1);
        Some(u64::try_from(asked.saturating_sub(last)).unwrap_or(u64::MAX))
    }

    /// The Advance Part Limit: three divided by the part target when it is
    /// under a second, three otherwise.
    fn advance_part_limit(&self) -> u64 {
        match self.part_target {
            Some(target) if target < Duration::from_secs(1) && !target.is_zero() => {
                (3.0 / target.as_secs_f64()).floor() as u64
            }
            _ => 3,
        }
    }

    /// How long a blocking reload may wait for what it asked: three target
    /// durations (`None` without a target duration: do not wait).
    pub fn blocking_limit(&self) -> Option<Duration> {
        self.target_duration.map(|d| d.saturating_mul(3))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(msn: u64, part: Option<u64>) -> BlockingReload {
        BlockingReload { msn, part }
    }

    const LLHLS: &str = include_str!("../../../tests/fixtures/corpus/media_llhls.m3u8");

    #[test]
    fn directives_follow_the_grammar() {
        for (query, want) in [
            ("", None),
            ("_HLS_skip=YES", None),
            ("_HLS_msn=0", Some(asked(0, None))),
            (
                "x=1&_HLS_part=2&_HLS_msn=18446744073709551615",
                Some(asked(u64::MAX, Some(2))),
            ),
            ("_hls_msn=1", None),
        ] {
            assert_eq!(BlockingReload::from_query(query), Ok(want), "{query}");
        }
        for (query, want) in [
            ("_HLS_msn=", DirectiveError::NotAnInteger { name: MSN }),
            ("_HLS_msn=-1", DirectiveError::NotAnInteger { name: MSN }),
            ("_HLS_msn=+1", DirectiveError::NotAnInteger { name: MSN }),
            ("_HLS_msn=1.0", DirectiveError::NotAnInteger { name: MSN }),
            (
                "_HLS_msn=18446744073709551616",
                DirectiveError::NotAnInteger { name: MSN },
            ),
            ("_HLS_msn", DirectiveError::NotAnInteger { name: MSN }),
            ("_HLS_msn=1&_HLS_part=x", DirectiveError::NotAnInteger { name: PART }),
            ("_HLS_msn=1&_HLS_msn=2", DirectiveError::Repeated { name: MSN }),
            ("_HLS_part=1", DirectiveError::PartWithoutMsn),
        ] {
            assert_eq!(BlockingReload::from_query(query), Err(want), "{query}");
        }
    }

    /// The corpus' LL-HLS playlist: segments 266 to 269 complete, part 0 of 270 listed.
    #[test]
    fn the_llhls_corpus_playlist() {
        let info = PlaylistInfo::of(LLHLS.as_bytes()).unwrap();
        assert_eq!((info.media_sequence, info.segments, info.trailing_parts), (266, 4, 1));
        assert_eq!(info.next_msn(), 270);
        assert!(info.can_block_reload);
        assert_eq!(info.blocking_limit(), Some(Duration::from_secs(12)));
        for (msn, part, want) in [
            (200, None, Readiness::Ready),
            (269, None, Readiness::Ready),
            (269, Some(11), Readiness::Ready),
            (270, Some(0), Readiness::Ready),
            (270, Some(1), Readiness::Wait),
            (270, None, Readiness::Wait),
            (271, None, Readiness::Wait),
            (272, None, Readiness::TooFarAhead),
            // PART-TARGET 0.33334: 12 parts per segment, limit 3 / 0.33334 = 8
            // parts past the last listed, (270, 0).
            (270, Some(8), Readiness::Wait),
            (270, Some(9), Readiness::TooFarAhead),
            (271, Some(0), Readiness::TooFarAhead),
        ] {
            assert_eq!(info.readiness(asked(msn, part)), want, "{msn} {part:?}");
        }
    }

    #[test]
    fn playlists_that_do_not_block_answer_at_once() {
        let no_control = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\ns0.ts\n";
        let ended = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n\
                     #EXTINF:2,\ns0.ts\n#EXT-X-ENDLIST\n";
        let master = "#EXTM3U\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n";
        for text in [no_control, ended, master] {
            let info = PlaylistInfo::of(text.as_bytes()).unwrap();
            assert_eq!(info.readiness(asked(99, Some(3))), Readiness::Ready, "{text}");
        }
    }

    #[test]
    fn segments_without_parts() {
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n\
                    #EXTINF:2,\ns0.ts\n#EXTINF:2,\ns1.ts\n";
        let info = PlaylistInfo::of(text.as_bytes()).unwrap();
        assert_eq!(info.next_msn(), 2);
        assert_eq!(info.readiness(asked(1, None)), Readiness::Ready);
        assert_eq!(info.readiness(asked(2, None)), Readiness::Wait);
        assert_eq!(info.readiness(asked(3, None)), Readiness::Wait);
        assert_eq!(info.readiness(asked(4, None)), Readiness::TooFarAhead);
        // A part asked of a playlist without parts: no part limit to apply.
        assert_eq!(info.readiness(asked(2, Some(50))), Readiness::Wait);
        assert_eq!(info.blocking_limit(), Some(Duration::from_secs(6)));
    }

    #[test]
    fn one_second_parts_have_a_limit_of_three() {
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n\
                    #EXT-X-PART-INF:PART-TARGET=1.0\n#EXTINF:4,\ns0.mp4\n\
                    #EXT-X-PART:DURATION=1,URI=\"p1.0.mp4\"\n#EXT-X-PART:DURATION=1,URI=\"p1.1.mp4\"\n";
        let info = PlaylistInfo::of(text.as_bytes()).unwrap();
        assert_eq!((info.next_msn(), info.trailing_parts), (1, 2));
        assert_eq!(info.readiness(asked(1, Some(1))), Readiness::Ready);
        assert_eq!(info.readiness(asked(1, Some(2))), Readiness::Wait);
        // Last part listed: (1, 1); (2, 0) is 3 ahead, (2, 1) is 4.
        assert_eq!(info.readiness(asked(2, Some(0))), Readiness::Wait);
        assert_eq!(info.readiness(asked(2, Some(1))), Readiness::TooFarAhead);
    }
}
