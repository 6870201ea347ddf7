//! The signing key, loaded once per cold start and refreshed after an interval.
//!
//! A refresh happens on the first request after the interval; only one
//! request refreshes at a time and the others keep signing with the current
//! key. A refresh that fails keeps the old key, logs a warning and is tried
//! again a minute later (or after the interval, if shorter). A refresh that
//! finds the same key keeps the same [`LoadedKey`] (same generation), so that
//! the signature caches built on it stay warm.
//!
//! [`KeyCache::load_lazy`] starts without a key when Secrets Manager cannot be
//! reached at cold start: each request then tries again (with retries) and
//! answers 503 while it fails, instead of the process dying in a loop.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use cloudfront_sign::{HashAlgorithm, KeyPairId, UrlSigner, VerifyingKey};
use thiserror::Error;

use crate::Backoff;
use crate::config::{CommonConfig, ConfigError, resolve_key_pair_id};
use crate::secret::{SecretError, SecretSource};
use crate::signing::{KmsSigner, LocalSigner, PolicySigner, SignError};

/// Why the key could not be loaded.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The secret could not be fetched or parsed.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The key pair id is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The key cannot sign (e.g. an RSA key below 2048 bits).
    #[error("signing key: {0}")]
    Key(#[from] cloudfront_sign::Error),
    /// The KMS key could not be read (`GetPublicKey`) or cannot sign for CloudFront.
    #[error(transparent)]
    Kms(#[from] SignError),
}

impl KeyError {
    /// Whether the cause is that Secrets Manager or KMS could not be reached.
    pub fn is_unavailable(&self) -> bool {
        match self {
            KeyError::Secret(e) => e.is_transient(),
            KeyError::Kms(e) => matches!(e, SignError::Unavailable(_)),
            _ => false,
        }
    }
}

/// A key in AWS KMS, as [`KeyCache::load_lazy_from`] reads it.
#[derive(Debug, Clone)]
pub struct KmsKey {
    /// The KMS client.
    pub client: aws_sdk_kms::Client,
    /// `KMS_KEY_ID`.
    pub key_id: String,
    /// `CF_KEY_ID`.
    pub key_pair_id: KeyPairId,
    /// `KMS_MAX_CONCURRENT_SIGNS`.
    pub max_concurrent: usize,
    /// The retries of each call.
    pub backoff: Backoff,
}

/// Where a [`KeyCache`] loads its key from.
#[derive(Clone)]
pub enum KeySource {
    /// A secret holding the private key (Secrets Manager or a file).
    Secret(Arc<dyn SecretSource>),
    /// A key in AWS KMS.
    Kms(KmsKey),
}

use KeySource as Source;

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Secret(source) => source.describe(),
            Source::Kms(kms) => format!("KMS key {}", kms.key_id),
        }
    }
}

/// A key ready to sign with.
#[derive(Debug)]
pub struct LoadedKey {
    /// The signer: the local key from the secret, or the KMS key.
    pub signer: Arc<dyn PolicySigner>,
    /// The secret's `cf_url` field, if any (fallback for `CF_URL`).
    pub secret_cf_url: Option<String>,
    /// The secret's `public_keys`: the key group's other trusted keys.
    pub public_keys: Vec<(KeyPairId, VerifyingKey)>,
    /// Bumped each time a refresh brings a different key.
    pub generation: u64,
}

/// The signing key with its refresh schedule.
pub struct KeyCache {
    source: Source,
    key_pair_id: Option<KeyPairId>,
    hash: HashAlgorithm,
    refresh: Duration,
    current: RwLock<Option<Arc<LoadedKey>>>,
    next_refresh: Mutex<Instant>,
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("source", &self.source.describe())
            .field("refresh", &self.refresh)
            .finish_non_exhaustive()
    }
}

impl KeyCache {
    /// Loads the key from `source` (the source retries) with the key pair id
    /// and hash from `config`.
    pub async fn load(source: Arc<dyn SecretSource>, config: &CommonConfig) -> Result<Self, KeyError> {
        let source = Source::Secret(source);
        let key = fetch(&source, config.key_pair_id.as_ref(), config.hash, 0).await?;
        Ok(Self::build(source, config, Some(key)))
    }

