//! The signing parameters in a query string: writing them, reading them back
//! (under their own names or with a suffix such as `-PREFIX`), and removing
//! them from a URL.

use std::borrow::Cow;
use std::fmt::Write as _;

use percent_encoding::percent_decode_str;

use crate::{Denied, HashAlgorithm};

/// The parameters CloudFront reads and removes before it calls the origin.
pub const RESERVED_PARAMS: [&str; 5] = ["Expires", "Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm"];

/// How a credential states its policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CredentialPolicy {
    /// A canned policy: only the expiry travels (`Expires`).
    Canned {
        /// `DateLessThan` of the implied policy, in epoch seconds.
        expires: u64,
    },
    /// A custom policy, CloudFront-base64-encoded (`Policy`).
    Custom {
        /// The encoded policy, exactly as sent.
        encoded: String,
    },
}

/// A CloudFront credential: the parameter values of a signed URL.
///
/// Values are kept in their URL form (CloudFront base64 needs no escaping),
/// so writing a credential back is a plain concatenation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Credential {
    /// `Expires` or `Policy`.
    pub policy: CredentialPolicy,
    /// `Signature`, CloudFront-base64.
    pub signature: String,
    /// `Key-Pair-Id`.
    pub key_pair_id: String,
    /// `Hash-Algorithm` (SHA-1 when absent).
    pub hash: HashAlgorithm,
}

impl Credential {
    /// Writes `Expires|Policy=..&Signature=..&Key-Pair-Id=..[&Hash-Algorithm=SHA256]`,
    /// each name followed by `suffix`: `""` for CloudFront's own names, or a
    /// [`KeySuffix`](crate::KeySuffix) for the copies. The order is botocore's.
    pub fn write_query(&self, suffix: impl AsRef<str>, out: &mut String) {
        let suffix = suffix.as_ref();
        match &self.policy {
            CredentialPolicy::Canned { expires } => {
                out.push_str("Expires");
                out.push_str(suffix);
                out.push('=');
                let _ = write!(out, "{expires}");
            }
            CredentialPolicy::Custom { encoded } => {
                out.push_str("Policy");
                out.push_str(suffix);
                out.push('=');
                out.push_str(encoded);
            }
        }
        for (name, value) in [
            ("&Signature", self.signature.as_str()),
            ("&Key-Pair-Id", self.key_pair_id.as_str()),
        ] {
            out.push_str(name);
            out.push_str(suffix);
            out.push('=');
            out.push_str(value);
        }
        if let Some(value) = self.hash.param_value() {
            out.push_str("&Hash-Algorithm");
            out.push_str(suffix);
            out.push('=');
            out.push_str(value);
        }
    }

    /// The query text for `suffix` (see [`Credential::write_query`]).
    pub fn query(&self, suffix: impl AsRef<str>) -> String {
        let suffix = suffix.as_ref();
        let mut out = String::with_capacity(self.encoded_len(suffix));
        self.write_query(suffix, &mut out);
        out
    }

    /// The length of [`Credential::query`] for `suffix`, for pre-sizing buffers.
    pub fn encoded_len(&self, suffix: impl AsRef<str>) -> usize {
        let suffix = suffix.as_ref();
        let policy = match &self.policy {
            CredentialPolicy::Canned { expires } => "Expires=".len() + decimal_digits(*expires),
            CredentialPolicy::Custom { encoded } => "Policy=".len() + encoded.len(),
        };
        let hash = self
            .hash
            .param_value()
            .map_or(0, |v| "&Hash-Algorithm=".len() + v.len() + suffix.len());
        policy
            + "&Signature=".len()
            + self.signature.len()
            + "&Key-Pair-Id=".len()
            + self.key_pair_id.len()
            + 3 * suffix.len()
            + hash
    }

    /// `url` with this credential appended once per suffix, joined with `?`
    /// or `&` as the URL requires. `[""]` gives CloudFront's own parameters;
    /// `["", "-PREFIX"]` adds the copies the rewriter reads.
    pub fn append_to(&self, url: &str, suffixes: &[&str]) -> String {
        let mut out =
            String::with_capacity(url.len() + suffixes.iter().map(|s| self.encoded_len(s) + 1).sum::<usize>());
        out.push_str(url);
        for suffix in suffixes {
            out.push(if out.contains('?') { '&' } else { '?' });
            self.write_query(suffix, &mut out);
        }
        out
    }

