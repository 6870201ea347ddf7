//! The warm rewriter's two memories above the raw cache, both consulted only
//! for a request whose credential is (being) verified, and both emptied when
//! the signing key's generation changes (a rotation, or a key the secret
//! dropped: nothing made or checked with an earlier key is used again).
//!
//! - [`AnswerCache`] (`ANSWER_CACHE_BYTES`): the finished, encoded answer
//!   body, keyed by exactly what determines it: the S3 key and the object
//!   the raw cache holds for it (its identity: an object that the raw cache
//!   refetched, or dropped and read again, misses), the verified incoming
//!   credential (its policy, whether canned, its exact parameter values),
//!   the key generation and whether the client accepts gzip. The
//!   configuration is fixed per process. Headers that depend on the time
//!   (`Cache-Control`) are not kept: the handler computes them per request.
//! - [`VerifyMemo`] (`VERIFY_MEMO_BYTES`): credentials whose signature
//!   verified, keyed by the exact signed bytes (the encoded custom policy, or
//!   the canned policy's URL and expiry), signature, key pair id and hash. A
//!   repeat skips only the signature check; the time window, the IP
//!   condition and the resource are checked against each request, in
//!   CloudFront's order, as a full verification does.
//!
//! Both are bounded by bytes, the least recently used out first.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use aws_lambda_events::encodings::Body;
use cloudfront_sign::{
    Credential, CredentialPolicy, Denied, Grant, HashAlgorithm, Policy, RESERVED_PARAMS, Verifier, check_conditions,
    strip_params,
};
use playlist_rewrite::Incoming;

use crate::RawObject;

/// What the log line says of a cache: `hit`, `miss` or `off`.
pub const HIT: &str = "hit";
/// See [`HIT`].
pub const MISS: &str = "miss";
/// See [`HIT`].
pub const OFF: &str = "off";

/// Bookkeeping counted per entry besides its own bytes.
const ENTRY_OVERHEAD: usize = 128;

struct Slot<V> {
    value: V,
    used: u64,
    size: usize,
}

/// A map bounded by the total size its entries declare, least recently used out first.
struct Lru<K, V> {
    map: HashMap<Arc<K>, Slot<V>>,
    order: BTreeMap<u64, Arc<K>>,
    bytes: usize,
    tick: u64,
    budget: usize,
    /// The key generation the entries belong to.
    generation: Option<u64>,
}

impl<K: Hash + Eq, V> Lru<K, V> {
    fn new(budget: usize) -> Self {
        Lru {
            map: HashMap::new(),
            order: BTreeMap::new(),
            bytes: 0,
            tick: 0,
            budget,
            generation: None,
        }
    }

    /// Whether it may hold `generation`'s entries: emptied first when they
    /// are of an earlier one; `false` for a request still on an earlier key.
    fn for_generation(&mut self, generation: u64) -> bool {
        match self.generation {
            Some(held) if held == generation => true,
            Some(held) if held > generation => false,
            _ => {
                self.map.clear();
                self.order.clear();
                self.bytes = 0;
                self.generation = Some(generation);
                true
            }
        }
    }

    fn get(&mut self, key: &K) -> Option<&V> {
        self.tick += 1;
        let tick = self.tick;
        let slot = self.map.get_mut(key)?;
        if let Some(name) = self.order.remove(&slot.used) {
            self.order.insert(tick, name);
        }
        slot.used = tick;
        Some(&slot.value)
    }

    fn remove(&mut self, key: &K) {
        if let Some(slot) = self.map.remove(key) {
            self.order.remove(&slot.used);
            self.bytes -= slot.size;
        }
    }