    /// Like [`load_lazy`](Self::load_lazy), from either source. For a key in
    /// KMS it reads the public key (`GetPublicKey`, again after each
    /// `KEY_REFRESH_SECONDS`); signatures are `kms:Sign` calls, and no
    /// private key is ever read.
    pub async fn load_lazy_from(source: KeySource, config: &CommonConfig) -> Result<Self, KeyError> {
        Self::lazy(source, config).await
    }

    /// Like [`load`](Self::load), but when the secret is only unavailable
    /// (transient), starts without a key and loads it on the first request
    /// that finds the service back. Other errors are returned.
    pub async fn load_lazy(source: Arc<dyn SecretSource>, config: &CommonConfig) -> Result<Self, KeyError> {
        Self::lazy(Source::Secret(source), config).await
    }

    async fn lazy(source: Source, config: &CommonConfig) -> Result<Self, KeyError> {
        match fetch(&source, config.key_pair_id.as_ref(), config.hash, 0).await {
            Ok(key) => Ok(Self::build(source, config, Some(key))),
            Err(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "signing key unavailable at cold start; requests answer 503 until it loads");
                let cache = Self::build(source, config, None);
                cache.set_next(Instant::now());
                Ok(cache)
            }
            Err(e) => Err(e),
        }
    }

    /// A cache that starts from an already loaded key.
    pub fn with_key(source: Arc<dyn SecretSource>, config: &CommonConfig, key: LoadedKey) -> Self {
        Self::build(Source::Secret(source), config, Some(key))
    }

    fn build(source: Source, config: &CommonConfig, key: Option<LoadedKey>) -> Self {
        KeyCache {
            source,
            key_pair_id: config.key_pair_id.clone(),
            hash: config.hash,
            refresh: config.key_refresh,
            current: RwLock::new(key.map(Arc::new)),
            next_refresh: Mutex::new(Instant::now() + config.key_refresh),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// The current key, without refreshing (`None` while none could be loaded).
    pub fn snapshot(&self) -> Option<Arc<LoadedKey>> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The current key, refreshed first if the interval has passed; an error
    /// only when no key was ever loaded and loading it fails now.
    pub async fn current(&self) -> Result<Arc<LoadedKey>, KeyError> {
        let old = self.snapshot();
        if !self.due()
            && let Some(k) = old
        {
            return Ok(k);
        }
        let _guard = match (&old, self.refreshing.try_lock()) {
            (_, Ok(guard)) => guard,
            // Someone else refreshes: keep signing with the current key...
            (Some(k), Err(_)) => return Ok(k.clone()),
            // ...or, with no key yet, wait for their attempt.
            (None, Err(_)) => self.refreshing.lock().await,
        };
        let old = self.snapshot();
        if !self.due()
            && let Some(k) = &old
        {
            return Ok(k.clone());
        }
        let retry_after = self.refresh.min(Duration::from_secs(60));
        let generation = old.as_ref().map_or(0, |k| k.generation + 1);
        match fetch(&self.source, self.key_pair_id.as_ref(), self.hash, generation).await {
            Ok(new) => {
                self.set_next(Instant::now() + self.refresh);
                if let Some(old) = &old
                    && new.signer.signatory() == old.signer.signatory()
                    && new.public_keys == old.public_keys
                {
                    tracing::info!(key_pair_id = %old.signer.signatory().key_pair_id(), "signing key refreshed, unchanged");
                    return Ok(old.clone());
                }
                tracing::info!(key_pair_id = %new.signer.signatory().key_pair_id(), generation = new.generation, "signing key loaded");
                let new = Arc::new(new);
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(new.clone());
                Ok(new)
            }
            Err(e) => match old {
                Some(old) => {
                    self.set_next(Instant::now() + retry_after);
                    tracing::warn!(error = %e, retry_in_s = retry_after.as_secs(), "signing key refresh failed, keeping the current key");
                    Ok(old)
                }
                None => {
                    tracing::warn!(error = %e, "signing key still unavailable");
                    Err(e)
                }
            },
        }
    }

    fn due(&self) -> bool {
        Instant::now() >= *self.next_refresh.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_next(&self, at: Instant) {
        *self.next_refresh.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }
}

async fn fetch(
    source: &Source,
    key_pair_id: Option<&KeyPairId>,
    hash: HashAlgorithm,
    generation: u64,
) -> Result<LoadedKey, KeyError> {
    let source = match source {
        Source::Secret(source) => source,
        Source::Kms(kms) => {
            let signer = KmsSigner::connect(
                kms.client.clone(),
                &kms.key_id,
                kms.key_pair_id.clone(),
                kms.max_concurrent,
                kms.backoff,
            )
            .await?;
            return Ok(LoadedKey {
                signer: Arc::new(signer),
                secret_cf_url: None,
                public_keys: Vec::new(),
                generation,
            });
        }
    };
    let material = source.load().await?;
    let id = resolve_key_pair_id(key_pair_id, material.key_pair_id.as_deref())?;
    let signer = LocalSigner::new(UrlSigner::new(id, material.key, hash));
    Ok(LoadedKey {
        signer: Arc::new(signer),
        secret_cf_url: material.cf_url,
        public_keys: material.public_keys,
        generation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Env, secret::FileSecret};

    const PEM_A: &str = include_str!("../../cloudfront-sign/tests/fixtures/rsa2048_pkcs1.pem");
    const PEM_B: &str = include_str!("../../cloudfront-sign/tests/fixtures/ec_p256_pkcs8.pem");

    #[tokio::test]
    async fn refresh_rotates_and_survives_failures() {
        let dir = std::env::temp_dir().join(format!("signed-hls-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key.json");
        std::fs::write(
            &path,
            serde_json::json!({"key_pair_id": "KA", "private_key": PEM_A}).to_string(),
        )
        .unwrap();
        let env = Env::from_pairs([
            ("SIGNING_KEY_FILE", path.to_str().unwrap()),
            ("KEY_REFRESH_SECONDS", "0"),
        ]);
        let config = CommonConfig::from_env(&env).unwrap();
        let cache = KeyCache::load(Arc::new(FileSecret::new(&path)), &config).await.unwrap();
        assert_eq!(
            cache.snapshot().unwrap().signer.signatory().key_pair_id().as_str(),
            "KA"
        );
        // Same content: same generation.
        assert_eq!(cache.current().await.unwrap().generation, 0);
        // Rotated.
        std::fs::write(
            &path,
            serde_json::json!({"key_pair_id": "KB", "private_key": PEM_B}).to_string(),
        )
        .unwrap();
        let k = cache.current().await.unwrap();
        assert_eq!((k.signer.signatory().key_pair_id().as_str(), k.generation), ("KB", 1));
        // Broken secret: the old key stays.
        std::fs::write(&path, "garbage").unwrap();
        let k = cache.current().await.unwrap();
        assert_eq!((k.signer.signatory().key_pair_id().as_str(), k.generation), ("KB", 1));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn lazy_load_waits_for_the_secret() {
        struct Flaky(std::sync::atomic::AtomicU32);
        #[async_trait::async_trait]
        impl SecretSource for Flaky {
            async fn fetch(&self) -> Result<Vec<u8>, SecretError> {
                if self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
                    Err(SecretError::Unavailable("down".into()))
                } else {
                    Ok(PEM_A.as_bytes().to_vec())
                }
            }
            fn describe(&self) -> String {
                "flaky".into()
            }
        }
        let config =
            CommonConfig::from_env(&Env::from_pairs([("SIGNING_KEY_FILE", "x"), ("CF_KEY_ID", "KA")])).unwrap();
        let cache = KeyCache::load_lazy(Arc::new(Flaky(0.into())), &config).await.unwrap();
        assert!(cache.snapshot().is_none());
        assert!(cache.current().await.unwrap_err().is_unavailable());
        assert_eq!(
            cache.current().await.unwrap().signer.signatory().key_pair_id().as_str(),
            "KA"
        );
        assert!(cache.snapshot().is_some());
        // A secret that is there but invalid still fails the cold start.
        struct Bad;
        #[async_trait::async_trait]
        impl SecretSource for Bad {
            async fn fetch(&self) -> Result<Vec<u8>, SecretError> {
                Ok(b"garbage".to_vec())
            }
            fn describe(&self) -> String {
                "bad".into()
            }
        }
        assert!(KeyCache::load_lazy(Arc::new(Bad), &config).await.is_err());
    }

    #[tokio::test]
    async fn missing_key_pair_id_names_the_variable() {
        let dir = std::env::temp_dir().join(format!("signed-hls-key2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key.pem");
        std::fs::write(&path, PEM_A).unwrap();
        let env = Env::from_pairs([("SIGNING_KEY_FILE", path.to_str().unwrap())]);
        let config = CommonConfig::from_env(&env).unwrap();
        let e = KeyCache::load(Arc::new(FileSecret::new(&path)), &config)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("CF_KEY_ID"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
