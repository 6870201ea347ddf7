//! The raw cache: playlist objects as the store holds them, kept in memory
//! by a warm rewriter, so that a repeat request reads nothing from S3.
//!
//! The rule (shared with the live-HLS work, [`PlaylistInfo`]): a
//! multivariant playlist, or a media playlist with `EXT-X-ENDLIST` or
//! `PLAYLIST-TYPE:VOD`, is served from memory for `RAW_CACHE_SECONDS`, then
//! revalidated with a conditional read (`If-None-Match` with its ETag: a 304
//! refreshes it without a body); a live or `EVENT` media playlist is never
//! served staler than half its target duration (half its part target when
//! it has parts), nor longer than `RAW_CACHE_SECONDS`.
//!
//! Bounded by total bytes (`RAW_CACHE_BYTES`, each entry counts its key and
//! its body), the least recently used out first; an object larger than the
//! budget is not kept, nor is a body that is not a playlist (an empty or
//! half-uploaded object is a transient state). It holds raw objects, never
//! signatures or answers: a key rotation does not touch it, and every
//! request is still verified and rewritten for its own credential.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use playlist_rewrite::{Incomplete, PlaylistInfo};
use signed_hls_aws::shell::{BODY_CACHE, BODY_FETCHED, BODY_REVALIDATED};
use signed_hls_aws::{Conditional, ObjectStore, StoreError};

/// An object as read from the store, with what the rewriter derives from
/// it once (its playlist classification, its JSON escaping overhead).
#[derive(Debug, PartialEq, Eq)]
pub struct RawObject {
    /// The bytes, as stored.
    pub bytes: Vec<u8>,
    /// The store's ETag, when it gives one.
    pub etag: Option<String>,
    /// The playlist's kind, end and durations; `None` when the body is not
    /// a playlist.
    pub info: Option<PlaylistInfo>,
    /// Why the object looks caught mid-write, when it does (never kept).
    pub incomplete: Option<Incomplete>,
    /// [`json_escape_extra`](crate::json_escape_extra) of the bytes.
    pub json_extra: usize,
}

impl RawObject {
    /// An object read now.
    pub fn new(bytes: Vec<u8>, etag: Option<String>) -> Self {
        let info = PlaylistInfo::of(&bytes);
        RawObject {
            incomplete: match &info {
                Some(info) => info.incomplete,
                None => Incomplete::of(&bytes),
            },
            info,
            json_extra: crate::json_escape_extra(&bytes),
            bytes,
            etag,
        }
    }
}

/// How a request had its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// From memory, no store request.
    Cache,
    /// From memory, after the store answered a conditional read "not modified".
    Revalidated,
    /// Read whole from the store.
    Fetched,
}

impl Source {
    /// The log line's `body_source`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cache => BODY_CACHE,
            Source::Revalidated => BODY_REVALIDATED,
            Source::Fetched => BODY_FETCHED,
        }
    }
}

/// What [`RawCache::read`] gives.
#[derive(Debug)]
pub struct Read {
    /// The object (shared with the cache: no copy).
    pub object: Arc<RawObject>,
    /// Where it came from.
    pub source: Source,
    /// Requests made to the store (0 or 1; a store's own retries inside).
    pub store_requests: usize,
}

struct Entry {
    object: Arc<RawObject>,
    /// Served from memory until then (the monotonic clock).
    fresh_until: Duration,
    /// Its place in the use order.
    used: u64,
    size: usize,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Arc<str>, Entry>,
    /// Use order: the smallest tick is the least recently used.
    order: BTreeMap<u64, Arc<str>>,
    bytes: usize,
    tick: u64,
}