    fn insert(&mut self, key: K, value: V, size: usize) {
        self.remove(&key);
        let key = Arc::new(key);
        if size > self.budget {
            return;
        }
        while self.bytes + size > self.budget {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some(slot) = self.map.remove(&oldest) {
                self.bytes -= slot.size;
            }
        }
        self.tick += 1;
        self.order.insert(self.tick, key.clone());
        self.map.insert(
            key,
            Slot {
                value,
                used: self.tick,
                size,
            },
        );
        self.bytes += size;
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(PartialEq, Eq, Hash)]
struct AnswerKey {
    object_key: String,
    gzip_ok: bool,
    canned: bool,
    policy: Policy,
    credential: Credential,
}

impl AnswerKey {
    fn new(object_key: &str, gzip_ok: bool, incoming: &Incoming) -> Self {
        AnswerKey {
            object_key: object_key.to_owned(),
            gzip_ok,
            canned: incoming.canned,
            policy: incoming.policy.clone(),
            credential: incoming.credential.clone(),
        }
    }

    fn size(&self) -> usize {
        let credential = match &self.credential.policy {
            CredentialPolicy::Canned { .. } => 0,
            CredentialPolicy::Custom { encoded } => encoded.len(),
        };
        self.object_key.len()
            + self.policy.resource.len()
            + credential
            + self.credential.signature.len()
            + self.credential.key_pair_id.len()
    }
}

/// A finished answer body, as the handler sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedBody {
    /// Text (JSON-escaped in the payload).
    Text(String),
    /// gzip bytes (base64 in the payload).
    Gzip(Vec<u8>),
}

impl CachedBody {
    /// A copy of an answer's `body` (`None` when empty).
    pub fn of(body: &Body) -> Option<Self> {
        match body {
            Body::Text(t) => Some(CachedBody::Text(t.clone())),
            Body::Binary(b) => Some(CachedBody::Gzip(b.clone())),
            _ => None,
        }
    }

    /// The body for the response (a copy).
    pub fn to_body(&self) -> Body {
        match self {
            CachedBody::Text(t) => Body::Text(t.clone()),
            CachedBody::Gzip(b) => Body::Binary(b.clone()),
        }
    }

    /// Whether it is gzip.
    pub fn is_gzip(&self) -> bool {
        matches!(self, CachedBody::Gzip(_))
    }

    fn len(&self) -> usize {
        match self {
            CachedBody::Text(t) => t.len(),
            CachedBody::Gzip(b) => b.len(),
        }
    }
}

/// A cached answer and what its rewrite did (for the log line).
#[derive(Debug, Clone)]
pub struct CachedAnswer {
    /// The body.
    pub body: CachedBody,
    /// URIs that carry a credential.
    pub uris_signed: usize,
    /// URIs left as they were.
    pub uris_untouched: usize,
    /// The signatures the answer carries (made, or reused, when it was built).
    pub signatures: usize,
}

struct Stored {
    /// The raw object it was built from: compared by identity. Held weakly
    /// (the raw cache owns the bytes), which also keeps its address from
    /// being reused by another object while this entry lives.
    object: Weak<RawObject>,
    answer: Arc<CachedAnswer>,
}

/// Finished answers; see the module's documentation.
pub struct AnswerCache {
    inner: Mutex<Lru<AnswerKey, Stored>>,
    hits: AtomicU64,
}

impl AnswerCache {
    /// A cache of at most `budget` bytes (0: off).
    pub fn new(budget: usize) -> Self {
        AnswerCache {
            inner: Mutex::new(Lru::new(budget)),
            hits: AtomicU64::new(0),
        }
    }

    /// Whether it is on.
    pub fn is_on(&self) -> bool {
        lock(&self.inner).budget > 0
    }

    /// Whether a body of `len` bytes could be kept at all (so that no copy
    /// is made of an answer larger than the whole budget, or when off).
    pub fn fits(&self, len: usize) -> bool {
        len + ENTRY_OVERHEAD <= lock(&self.inner).budget
    }

