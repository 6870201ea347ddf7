//! The signing seam: [`PolicySigner`] turns policy bytes into signatures for
//! both functions. Two implementations: [`LocalSigner`], the key read from
//! Secrets Manager (or a file), and [`KmsSigner`], a key that never leaves
//! AWS KMS. The cores plan what needs a signature
//! ([`playlist_rewrite::plan_rewrite`]) knowing only the public side
//! ([`Signatory`]); nothing else knows which signer runs.
//!
//! KMS: `RSA_2048` keys sign with `RSASSA_PKCS1_V1_5_SHA_256`, `ECC_NIST_P256`
//! keys with `ECDSA_SHA_256` (DER, what CloudFront expects), so URLs carry
//! `Hash-Algorithm=SHA256`. The public key is read once (`GetPublicKey`) to
//! verify incoming credentials. Calls run concurrently, at most
//! `KMS_MAX_CONCURRENT_SIGNS` at a time, each retried with backoff when
//! throttled or unreachable; what still fails is
//! [`SignError::Unavailable`], answered 503 `key_unavailable`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeyUsageType, MessageType, SigningAlgorithmSpec};
use cloudfront_sign::{HashAlgorithm, KeyPairId, Signatory, UrlSigner, VerifyingKey};
use thiserror::Error;

use crate::Backoff;
use crate::aws::describe_sdk_error;

/// Why signatures could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SignError {
    /// The key could not be used now (KMS throttled or unreachable after
    /// retries, the key disabled or not allowed): 503 `key_unavailable`.
    #[error("signing key unavailable: {0}")]
    Unavailable(String),
    /// The signer refused or answered something unusable.
    #[error("signing failed: {0}")]
    Failed(String),
}

/// Signs policy bytes with one key; see the module documentation.
#[async_trait]
pub trait PolicySigner: Send + Sync + fmt::Debug {
    /// The public side: key pair id, hash algorithm, public key.
    fn signatory(&self) -> &Signatory;

    /// The raw signature of each policy (RSA PKCS#1 v1.5 or ECDSA DER over
    /// the signatory's hash), in order, or why that one could not be made:
    /// one failure does not lose the signatures made beside it (a caller
    /// caches them, and a retry asks only for the rest).
    async fn sign_each(&self, policies: &[&[u8]]) -> Vec<Result<Vec<u8>, SignError>>;

    /// Every signature, in order, or the first failure.
    async fn sign(&self, policies: &[&[u8]]) -> Result<Vec<Vec<u8>>, SignError> {
        self.sign_each(policies).await.into_iter().collect()
    }
}

/// Below this many signatures the local key signs on the calling task.
const LOCAL_PARALLEL_THRESHOLD: usize = 8;

/// The key in the process: signs on the calling task, or on blocking
/// threads (one chunk per core) when there are many.
#[derive(Debug, Clone)]
pub struct LocalSigner {
    signer: Arc<UrlSigner>,
}

impl LocalSigner {
    /// A seam over `signer`.
    pub fn new(signer: UrlSigner) -> Self {
        LocalSigner {
            signer: Arc::new(signer),
        }
    }
}

#[async_trait]
impl PolicySigner for LocalSigner {
    fn signatory(&self) -> &Signatory {
        self.signer.signatory()
    }

    async fn sign_each(&self, policies: &[&[u8]]) -> Vec<Result<Vec<u8>, SignError>> {
        let sign_one =
            |signer: &UrlSigner, policy: &[u8]| signer.sign_bytes(policy).map_err(|e| SignError::Failed(e.to_string()));
        if policies.len() < LOCAL_PARALLEL_THRESHOLD {
            return policies.iter().map(|p| sign_one(&self.signer, p)).collect();
        }
        let owned: Vec<Vec<u8>> = policies.iter().map(|p| p.to_vec()).collect();
        let count = owned.len();
        let signer = self.signer.clone();
        let signed = tokio::task::spawn_blocking(move || {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let chunk = owned.len().div_ceil(cores).max(1);
            std::thread::scope(|scope| {
                let handles: Vec<_> = owned
                    .chunks(chunk)
                    .map(|part| {
                        let signer = &signer;
                        scope.spawn(move || part.iter().map(|p| sign_one(signer, p)).collect::<Vec<_>>())
                    })
                    .collect();
                let mut out = Vec::with_capacity(owned.len());
                for (handle, part) in handles.into_iter().zip(owned.chunks(chunk)) {
                    match handle.join() {
                        Ok(signed) => out.extend(signed),
                        Err(_) => out.extend(
                            part.iter()
                                .map(|_| Err(SignError::Failed("a signing thread panicked".into()))),
                        ),
                    }
                }
                out
            })
        })
        .await;
        signed.unwrap_or_else(|e| (0..count).map(|_| Err(SignError::Failed(e.to_string()))).collect())
    }
}

/// The longest message KMS signs as `RAW`; longer policies go as their SHA-256 `DIGEST`.
const KMS_RAW_MAX: usize = 4096;

/// A key in AWS KMS (`KeyUsage` `SIGN_VERIFY`, `RSA_2048` or `ECC_NIST_P256`).
pub struct KmsSigner {
    kms: Arc<Kms>,
    signatory: Signatory,
}

/// What each concurrent `Sign` call shares.
struct Kms {
    client: aws_sdk_kms::Client,
    key_id: String,
    algorithm: SigningAlgorithmSpec,
    concurrency: tokio::sync::Semaphore,
    backoff: Backoff,
}