impl Inner {
    fn touch(&mut self, key: &str) {
        self.tick += 1;
        let tick = self.tick;
        if let Some(entry) = self.entries.get_mut(key)
            && let Some(name) = self.order.remove(&entry.used)
        {
            entry.used = tick;
            self.order.insert(tick, name);
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.entries.remove(key) {
            self.order.remove(&entry.used);
            self.bytes -= entry.size;
        }
    }

    fn insert(&mut self, key: &str, object: Arc<RawObject>, fresh_until: Duration, budget: usize) {
        self.remove(key);
        let size = key.len() + object.bytes.len();
        if size > budget {
            return;
        }
        while self.bytes + size > budget {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some(entry) = self.entries.remove(&oldest) {
                self.bytes -= entry.size;
            }
        }
        self.tick += 1;
        let name: Arc<str> = Arc::from(key);
        self.order.insert(self.tick, name.clone());
        self.entries.insert(
            name,
            Entry {
                object,
                fresh_until,
                used: self.tick,
                size,
            },
        );
        self.bytes += size;
    }
}

/// Raw playlist objects in memory, by key; see the module's documentation.
pub struct RawCache {
    vod_ttl: Duration,
    budget: usize,
    inner: Mutex<Inner>,
}

impl RawCache {
    /// A cache that serves a static playlist for `vod_ttl` and holds at
    /// most `budget` bytes (0: off, every read goes to the store).
    pub fn new(vod_ttl: Duration, budget: usize) -> Self {
        RawCache {
            vod_ttl,
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// How long `object` may be served from memory.
    fn ttl(&self, object: &RawObject) -> Option<Duration> {
        if object.incomplete.is_some() {
            return None;
        }
        let info = object.info.as_ref()?;
        Some(match info.max_staleness() {
            None => self.vod_ttl,
            Some(live) => live.min(self.vod_ttl),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The object `key` at monotonic time `now`: from memory while fresh;
    /// else revalidated with a conditional read of `store` (by its ETag) or
    /// read whole, and kept when it may be. Errors are the store's (nothing
    /// is served stale when the store fails); a missing object is forgotten.
    pub async fn read(
        &self,
        store: &dyn ObjectStore,
        key: &str,
        limit: u64,
        now: Duration,
    ) -> Result<Read, StoreError> {
        self.read_unless_fresh(store, key, limit, now, true).await
    }

    /// The object `key` as the store holds it now: a conditional read even
    /// when the copy in memory is fresh (a blocking reload waiting for the
    /// next part), which then refreshes that copy.
    pub async fn reread(
        &self,
        store: &dyn ObjectStore,
        key: &str,
        limit: u64,
        now: Duration,
    ) -> Result<Read, StoreError> {
        self.read_unless_fresh(store, key, limit, now, false).await
    }

    async fn read_unless_fresh(
        &self,
        store: &dyn ObjectStore,
        key: &str,
        limit: u64,
        now: Duration,
        serve_fresh: bool,
    ) -> Result<Read, StoreError> {
        let held = {
            let mut inner = self.lock();
            let held = inner
                .entries
                .get(key)
                .map(|entry| (entry.object.clone(), serve_fresh && entry.fresh_until > now));
            if let Some((object, true)) = held {
                inner.touch(key);
                return Ok(Read {
                    object,
                    source: Source::Cache,
                    store_requests: 0,
                });
            }
            held.map(|(object, _)| object)
        };
        let etag = held.as_ref().and_then(|o| o.etag.as_deref());
        let answer = store.get_if_changed(key, limit, etag).await;
        let (object, source) = match answer {
            Ok(Conditional::NotModified) => match held {
                Some(object) => (object, Source::Revalidated),
                // Not asked without an ETag; a store that says so anyway is wrong.
                None => {
                    return Err(StoreError::Unavailable(format!(
                        "{key}: not modified, but nothing held"
                    )));
                }
            },
            Ok(Conditional::Object { bytes, etag }) => (Arc::new(RawObject::new(bytes, etag)), Source::Fetched),
            Err(e) => {
                if matches!(e, StoreError::NotFound(_)) {
                    self.lock().remove(key);
                }
                return Err(e);
            }
        };
        if self.budget > 0
            && let Some(ttl) = self.ttl(&object)
        {
            let fresh_until = now.saturating_add(ttl);
            let mut inner = self.lock();
            if source == Source::Revalidated
                && let Some(entry) = inner.entries.get_mut(key)
                && Arc::ptr_eq(&entry.object, &object)
            {
                entry.fresh_until = fresh_until;
                inner.touch(key);
            } else {
                inner.insert(key, object.clone(), fresh_until, self.budget);
            }
        }
        Ok(Read {
            object,
            source,
            store_requests: 1,
        })
    }

    /// (entries, bytes) held now.
    pub fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.entries.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOD: &[u8] = b"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\ns.ts\n#EXT-X-ENDLIST\n";

    fn object(bytes: &[u8]) -> Arc<RawObject> {
        Arc::new(RawObject::new(bytes.to_vec(), None))
    }

    #[test]
    fn least_recently_used_out_first_within_the_budget() {
        let mut inner = Inner::default();
        let size = 1 + VOD.len();
        let budget = 3 * size;
        for key in ["a", "b", "c"] {
            inner.insert(key, object(VOD), Duration::MAX, budget);
        }
        assert_eq!((inner.entries.len(), inner.bytes), (3, budget));
        inner.touch("a");
        inner.insert("d", object(VOD), Duration::MAX, budget);
        let mut keys: Vec<&str> = inner.entries.keys().map(|k| &**k).collect();
        keys.sort();
        assert_eq!(keys, ["a", "c", "d"], "b was the least recently used");
        // Too large for the whole budget: not kept, nothing evicted for it.
        let big = vec![b'#'; budget];
        inner.insert("e", object(&big), Duration::MAX, budget);
        assert_eq!((inner.entries.len(), inner.bytes), (3, budget));
        // Replacing an entry does not count it twice.
        inner.insert("a", object(VOD), Duration::MAX, budget);
        assert_eq!((inner.entries.len(), inner.bytes, inner.order.len()), (3, budget, 3));
        inner.remove("a");
        assert_eq!((inner.entries.len(), inner.bytes, inner.order.len()), (2, 2 * size, 2));
    }

    #[test]
    fn freshness_follows_the_playlist() {
        let cache = RawCache::new(Duration::from_secs(60), 1 << 20);
        assert_eq!(cache.ttl(&object(VOD)), Some(Duration::from_secs(60)));
        let live = object(b"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\ns.ts\n");
        assert_eq!(cache.ttl(&live), Some(Duration::from_secs(3)));
        assert_eq!(cache.ttl(&object(b"<html>")), None, "not a playlist: not kept");
        assert_eq!(cache.ttl(&object(b"")), None, "empty (mid-upload): not kept");
        let cut = object(b"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\ns");
        assert_eq!(cache.ttl(&cut), None, "cut mid-line (mid-upload): not kept");
        let short = RawCache::new(Duration::from_secs(1), 1 << 20);
        assert_eq!(short.ttl(&live), Some(Duration::from_secs(1)));
    }
}