    /// The answer built for `incoming` from `object` (what the raw cache
    /// serves for `object_key` now) under key `generation`, for a client
    /// that accepts gzip or not. Call only with a verified `incoming`.
    pub fn get(
        &self,
        object_key: &str,
        object: &Arc<RawObject>,
        generation: u64,
        gzip_ok: bool,
        incoming: &Incoming,
    ) -> Option<Arc<CachedAnswer>> {
        let key = AnswerKey::new(object_key, gzip_ok, incoming);
        let mut inner = lock(&self.inner);
        if inner.budget == 0 {
            return None;
        }
        if !inner.for_generation(generation) {
            return None;
        }
        let (same, answer) = inner
            .get(&key)
            .map(|s| (std::ptr::eq(s.object.as_ptr(), Arc::as_ptr(object)), s.answer.clone()))?;
        if same {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Some(answer);
        }
        // Built from an object the raw cache no longer serves.
        inner.remove(&key);
        None
    }

    /// Keeps `answer`, built for `incoming` from `object` under `generation`.
    pub fn put(
        &self,
        object_key: &str,
        object: &Arc<RawObject>,
        generation: u64,
        gzip_ok: bool,
        incoming: &Incoming,
        answer: CachedAnswer,
    ) {
        let mut inner = lock(&self.inner);
        if inner.budget == 0 {
            return;
        }
        if !inner.for_generation(generation) {
            return;
        }
        let key = AnswerKey::new(object_key, gzip_ok, incoming);
        let size = key.size() + answer.body.len() + ENTRY_OVERHEAD;
        let stored = Stored {
            object: Arc::downgrade(object),
            answer: Arc::new(answer),
        };
        inner.insert(key, stored, size);
    }

    /// How many lookups it answered since the cold start.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// (entries, bytes) held now.
    pub fn usage(&self) -> (usize, usize) {
        let inner = lock(&self.inner);
        (inner.map.len(), inner.bytes)
    }
}

/// The exact bytes a signature was checked over, and by whom.
#[derive(PartialEq, Eq, Hash)]
struct MemoKey {
    key_pair_id: String,
    hash: HashAlgorithm,
    signature: String,
    signed: Signed,
}

#[derive(PartialEq, Eq, Hash)]
enum Signed {
    /// A canned policy: the URL it was checked for and its expiry.
    Canned { url: String, expires: u64 },
    /// A custom policy, as sent (encoded).
    Custom { encoded: String },
}

/// What a verified signature established.
struct Verified {
    policy: Policy,
    canned: bool,
}

/// Credentials whose signature verified; see the module's documentation.
pub struct VerifyMemo {
    inner: Mutex<Lru<MemoKey, Verified>>,
    hits: AtomicU64,
}

impl VerifyMemo {
    /// A memo of at most `budget` bytes (0: off).
    pub fn new(budget: usize) -> Self {
        VerifyMemo {
            inner: Mutex::new(Lru::new(budget)),
            hits: AtomicU64::new(0),
        }
    }

    /// How many lookups it answered since the cold start.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// (entries, bytes) held now.
    pub fn usage(&self) -> (usize, usize) {
        let inner = lock(&self.inner);
        (inner.map.len(), inner.bytes)
    }