impl fmt::Debug for KmsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KmsSigner")
            .field("key_id", &self.kms.key_id)
            .field("algorithm", &self.kms.algorithm.as_str())
            .field("key_pair_id", &self.signatory.key_pair_id().as_str())
            .finish_non_exhaustive()
    }
}

impl KmsSigner {
    /// Reads the public key of `key_id` once (`GetPublicKey`, retried with
    /// `backoff`) and checks that it can sign for CloudFront; the URLs it
    /// signs name `key_pair_id` and carry `Hash-Algorithm=SHA256`. At most
    /// `max_concurrent` `Sign` calls run at a time.
    pub async fn connect(
        client: aws_sdk_kms::Client,
        key_id: &str,
        key_pair_id: KeyPairId,
        max_concurrent: usize,
        backoff: Backoff,
    ) -> Result<Self, SignError> {
        let out = backoff
            .retry(is_transient, || client.get_public_key().key_id(key_id).send())
            .await
            .map_err(|e| kms_error("GetPublicKey", &e))?;
        if out.key_usage().is_some_and(|u| *u != KeyUsageType::SignVerify) {
            return Err(SignError::Failed(format!(
                "KMS key {key_id}: KeyUsage is not SIGN_VERIFY"
            )));
        }
        // moto (and older responses) name the spec CustomerMasterKeySpec only.
        #[allow(deprecated)]
        let spec = match (out.key_spec(), out.customer_master_key_spec()) {
            (Some(spec), _) => Some(spec.as_str().to_owned()),
            (None, Some(spec)) => Some(spec.as_str().to_owned()),
            (None, None) => None,
        };
        let algorithm = match spec.as_deref() {
            Some("RSA_2048") => SigningAlgorithmSpec::RsassaPkcs1V15Sha256,
            Some("ECC_NIST_P256") => SigningAlgorithmSpec::EcdsaSha256,
            other => {
                return Err(SignError::Failed(format!(
                    "KMS key {key_id}: key spec {other:?} cannot sign CloudFront URLs (RSA_2048 or ECC_NIST_P256)"
                )));
            }
        };
        let der = out
            .public_key()
            .ok_or_else(|| SignError::Failed(format!("KMS key {key_id}: no public key")))?;
        let public = VerifyingKey::from_der(der.as_ref())
            .map_err(|e| SignError::Failed(format!("KMS key {key_id}: public key: {e}")))?;
        Ok(KmsSigner {
            kms: Arc::new(Kms {
                client,
                key_id: key_id.to_owned(),
                algorithm,
                concurrency: tokio::sync::Semaphore::new(max_concurrent.max(1)),
                backoff,
            }),
            signatory: Signatory::new(key_pair_id, public, HashAlgorithm::Sha256),
        })
    }
}

impl Kms {
    async fn sign(&self, policy: Vec<u8>) -> Result<Vec<u8>, SignError> {
        let _permit = self
            .concurrency
            .acquire()
            .await
            .map_err(|e| SignError::Failed(e.to_string()))?;
        let (message, kind) = if policy.len() <= KMS_RAW_MAX {
            (policy, MessageType::Raw)
        } else {
            use sha2::Digest as _;
            (sha2::Sha256::digest(&policy).to_vec(), MessageType::Digest)
        };
        let out = self
            .backoff
            .retry(is_transient, || {
                self.client
                    .sign()
                    .key_id(&self.key_id)
                    .message(Blob::new(message.clone()))
                    .message_type(kind.clone())
                    .signing_algorithm(self.algorithm.clone())
                    .send()
            })
            .await
            .map_err(|e| kms_error("Sign", &e))?;
        out.signature
            .map(Blob::into_inner)
            .ok_or_else(|| SignError::Failed("KMS Sign returned no signature".into()))
    }
}

#[async_trait]
impl PolicySigner for KmsSigner {
    fn signatory(&self) -> &Signatory {
        &self.signatory
    }

    async fn sign_each(&self, policies: &[&[u8]]) -> Vec<Result<Vec<u8>, SignError>> {
        if let [policy] = policies {
            return vec![self.kms.sign(policy.to_vec()).await];
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (index, policy) in policies.iter().enumerate() {
            let (kms, policy) = (self.kms.clone(), policy.to_vec());
            tasks.spawn(async move { (index, kms.sign(policy).await) });
        }
        // Every call runs to its end (its retries included): a failure
        // beside it does not throw away a signature KMS made (and billed).
        let mut out: Vec<Result<Vec<u8>, SignError>> = (0..policies.len())
            .map(|_| Err(SignError::Failed("KMS Sign task did not finish".into())))
            .collect();
        while let Some(joined) = tasks.join_next().await {
            if let Ok((index, signature)) = joined {
                out[index] = signature;
            }
        }
        out
    }
}

/// Throttled, or KMS unreachable or failing on its side: worth another try.
fn is_transient<E, R>(e: &aws_sdk_kms::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_kms::error::ProvideErrorMetadata,
{
    use aws_sdk_kms::error::SdkError;
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => matches!(
            service.err().code(),
            Some(
                "ThrottlingException"
                    | "LimitExceededException"
                    | "KMSInternalException"
                    | "DependencyTimeoutException"
                    | "ServiceUnavailableException"
            )
        ),
        _ => false,
    }
}

/// Every KMS failure that reaches a request is the key being unavailable:
/// 503 `key_unavailable` (throttled, unreachable, disabled, not allowed).
fn kms_error<E, R>(call: &str, e: &aws_sdk_kms::error::SdkError<E, R>) -> SignError
where
    E: std::error::Error + 'static,
    R: fmt::Debug + 'static,
{
    SignError::Unavailable(format!("KMS {call}: {}", describe_sdk_error(e)))
}
