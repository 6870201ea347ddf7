//! The sign phase of a rewrite: one signature per distinct policy, from the
//! cache when it holds one, on every core when many are missing, in batches
//! that go into the cache as each completes, and no more than the budget.

use std::sync::Arc;

use cloudfront_sign::{Credential, CredentialPolicy, Policy, Signatory, UrlSigner, canned_policy_json, encoding};

use crate::Error;
use crate::cache::SignatureCache;
use crate::plan::Need;
use crate::rewrite::Incoming;

/// Below this many signatures, threads cost more than they save.
const PARALLEL_THRESHOLD: usize = 8;

/// How many policies are looked up, and their missing signatures made, at a
/// time: each batch's signatures go into the cache as soon as it is done.
pub(crate) const BATCH: usize = 256;

/// The credentials of the needs, in their order, and where their signatures came from.
pub(crate) struct Signed {
    pub credentials: Vec<Credential>,
    /// Signatures computed now.
    pub computed: usize,
    /// Signatures found in the cache.
    pub reused: usize,
}

/// Signs each need once (within the incoming window), looking in the cache
/// first, in batches of [`BATCH`] that are cached as each completes. At most
/// `budget` signatures are made: when more are missing, those are made and
/// cached, then [`Error::SigningBudget`] says how many were needed.
pub(crate) fn sign(
    needs: &[Need],
    incoming: &Incoming,
    signer: &UrlSigner,
    cache: &SignatureCache,
    parallel: bool,
    budget: Option<usize>,
) -> Result<Signed, Error> {
    let window = &incoming.policy;
    let budget_left = budget.unwrap_or(usize::MAX);
    let mut credentials = Vec::with_capacity(needs.len());
    let (mut needed, mut computed) = (0usize, 0usize);
    for batch in needs.chunks(BATCH) {
        let jsons: Vec<String> = batch.iter().map(|need| policy_json(need, window)).collect();
        let keys: Vec<Arc<str>> = jsons
            .iter()
            .map(|json| SignatureCache::key(signer.signatory(), json))
            .collect();
        let mut signatures: Vec<Option<Arc<str>>> = keys.iter().map(|key| cache.get(key)).collect();
        let missing: Vec<usize> = (0..batch.len()).filter(|&i| signatures[i].is_none()).collect();
        needed += missing.len();
        let now = missing.len().min(budget_left - computed);
        let made = compute(batch, &missing[..now], window, signer, parallel)?;
        computed += made.len();
        for (&index, signature) in missing.iter().zip(made) {
            let signature: Arc<str> = signature.into();
            cache.insert(keys[index].clone(), signature.clone());
            signatures[index] = Some(signature);
        }
        if needed > computed {
            // Over budget: keep counting what is missing, sign nothing more.
            continue;
        }
        for ((need, signature), json) in batch.iter().zip(signatures).zip(&jsons) {
            credentials.push(credential(need, json, signature, window, signer.signatory()));
        }
    }
    if needed > computed {
        return Err(Error::SigningBudget {
            needed,
            signed: computed,
            budget: budget_left,
        });
    }
    Ok(Signed {
        credentials,
        computed,
        reused: needs.len() - computed,
    })
}

/// The two-step path: each need's policy bytes and cached signature, and
/// which of the missing ones are to be signed now (at most the budget).
pub(crate) struct Lookup {
    jsons: Vec<String>,
    keys: Vec<Arc<str>>,
    signatures: Vec<Option<Arc<str>>>,
    /// Indexes of the needs to sign now, in playlist order.
    pub to_sign: Vec<usize>,
    /// Signatures missing from the cache, all told.
    needed: usize,
    budget: usize,
}

impl Lookup {
    /// Looks every need up in the cache (see [`sign`] for the budget).
    pub fn new(
        needs: &[Need],
        window: &Policy,
        signer: &Signatory,
        cache: &SignatureCache,
        budget: Option<usize>,
    ) -> Self {
        let budget = budget.unwrap_or(usize::MAX);
        let jsons: Vec<String> = needs.iter().map(|need| policy_json(need, window)).collect();
        let keys: Vec<Arc<str>> = jsons.iter().map(|json| SignatureCache::key(signer, json)).collect();
        let signatures: Vec<Option<Arc<str>>> = keys.iter().map(|key| cache.get(key)).collect();
        let missing: Vec<usize> = (0..needs.len()).filter(|&i| signatures[i].is_none()).collect();
        let needed = missing.len();
        let to_sign = missing.into_iter().take(budget).collect();
        Lookup {
            jsons,
            keys,
            signatures,
            to_sign,
            needed,
            budget,
        }
    }

    /// The policy bytes of need `index`.
    pub fn json(&self, index: usize) -> &str {
        &self.jsons[index]
    }

    /// Caches those of the raw signatures of [`Lookup::to_sign`] (in that
    /// order; `None` for one that was not made) that a rewrite which cannot
    /// finish did get, each checked as [`Lookup::finish`] checks it: the
    /// retry then signs only the rest. Returns how many were kept.
    pub fn keep(&self, raw: &[Option<Vec<u8>>], signer: &Signatory, cache: &SignatureCache) -> usize {
        let longest = signer.key_kind().max_signature_bytes();
        let mut kept = 0;
        for (&index, signature) in self.to_sign.iter().zip(raw) {
            if let Some(signature) = signature
                && !signature.is_empty()
                && signature.len() <= longest
            {
                cache.insert(self.keys[index].clone(), encoding::encode(signature).into());
                kept += 1;
            }
        }
        kept
    }

