//! Who signs, without the key: what it takes to size, label and assemble
//! credentials whose signatures are made elsewhere (by a local key or by a
//! key that never leaves AWS KMS).

use crate::signer::{checked_length, validate_url};
use crate::{
    Credential, CredentialPolicy, Error, HashAlgorithm, KeyKind, KeyPairId, KeySuffix, Policy, VerifyingKey, encoding,
};

/// The public side of a signer: the CloudFront key pair id, the hash
/// algorithm, the public key, its kind and fingerprint. It signs nothing:
/// it turns signatures made elsewhere into credentials and signed URLs,
/// and tells their length before they exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signatory {
    key_pair_id: KeyPairId,
    hash: HashAlgorithm,
    public: VerifyingKey,
    kind: KeyKind,
    fingerprint: [u8; 32],
}

impl Signatory {
    /// The signatory of `public`, registered under `key_pair_id`, whose
    /// signatures use `hash`.
    pub fn new(key_pair_id: KeyPairId, public: VerifyingKey, hash: HashAlgorithm) -> Self {
        Signatory {
            key_pair_id,
            hash,
            kind: public.kind(),
            fingerprint: public.fingerprint(),
            public,
        }
    }

    /// The key pair id that goes into `Key-Pair-Id`.
    pub fn key_pair_id(&self) -> &KeyPairId {
        &self.key_pair_id
    }

    /// The hash algorithm of every signature.
    pub fn hash(&self) -> HashAlgorithm {
        self.hash
    }

    /// The kind of key.
    pub fn key_kind(&self) -> KeyKind {
        self.kind
    }

    /// The public key, which verifies the signatures.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// [`VerifyingKey::fingerprint`], computed once: with the key pair id and
    /// the hash, what tells two signers' signatures apart.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// The longest `Signature` value, in characters: exact for RSA, the
    /// bound for ECDSA (see [`KeyKind::max_signature_bytes`]).
    pub fn max_encoded_signature_len(&self) -> usize {
        encoding::encoded_len(self.kind.max_signature_bytes())
    }

    /// The credential of a custom policy whose bytes (`policy.to_json()`)
    /// were signed into `signature` (CloudFront base64, as encoded).
    pub fn custom_credential(&self, policy: &Policy, signature: String) -> Credential {
        Credential {
            policy: CredentialPolicy::Custom {
                encoded: encoding::encode(policy.to_json().as_bytes()),
            },
            signature,
            key_pair_id: self.key_pair_id.to_string(),
            hash: self.hash,
        }
    }

    /// `url` with the credential of `policy` (its bytes signed into
    /// `signature`, encoded) appended under CloudFront's own names, then
    /// under names ending with `copies`: what
    /// [`UrlSigner::sign_with_policy_and_copies`](crate::UrlSigner::sign_with_policy_and_copies)
    /// gives, from a signature made elsewhere. The same checks: an absolute
    /// URL the resource matches, at most [`MAX_URL_BYTES`](crate::MAX_URL_BYTES).
    pub fn url_with_policy_and_copies(
        &self,
        url: &str,
        policy: &Policy,
        signature: String,
        copies: &KeySuffix,
    ) -> Result<String, Error> {
        self.url_with_policy(url, policy, signature, Some(copies))
    }

    /// `url` with the credential of the custom `policy` (signed elsewhere
    /// into the encoded `signature`), and its copies under `copies` when given.
    pub fn url_with_policy(
        &self,
        url: &str,
        policy: &Policy,
        signature: String,
        copies: Option<&KeySuffix>,
    ) -> Result<String, Error> {
        validate_url(url)?;
        if !crate::wildcard_match(&policy.resource, url) {
            return Err(Error::Url(format!(
                "the policy resource {:?} does not match the url",
                policy.resource
            )));
        }
        let suffixes: &[&str] = match copies {
            Some(copies) => &["", copies.as_str()],
            None => &[""],
        };
        checked_length(self.custom_credential(policy, signature).append_to(url, suffixes))
    }

    /// `url` with a canned credential until `expires`, whose policy bytes
    /// ([`canned_policy_json`](crate::canned_policy_json)`(url, expires)`)
    /// were signed elsewhere into the encoded `signature`. The checks of
    /// [`UrlSigner::sign_canned`](crate::UrlSigner::sign_canned): no `*` or
    /// `?` in `url` ([`Error::CannedWildcard`]).
    pub fn canned_url(&self, url: &str, expires: u64, signature: String) -> Result<String, Error> {
        validate_url(url)?;
        if url.contains(['*', '?']) {
            return Err(Error::CannedWildcard(url.chars().take(100).collect()));
        }
        let credential = Credential {
            policy: CredentialPolicy::Canned { expires },
            signature,
            key_pair_id: self.key_pair_id.to_string(),
            hash: self.hash,
        };
        checked_length(credential.append_to(url, &[""]))
    }
}