    /// What [`Incoming::verify`] answers for `url` (the copy under `suffix`,
    /// at `now`, for `client_ip`) with `verifier`, the verifier of key
    /// `generation`; and what the memo did ([`HIT`], [`MISS`], [`OFF`]).
    ///
    /// A hit stands for the key lookup and the signature check only (same
    /// generation, so same trusted keys; same bytes, same signature): the
    /// policy's window, IP condition and resource are checked here against
    /// this request as [`Verifier::verify`] checks them, in its order.
    pub fn verify(
        &self,
        verifier: &Verifier,
        generation: u64,
        url: &str,
        suffix: &str,
        now: u64,
        client_ip: Option<IpAddr>,
    ) -> (Result<Incoming, Denied>, &'static str) {
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let credential = match Credential::from_query(query, suffix) {
            Ok(c) => c,
            Err(e) => return (Err(e), MISS),
        };
        // The URL the policy is matched against, as `Verifier::verify_url` strips it.
        let suffixed: Vec<String> = RESERVED_PARAMS.iter().map(|p| format!("{p}{suffix}")).collect();
        let mut names: Vec<&str> = suffixed.iter().map(String::as_str).collect();
        if !suffix.is_empty() {
            names.extend(RESERVED_PARAMS);
        }
        let stripped = strip_params(url, &names);
        let key = MemoKey {
            key_pair_id: credential.key_pair_id.clone(),
            hash: credential.hash,
            signature: credential.signature.clone(),
            signed: match &credential.policy {
                CredentialPolicy::Canned { expires } => Signed::Canned {
                    url: stripped.clone(),
                    expires: *expires,
                },
                CredentialPolicy::Custom { encoded } => Signed::Custom {
                    encoded: encoded.clone(),
                },
            },
        };
        let budget = {
            let mut inner = lock(&self.inner);
            if inner.budget > 0
                && inner.for_generation(generation)
                && let Some(v) = inner.get(&key)
            {
                self.hits.fetch_add(1, Ordering::Relaxed);
                let grant = check_conditions(&v.policy, v.canned, &stripped, now, client_ip).map(|()| Grant {
                    key_pair_id: credential.key_pair_id.clone(),
                    policy: v.policy.clone(),
                    canned: v.canned,
                    hash: credential.hash,
                });
                return (grant.map(|g| Incoming::new(g, credential)), HIT);
            }
            inner.budget
        };
        let grant = match verifier.verify(&credential, &stripped, now, client_ip) {
            Ok(g) => g,
            Err(e) => return (Err(e), if budget > 0 { MISS } else { OFF }),
        };
        if budget == 0 {
            return (Ok(Incoming::new(grant, credential)), OFF);
        }
        let size = key.key_pair_id.len()
            + key.signature.len()
            + match &key.signed {
                Signed::Canned { url, .. } => url.len(),
                Signed::Custom { encoded } => encoded.len(),
            }
            + grant.policy.resource.len()
            + ENTRY_OVERHEAD;
        let verified = Verified {
            policy: grant.policy.clone(),
            canned: grant.canned,
        };
        {
            let mut inner = lock(&self.inner);
            if inner.for_generation(generation) {
                inner.insert(key, verified, size);
            }
        }
        (Ok(Incoming::new(grant, credential)), MISS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_recently_used_out_first_within_the_budget() {
        let mut lru: Lru<String, u8> = Lru::new(30);
        assert!(lru.for_generation(1));
        for k in ["a", "b", "c"] {
            lru.insert(k.to_owned(), 0, 10);
        }
        assert!(lru.get(&"a".to_owned()).is_some());
        lru.insert("d".to_owned(), 0, 10);
        assert!(lru.get(&"b".to_owned()).is_none(), "b was the least recently used");
        assert_eq!((lru.map.len(), lru.bytes, lru.order.len()), (3, 30, 3));
        lru.insert("big".to_owned(), 0, 31);
        assert_eq!(
            (lru.map.len(), lru.bytes),
            (3, 30),
            "too large: not kept, nothing evicted"
        );
        lru.insert("a".to_owned(), 0, 10);
        assert_eq!(
            (lru.map.len(), lru.bytes, lru.order.len()),
            (3, 30, 3),
            "replaced, not counted twice"
        );
        assert!(lru.for_generation(1));
        assert_eq!(lru.map.len(), 3);
        assert!(lru.for_generation(2));
        assert_eq!(
            (lru.map.len(), lru.bytes, lru.order.len()),
            (0, 0, 0),
            "a new generation empties it"
        );
        lru.insert("e".to_owned(), 0, 10);
        assert!(!lru.for_generation(1), "an earlier generation is never served");
        assert_eq!(lru.map.len(), 1, "nor does it empty the current one");
    }
}
