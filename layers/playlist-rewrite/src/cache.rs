//! Signatures already made, so that a warm process signs a given policy once.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use cloudfront_sign::{HashAlgorithm, Signatory};

/// A bounded, thread-safe map from the exact bytes a signature covers, and
/// the signer that made it, to the signature.
///
/// The signer is known by its key pair id, hash algorithm and the
/// fingerprint of its key ([`Signatory::fingerprint`]): a key rotated under
/// the same id never finds the old key's signatures, whether or not the
/// caller makes a new cache for it.
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

    /// The key of a signature: the signer's key pair id, hash algorithm and
    /// key fingerprint (hex), then the signed bytes, one per line.
    pub(crate) fn key(signer: &Signatory, policy_json: &str) -> Arc<str> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let key_pair_id = signer.key_pair_id().as_str();
        let hash = match signer.hash() {
            HashAlgorithm::Sha1 => "sha1",
            _ => "sha256",
        };
        let mut key = String::with_capacity(key_pair_id.len() + hash.len() + 64 + policy_json.len() + 3);
        key.push_str(key_pair_id);
        key.push('\n');
        key.push_str(hash);
        key.push('\n');
        for byte in signer.fingerprint() {
            key.push(char::from(HEX[usize::from(byte >> 4)]));
            key.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
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

    /// The signature (CloudFront base64) that `signer` made of the policy
    /// bytes `policy_json`, if cached; counted as a hit or a miss.
    pub fn lookup(&self, signer: &Signatory, policy_json: &str) -> Option<Arc<str>> {
        self.get(&Self::key(signer, policy_json))
    }

    /// Stores the signature (CloudFront base64) that `signer` made of `policy_json`.
    pub fn store(&self, signer: &Signatory, policy_json: &str, signature: Arc<str>) {
        self.insert(Self::key(signer, policy_json), signature);
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

    fn signer(id: &str, pem: &str, hash: HashAlgorithm) -> Signatory {
        let key = cloudfront_sign::SigningKey::from_pem(pem).unwrap();
        Signatory::new(id.parse().unwrap(), key.verifying_key(), hash)
    }

    #[test]
    fn keys_separate_key_ids_hashes_and_keys() {
        let pem = include_str!("../../cloudfront-sign/tests/fixtures/rsa2048_pkcs1.pem");
        let other = include_str!("../../cloudfront-sign/tests/fixtures/rsa2048_other.pem");
        let a = SignatureCache::key(&signer("K1", pem, HashAlgorithm::Sha1), "{}");
        assert_eq!(a, SignatureCache::key(&signer("K1", pem, HashAlgorithm::Sha1), "{}"));
        assert_ne!(a, SignatureCache::key(&signer("K2", pem, HashAlgorithm::Sha1), "{}"));
        assert_ne!(a, SignatureCache::key(&signer("K1", pem, HashAlgorithm::Sha256), "{}"));
        assert_ne!(a, SignatureCache::key(&signer("K1", other, HashAlgorithm::Sha1), "{}"));
        assert_ne!(a, SignatureCache::key(&signer("K1", pem, HashAlgorithm::Sha1), "{} "));
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
