//! The suffix of the credential copies that reach the rewriter (`KEY_PREFIX`).

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The suffix appended to the names of the copies of a credential
/// (`Policy-PREFIX`, `Signature-PREFIX`, ...): CloudFront strips its own
/// parameters before it calls the origin, the copies reach it. Configured as
/// `KEY_PREFIX` (a suffix, whatever the name says).
///
/// 1 to 64 of `A-Z a-z 0-9 - _ .`: characters that no part of a URL
/// percent-encodes, so the names are written and read back as they are.
///
/// ```
/// use cloudfront_sign::KeySuffix;
///
/// assert_eq!(KeySuffix::default().as_str(), "-PREFIX");
/// let suffix: KeySuffix = "-Origin".parse()?;
/// assert_eq!(format!("Policy{suffix}"), "Policy-Origin");
/// assert!(KeySuffix::new("-P&x").is_err());
/// # Ok::<(), cloudfront_sign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeySuffix(String);

/// The longest suffix accepted, in bytes.
const MAX_LEN: usize = 64;

impl KeySuffix {
    /// Validates `suffix`: 1 to 64 of `A-Z a-z 0-9 - _ .`.
    pub fn new(suffix: impl Into<String>) -> Result<Self, Error> {
        let suffix = suffix.into();
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
        if suffix.is_empty() || suffix.len() > MAX_LEN || !suffix.bytes().all(allowed) {
            return Err(Error::KeySuffix(suffix.chars().take(MAX_LEN).collect()));
        }
        Ok(KeySuffix(suffix))
    }

    /// The suffix, as appended to each parameter name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for KeySuffix {
    /// `-PREFIX`.
    fn default() -> Self {
        KeySuffix("-PREFIX".to_owned())
    }
}

impl FromStr for KeySuffix {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        KeySuffix::new(text)
    }
}

impl fmt::Display for KeySuffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for KeySuffix {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<KeySuffix> for String {
    fn from(suffix: KeySuffix) -> String {
        suffix.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_url_safe_names_up_to_64() {
        for suffix in ["-PREFIX", "_x", ".v2", "A", &"-".repeat(64)] {
            assert_eq!(KeySuffix::new(suffix).unwrap().as_str(), suffix);
            assert_eq!(suffix.parse::<KeySuffix>().unwrap().to_string(), suffix);
        }
        assert_eq!(KeySuffix::default(), KeySuffix::new("-PREFIX").unwrap());
    }

    #[test]
    fn refuses_what_would_need_escaping_echoing_the_value() {
        for suffix in ["", "-P REFIX", "-P&x", "-P=", "-Ü", "-P?", "-P%41", &"a".repeat(65)] {
            assert!(matches!(KeySuffix::new(suffix), Err(Error::KeySuffix(_))), "{suffix:?}");
        }
        assert_eq!(
            KeySuffix::new("-P REFIX").unwrap_err().to_string(),
            "invalid key suffix \"-P REFIX\": expected 1 to 64 characters of A-Z a-z 0-9 - _ ."
        );
    }
}
