//! Signatures already made, so that a warm process signs a given policy once.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use cloudfront_sign::HashAlgorithm;

/// A bounded, thread-safe map from the exact bytes a signature covers (with
/// the key pair id and hash algorithm) to the signature.
///
/// The caller owns it and passes it to every rewrite, typically one per
/// process next to the signer. A canned and a custom policy with the same
/// bytes share the signature, which is the same. When full, the oldest entry
/// goes first. An entry costs about the policy plus the signature: roughly
/// 600 bytes with RSA-2048, so the default 16,384 entries stay under 10 MB.
#[derive(Debug)]
pub struct SignatureCache {
    capacity: usize,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<Arc<str>, Arc<str>>,
    order: VecDeque<Arc<str>>,
}

impl Default for SignatureCache {
    fn default() -> Self {
        SignatureCache::new(16_384)
    }
}

impl SignatureCache {
    /// An empty cache that holds at most `capacity` signatures (0 disables it).
    pub fn new(capacity: usize) -> Self {
        SignatureCache {
            capacity,
            inner: Mutex::new(Inner::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The key of a signature: key pair id, hash algorithm and the signed bytes.
    pub(crate) fn key(key_pair_id: &str, hash: HashAlgorithm, policy_json: &str) -> Arc<str> {
        let hash = match hash {
            HashAlgorithm::Sha1 => "sha1",
            _ => "sha256",
        };
        let mut key = String::with_capacity(key_pair_id.len() + hash.len() + policy_json.len() + 2);
        key.push_str(key_pair_id);
        key.push('\n');
        key.push_str(hash);
        key.push('\n');
        key.push_str(policy_json);
        key.into()
    }

    /// The signature stored under `key`, counted as a hit or a miss.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<str>> {
        let found = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .get(key)
            .cloned();
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Stores a signature, evicting the oldest entries beyond the capacity.
    pub(crate) fn insert(&self, key: Arc<str>, signature: Arc<str>) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.map.insert(key.clone(), signature).is_none() {
            inner.order.push_back(key);
        }
        while inner.map.len() > self.capacity {
            match inner.order.pop_front() {
                Some(oldest) => {
                    inner.map.remove(&oldest);
                }
                None => break,
            }
        }
    }

    /// How many signatures it holds.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).map.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most signatures it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Lookups that found a signature, since it was made.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that did not (each followed by a signature), since it was made.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_key_ids_and_hashes() {
        let a = SignatureCache::key("K1", HashAlgorithm::Sha1, "{}");
        assert_ne!(a, SignatureCache::key("K2", HashAlgorithm::Sha1, "{}"));
        assert_ne!(a, SignatureCache::key("K1", HashAlgorithm::Sha256, "{}"));
        assert_ne!(a, SignatureCache::key("K1", HashAlgorithm::Sha1, "{} "));
    }

    #[test]
    fn evicts_the_oldest_beyond_capacity_and_counts() {
        let cache = SignatureCache::new(2);
        for i in 0..3 {
            cache.insert(format!("k{i}").into(), format!("s{i}").into());
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.get("k0").is_none());
        assert_eq!(cache.get("k2").as_deref(), Some("s2"));
        assert_eq!((cache.hits(), cache.misses()), (1, 1));
        cache.insert("k2".into(), "again".into());
        assert_eq!(cache.len(), 2);
        let off = SignatureCache::new(0);
        off.insert("k".into(), "s".into());
        assert!(off.is_empty());
    }
}