    /// Takes the raw signatures of [`Lookup::to_sign`], in that order:
    /// each is checked against the key's longest signature, encoded and
    /// cached; then the credentials of every need, or
    /// [`Error::SigningBudget`] when more were missing than the budget.
    pub fn finish(
        mut self,
        needs: &[Need],
        raw: Vec<Vec<u8>>,
        window: &Policy,
        signer: &Signatory,
        cache: &SignatureCache,
    ) -> Result<(Vec<Credential>, usize), Error> {
        if raw.len() != self.to_sign.len() {
            return Err(Error::Sign(cloudfront_sign::Error::Sign(format!(
                "{} signatures for {} policies",
                raw.len(),
                self.to_sign.len()
            ))));
        }
        let longest = signer.key_kind().max_signature_bytes();
        for (&index, signature) in self.to_sign.iter().zip(raw) {
            if signature.is_empty() || signature.len() > longest {
                return Err(Error::Sign(cloudfront_sign::Error::Sign(format!(
                    "a {}-byte signature from a {} key",
                    signature.len(),
                    signer.key_kind()
                ))));
            }
            let signature: Arc<str> = encoding::encode(&signature).into();
            cache.insert(self.keys[index].clone(), signature.clone());
            self.signatures[index] = Some(signature);
        }
        let computed = self.to_sign.len();
        if self.needed > computed {
            return Err(Error::SigningBudget {
                needed: self.needed,
                signed: computed,
                budget: self.budget,
            });
        }
        let credentials = needs
            .iter()
            .zip(self.signatures)
            .zip(&self.jsons)
            .map(|((need, signature), json)| credential(need, json, signature, window, signer))
            .collect();
        Ok((credentials, computed))
    }
}

/// The custom policy of `need`: its resource, with the window and address block of the incoming grant.
fn policy_of(need: &Need, window: &Policy) -> Policy {
    Policy {
        resource: need.resource.to_string(),
        date_less_than: window.date_less_than,
        date_greater_than: window.date_greater_than,
        ip_address: window.ip_address,
    }
}

/// The exact bytes that `need`'s signature covers.
fn policy_json(need: &Need, window: &Policy) -> String {
    if need.canned {
        canned_policy_json(&need.resource, window.date_less_than)
    } else {
        policy_of(need, window).to_json()
    }
}

/// Computes the signatures of the needs at `missing` (indexes into `needs`), in that order.
fn compute(
    needs: &[Need],
    missing: &[usize],
    window: &Policy,
    signer: &UrlSigner,
    parallel: bool,
) -> Result<Vec<String>, Error> {
    let sign_one = |index: usize| -> Result<String, Error> {
        let need = &needs[index];
        let credential = if need.canned {
            signer.sign_canned_params(&need.resource, window.date_less_than)?
        } else {
            signer.sign_policy(&policy_of(need, window))?
        };
        Ok(credential.signature)
    };
    if parallel && missing.len() >= PARALLEL_THRESHOLD {
        sign_in_parallel(missing, &sign_one)
    } else {
        missing.iter().map(|&index| sign_one(index)).collect()
    }
}

/// The credential of `need`, from its policy bytes and signature.
fn credential(need: &Need, json: &str, signature: Option<Arc<str>>, window: &Policy, signer: &Signatory) -> Credential {
    Credential {
        policy: if need.canned {
            CredentialPolicy::Canned {
                expires: window.date_less_than,
            }
        } else {
            CredentialPolicy::Custom {
                encoded: encoding::encode(json.as_bytes()),
            }
        },
        signature: signature.map(|s| s.to_string()).unwrap_or_default(),
        key_pair_id: signer.key_pair_id().to_string(),
        hash: signer.hash(),
    }
}

/// Signs on every available core with scoped threads, one contiguous chunk
/// each, results in input order.
///
/// Scoped threads rather than rayon: the work is uniform (one signature per
/// item, ~1 ms for RSA-2048), so equal chunks balance as well as work
/// stealing would; it needs no dependency and no global pool that would stay
/// alive in a Lambda between invocations.
fn sign_in_parallel(
    indexes: &[usize],
    sign_one: &(dyn Fn(usize) -> Result<String, Error> + Sync),
) -> Result<Vec<String>, Error> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = indexes.len().div_ceil(cores.max(1));
    std::thread::scope(|scope| {
        let handles: Vec<_> = indexes
            .chunks(chunk.max(1))
            .map(|part| scope.spawn(move || part.iter().map(|&index| sign_one(index)).collect::<Result<Vec<_>, _>>()))
            .collect();
        let mut all = Vec::with_capacity(indexes.len());
        for handle in handles {
            let part = handle
                .join()
                .map_err(|_| Error::Sign(cloudfront_sign::Error::Sign("a signing thread panicked".to_owned())))??;
            all.extend(part);
        }
        Ok(all)
    })
}
