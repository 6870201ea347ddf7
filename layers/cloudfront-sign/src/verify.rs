//! Deciding as CloudFront does whether a signed URL grants a request.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::{
    Credential, CredentialPolicy, Denied, HashAlgorithm, Policy, RESERVED_PARAMS, VerifyingKey, canned_policy_json,
    encoding, strip_params, wildcard_match,
};

/// What a valid credential grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The key pair id that signed it.
    pub key_pair_id: String,
    /// The policy (for a canned credential: the URL itself and `Expires`).
    pub policy: Policy,
    /// Whether it was a canned policy.
    pub canned: bool,
    /// The hash algorithm of the signature.
    pub hash: HashAlgorithm,
}

/// The trusted public keys, by key pair id, like a CloudFront key group.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    keys: HashMap<String, VerifyingKey>,
}

impl Verifier {
    /// A verifier that trusts no key yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key` under `key_pair_id` (replacing any key of that id).
    pub fn trust(&mut self, key_pair_id: impl Into<String>, key: VerifyingKey) -> &mut Self {
        self.keys.insert(key_pair_id.into(), key);
        self
    }

    /// Verifies the credential in `url`'s query whose names end with `suffix`
    /// (`""` for CloudFront's own names, or a [`KeySuffix`](crate::KeySuffix))
    /// at `now`, for a client at `client_ip` (`None` when unknown: an
    /// IP-bound policy then fails).
    ///
    /// The URL matched against the policy is `url` without the parameters
    /// that were read; with a suffix, CloudFront's own parameters are removed
    /// as well, since CloudFront strips them before the origin sees the URL.
    pub fn verify_url(
        &self,
        url: &str,
        suffix: impl AsRef<str>,
        now: u64,
        client_ip: Option<IpAddr>,
    ) -> Result<Grant, Denied> {
        let suffix = suffix.as_ref();
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let credential = Credential::from_query(query, suffix)?;
        let suffixed: Vec<String> = RESERVED_PARAMS.iter().map(|p| format!("{p}{suffix}")).collect();
        let mut names: Vec<&str> = suffixed.iter().map(String::as_str).collect();
        if !suffix.is_empty() {
            names.extend(RESERVED_PARAMS);
        }
        self.verify(&credential, &strip_params(url, &names), now, client_ip)
    }

    /// Verifies `credential` for a request to `url` (without the credential's
    /// parameters), in CloudFront's order: key, signature, policy, time, IP,
    /// resource. The first failed check is the answer.
    pub fn verify(
        &self,
        credential: &Credential,
        url: &str,
        now: u64,
        client_ip: Option<IpAddr>,
    ) -> Result<Grant, Denied> {
        let key = self.keys.get(&credential.key_pair_id).ok_or(Denied::UnknownKey)?;
        let signature = encoding::decode(&credential.signature).map_err(|_| Denied::BadSignature)?;
        let (policy, canned) = match &credential.policy {
            CredentialPolicy::Canned { expires } => {
                let json = canned_policy_json(url, *expires);
                if !key.verify(json.as_bytes(), &signature, credential.hash) {
                    return Err(Denied::BadSignature);
                }
                (Policy::new(url, *expires), true)
            }
            CredentialPolicy::Custom { encoded } => {
                let json = encoding::decode(encoded).map_err(|e| Denied::MalformedPolicy(e.to_string()))?;
                if !key.verify(&json, &signature, credential.hash) {
                    return Err(Denied::BadSignature);
                }
                let policy = Policy::parse(&json).map_err(|e| Denied::MalformedPolicy(e.to_string()))?;
                (policy, false)
            }
        };
        check_conditions(&policy, canned, url, now, client_ip)?;
        Ok(Grant {
            key_pair_id: credential.key_pair_id.clone(),
            policy,
            canned,
            hash: credential.hash,
        })
    }
}

/// The checks after the signature, in CloudFront's order: the time window,
/// the IP address, the resource. A canned policy covers exactly the URL it
/// names. [`Verifier::verify`] runs these after the signature; a caller that
/// remembers a verified policy must run them again on every request.
pub fn check_conditions(
    policy: &Policy,
    canned: bool,
    url: &str,
    now: u64,
    client_ip: Option<IpAddr>,
) -> Result<(), Denied> {
    if now >= policy.date_less_than {
        return Err(Denied::Expired);
    }
    if policy.date_greater_than.is_some_and(|start| now < start) {
        return Err(Denied::NotYetValid);
    }
    if let Some(block) = &policy.ip_address
        && !client_ip.is_some_and(|ip| block.contains(ip))
    {
        return Err(Denied::IpNotAllowed);
    }
    let covers = if canned {
        policy.resource == url
    } else {
        wildcard_match(&policy.resource, url)
    };
    if !covers {
        return Err(Denied::ResourceMismatch);
    }
    Ok(())
}