    /// Reads the credential whose parameter names end with `suffix` (`""`
    /// for CloudFront's own names, or a [`KeySuffix`](crate::KeySuffix)) from
    /// a raw query string (no leading `?`). Names and values are
    /// percent-decoded, as browsers and players may encode `~` or `=`.
    pub fn from_query(query: &str, suffix: impl AsRef<str>) -> Result<Self, Denied> {
        let suffix = suffix.as_ref();
        let mut found: [Option<Cow<'_, str>>; 5] = Default::default();
        for (name, value) in pairs(query) {
            let Some(base) = name.strip_suffix(suffix) else {
                continue;
            };
            let Some(slot) = RESERVED_PARAMS.iter().position(|&p| p == base) else {
                continue;
            };
            if found[slot].is_some() {
                return Err(Denied::Ambiguous(format!("{name} appears twice")));
            }
            found[slot] = Some(value);
        }
        let [expires, policy, signature, key_pair_id, hash] = found;
        let missing = |base: &str| Denied::MissingParameter(format!("{base}{suffix}"));
        let policy = match (expires, policy) {
            (Some(_), Some(_)) => {
                return Err(Denied::Ambiguous(format!("both Expires{suffix} and Policy{suffix}")));
            }
            (Some(expires), None) => CredentialPolicy::Canned {
                expires: parse_epoch(&expires).ok_or_else(|| {
                    Denied::MalformedPolicy(format!("Expires{suffix} is not a whole number of seconds"))
                })?,
            },
            (None, Some(encoded)) => CredentialPolicy::Custom {
                encoded: encoded.into_owned(),
            },
            (None, None) => return Err(missing("Policy")),
        };
        let hash = match hash {
            None => HashAlgorithm::Sha1,
            Some(value) => HashAlgorithm::from_param(&value)
                .ok_or_else(|| Denied::MalformedPolicy(format!("Hash-Algorithm{suffix} must be SHA1 or SHA256")))?,
        };
        Ok(Credential {
            policy,
            signature: signature.ok_or_else(|| missing("Signature"))?.into_owned(),
            key_pair_id: key_pair_id.ok_or_else(|| missing("Key-Pair-Id"))?.into_owned(),
            hash,
        })
    }
}

/// `url` without the query parameters whose (percent-decoded) names are in
/// `names`; the other parameters keep their order and exact bytes, and the `?`
/// goes when nothing is left.
pub fn strip_params(url: &str, names: &[&str]) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let mut out = String::with_capacity(url.len());
    out.push_str(base);
    let mut first = true;
    for raw in query.split('&') {
        let name = raw.split_once('=').map_or(raw, |(n, _)| n);
        if names.contains(&decode(name).as_ref()) {
            continue;
        }
        out.push(if first { '?' } else { '&' });
        out.push_str(raw);
        first = false;
    }
    out
}

/// The decoded `(name, value)` pairs of a raw query string.
fn pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => (decode(name), decode(value)),
            None => (decode(pair), Cow::Borrowed("")),
        })
}

fn decode(text: &str) -> Cow<'_, str> {
    percent_decode_str(text).decode_utf8_lossy()
}

