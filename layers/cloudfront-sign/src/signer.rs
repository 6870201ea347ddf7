//! Signing URLs: a key, its CloudFront key pair id and the hash algorithm.

use crate::{
    Credential, CredentialPolicy, Error, HashAlgorithm, KeyKind, KeyPairId, KeySuffix, MAX_URL_BYTES, Policy,
    RESERVED_PARAMS, Signatory, SigningKey, VerifyingKey, canned_policy_json, encoding,
};

/// Signs CloudFront URLs with one key.
#[derive(Debug, Clone)]
pub struct UrlSigner {
    signatory: Signatory,
    key: SigningKey,
}

impl UrlSigner {
    /// A signer for the CloudFront public key `key_pair_id`. Every part is
    /// already valid, so nothing can fail here.
    pub fn new(key_pair_id: KeyPairId, key: SigningKey, hash: HashAlgorithm) -> Self {
        UrlSigner {
            signatory: Signatory::new(key_pair_id, key.verifying_key(), hash),
            key,
        }
    }

    /// The public side: key pair id, hash, public key (what a plan needs).
    pub fn signatory(&self) -> &Signatory {
        &self.signatory
    }

    /// The fingerprint of the key ([`VerifyingKey::fingerprint`], computed
    /// once): with the key pair id and the hash, what tells two signers'
    /// signatures apart.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.signatory.fingerprint()
    }

    /// The key pair id that goes into `Key-Pair-Id`.
    pub fn key_pair_id(&self) -> &KeyPairId {
        self.signatory.key_pair_id()
    }

    /// The hash algorithm of every signature this signer makes.
    pub fn hash(&self) -> HashAlgorithm {
        self.signatory.hash()
    }

    /// The kind of key, for logs.
    pub fn key_kind(&self) -> KeyKind {
        self.signatory.key_kind()
    }

    /// The longest `Signature` value this signer writes, in characters:
    /// exact for RSA, the bound for ECDSA (see [`KeyKind::max_signature_bytes`]).
    /// Known before signing, so the length of a signed URL is too.
    pub fn max_encoded_signature_len(&self) -> usize {
        self.signatory.max_encoded_signature_len()
    }

    /// The public half of the key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signatory.verifying_key().clone()
    }

    /// The signature of `message` (policy bytes) with this signer's hash, raw.
    pub fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.key.sign(message, self.hash())
    }

    /// Signs a custom policy: the credential to append to any URL it covers.
    pub fn sign_policy(&self, policy: &Policy) -> Result<Credential, Error> {
        let json = policy.to_json();
        Ok(Credential {
            policy: CredentialPolicy::Custom {
                encoded: encoding::encode(json.as_bytes()),
            },
            signature: encoding::encode(&self.sign_bytes(json.as_bytes())?),
            key_pair_id: self.key_pair_id().to_string(),
            hash: self.hash(),
        })
    }

    /// Signs a canned policy for exactly `url` (which must not carry the
    /// credential yet) until `expires`.
    ///
    /// Refuses a `url` holding `*` or `?` ([`Error::CannedWildcard`]): the
    /// canned policy's bytes are exactly those of a custom policy whose
    /// resource is `url`, so the signature, replayed as `Policy=`, would
    /// grant every URL that `url` matches as a pattern. A query string
    /// starts with `?`: sign such a URL with a custom policy.
    pub fn sign_canned_params(&self, url: &str, expires: u64) -> Result<Credential, Error> {
        if url.contains(['*', '?']) {
            return Err(Error::CannedWildcard(url.chars().take(100).collect()));
        }
        let json = canned_policy_json(url, expires);
        Ok(Credential {
            policy: CredentialPolicy::Canned { expires },
            signature: encoding::encode(&self.sign_bytes(json.as_bytes())?),
            key_pair_id: self.key_pair_id().to_string(),
            hash: self.hash(),
        })
    }

    /// `url` signed with a canned policy: usable for this exact URL until
    /// `expires`. A URL holding `*` or `?` (a query string included) is
    /// refused, see [`UrlSigner::sign_canned_params`].
    pub fn sign_canned(&self, url: &str, expires: u64) -> Result<String, Error> {
        validate_url(url)?;
        let credential = self.sign_canned_params(url, expires)?;
        checked_length(credential.append_to(url, &[""]))
    }

    /// `url` signed with a custom `policy`, whose resource must match `url`.
    pub fn sign_with_policy(&self, url: &str, policy: &Policy) -> Result<String, Error> {
        self.sign_custom(url, policy, &[""])
    }

    /// `url` signed with a custom `policy`, the credential appended twice:
    /// under CloudFront's own names, then under names ending with `copies`
    /// (the copies that reach the rewriter, since CloudFront strips its own).
    pub fn sign_with_policy_and_copies(&self, url: &str, policy: &Policy, copies: &KeySuffix) -> Result<String, Error> {
        self.sign_custom(url, policy, &["", copies.as_str()])
    }

    fn sign_custom(&self, url: &str, policy: &Policy, suffixes: &[&str]) -> Result<String, Error> {
        validate_url(url)?;
        if !crate::wildcard_match(&policy.resource, url) {
            return Err(Error::Url(format!(
                "the policy resource {:?} does not match the url",
                policy.resource
            )));
        }
        let credential = self.sign_policy(policy)?;
        checked_length(credential.append_to(url, suffixes))
    }
}

pub(crate) fn checked_length(url: String) -> Result<String, Error> {
    if url.len() > MAX_URL_BYTES {
        return Err(Error::UrlTooLong(url.len()));
    }
    Ok(url)
}

/// An absolute http(s) URL with a host, no fragment, no whitespace, and no
/// CloudFront parameter already in its query.
pub(crate) fn validate_url(url: &str) -> Result<(), Error> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return Err(Error::Url("not an absolute http(s) url".to_owned()));
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    if host.is_empty() {
        return Err(Error::Url("no host".to_owned()));
    }
    if url.contains('#') {
        return Err(Error::Url("a signed url cannot carry a fragment".to_owned()));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::Url(
            "whitespace or control characters; percent-encode them".to_owned(),
        ));
    }
    if let Some((_, query)) = url.split_once('?') {
        for pair in query.split('&') {
            let name = pair.split_once('=').map_or(pair, |(n, _)| n);
            let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
            if let Some(reserved) = RESERVED_PARAMS.iter().find(|&&r| r == name) {
                return Err(Error::ReservedParameter((*reserved).to_owned()));
            }
        }
    }
    Ok(())
}