fn parse_epoch(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn decimal_digits(value: u64) -> usize {
    value.checked_ilog10().map_or(1, |log| log as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom() -> Credential {
        Credential {
            policy: CredentialPolicy::Custom { encoded: "eyJ9".into() },
            signature: "c2ln".into(),
            key_pair_id: "K1".into(),
            hash: HashAlgorithm::Sha1,
        }
    }

    #[test]
    fn writes_in_botocore_order_with_suffix() {
        assert_eq!(custom().query(""), "Policy=eyJ9&Signature=c2ln&Key-Pair-Id=K1");
        let sha256 = Credential {
            hash: HashAlgorithm::Sha256,
            ..custom()
        };
        assert_eq!(
            sha256.query("-PREFIX"),
            "Policy-PREFIX=eyJ9&Signature-PREFIX=c2ln&Key-Pair-Id-PREFIX=K1&Hash-Algorithm-PREFIX=SHA256"
        );
        for suffix in ["", "-PREFIX"] {
            assert_eq!(sha256.query(suffix).len(), sha256.encoded_len(suffix));
            assert_eq!(custom().query(suffix).len(), custom().encoded_len(suffix));
        }
        let canned = Credential {
            policy: CredentialPolicy::Canned { expires: 1700000000 },
            ..custom()
        };
        assert_eq!(canned.query(""), "Expires=1700000000&Signature=c2ln&Key-Pair-Id=K1");
        assert_eq!(canned.query("").len(), canned.encoded_len(""));
    }

    #[test]
    fn appends_with_the_right_separator() {
        assert_eq!(
            custom().append_to("https://h/a", &[""]),
            "https://h/a?Policy=eyJ9&Signature=c2ln&Key-Pair-Id=K1"
        );
        assert_eq!(
            custom().append_to("https://h/a?x=1", &["", "-P"]),
            "https://h/a?x=1&Policy=eyJ9&Signature=c2ln&Key-Pair-Id=K1&Policy-P=eyJ9&Signature-P=c2ln&Key-Pair-Id-P=K1"
        );
    }

    #[test]
    fn reads_back_what_it_writes() {
        let both = format!("a=1&{}&{}&b", custom().query(""), custom().query("-PREFIX"));
        assert_eq!(Credential::from_query(&both, "").unwrap(), custom());
        assert_eq!(Credential::from_query(&both, "-PREFIX").unwrap(), custom());
    }

    #[test]
    fn percent_decodes_names_and_values() {
        let query = "Policy%2DPREFIX=ab%7Ecd%5F&Signature-PREFIX=s%7E&Key-Pair-Id-PREFIX=K1";
        let credential = Credential::from_query(query, "-PREFIX").unwrap();
        assert_eq!(
            credential.policy,
            CredentialPolicy::Custom {
                encoded: "ab~cd_".into()
            }
        );
        assert_eq!(credential.signature, "s~");
    }

    #[test]
    fn names_what_is_missing_or_ambiguous() {
        assert_eq!(
            Credential::from_query("", "-P"),
            Err(Denied::MissingParameter("Policy-P".into()))
        );
        assert_eq!(
            Credential::from_query("Policy=a&Key-Pair-Id=K", ""),
            Err(Denied::MissingParameter("Signature".into()))
        );
        assert_eq!(
            Credential::from_query("Policy=a&Signature=s", ""),
            Err(Denied::MissingParameter("Key-Pair-Id".into()))
        );
        assert!(matches!(
            Credential::from_query("Policy=a&Expires=1&Signature=s&Key-Pair-Id=K", ""),
            Err(Denied::Ambiguous(_))
        ));
        assert!(matches!(
            Credential::from_query("Policy=a&Policy=b&Signature=s&Key-Pair-Id=K", ""),
            Err(Denied::Ambiguous(_))
        ));
        for expires in ["x", "-1", "1.5", "99999999999999999999", ""] {
            assert!(matches!(
                Credential::from_query(&format!("Expires={expires}&Signature=s&Key-Pair-Id=K"), ""),
                Err(Denied::MalformedPolicy(_))
            ));
        }
        assert!(matches!(
            Credential::from_query("Policy=a&Signature=s&Key-Pair-Id=K&Hash-Algorithm=MD5", ""),
            Err(Denied::MalformedPolicy(_))
        ));
    }

    #[test]
    fn suffix_and_plain_names_do_not_mix() {
        let plain = custom().query("");
        assert!(Credential::from_query(&plain, "-PREFIX").is_err());
    }

    #[test]
    fn strips_only_the_named_parameters() {
        let names = ["Policy", "Signature", "Key-Pair-Id"];
        assert_eq!(
            strip_params("https://h/a?Policy=1&Signature=2&Key-Pair-Id=3", &names),
            "https://h/a"
        );
        assert_eq!(
            strip_params("https://h/a?x=1&Policy=1&y=%41&Signature=2", &names),
            "https://h/a?x=1&y=%41"
        );
        assert_eq!(
            strip_params("https://h/a?Policy-PREFIX=1", &names),
            "https://h/a?Policy-PREFIX=1"
        );
        assert_eq!(strip_params("https://h/a", &names), "https://h/a");
        assert_eq!(strip_params("https://h/a?Sig%6Eature=2", &names), "https://h/a");
    }
}
