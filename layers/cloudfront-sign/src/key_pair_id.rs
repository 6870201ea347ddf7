//! The CloudFront key pair id, validated once.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A CloudFront key pair id: the public key id (`K...`) of a key group, or a
/// legacy `APKA...` id. 1 to 128 ASCII letters and digits, the one rule of
/// the workspace; a value of this type has passed it.
///
/// ```
/// use cloudfront_sign::KeyPairId;
///
/// let id: KeyPairId = "K2JCJMDEHXQW5F".parse()?;
/// assert_eq!(id.as_str(), "K2JCJMDEHXQW5F");
/// assert!(KeyPairId::new("K2 JC").is_err());
/// # Ok::<(), cloudfront_sign::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyPairId(String);

/// The longest key pair id accepted, in bytes.
const MAX_LEN: usize = 128;

impl KeyPairId {
    /// Validates `id`: 1 to 128 ASCII letters and digits.
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        if id.is_empty() || id.len() > MAX_LEN || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::KeyPairId(id.chars().take(40).collect()));
        }
        Ok(KeyPairId(id))
    }

    /// The id, as it goes into `Key-Pair-Id`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for KeyPairId {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        KeyPairId::new(text)
    }
}

impl fmt::Display for KeyPairId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for KeyPairId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<KeyPairId> for String {
    fn from(id: KeyPairId) -> String {
        id.0
    }
}

impl From<&KeyPairId> for String {
    fn from(id: &KeyPairId) -> String {
        id.0.clone()
    }
}

impl PartialEq<str> for KeyPairId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for KeyPairId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_letters_and_digits_up_to_128() {
        for id in ["K2JCJMDEHXQW5F", "APKAEIBAERJR2EXAMPLE", "k", &"A".repeat(128)] {
            let parsed = KeyPairId::new(id).unwrap();
            assert_eq!(parsed.as_str(), id);
            assert_eq!(parsed.to_string(), id);
            assert_eq!(id.parse::<KeyPairId>().unwrap(), parsed);
        }
    }

    #[test]
    fn refuses_anything_else_naming_the_value() {
        for id in ["", "K2 JC", "K2/..", "é", "K-1", "K_1", &"A".repeat(129)] {
            assert!(matches!(KeyPairId::new(id), Err(Error::KeyPairId(_))), "{id:?}");
        }
        assert_eq!(
            KeyPairId::new("K 1").unwrap_err().to_string(),
            "invalid key pair id \"K 1\": expected 1 to 128 letters and digits (e.g. K2JCJMDEHXQW5F)"
        );
        let long = KeyPairId::new("A".repeat(300)).unwrap_err().to_string();
        assert!(long.contains(&format!("\"{}\"", "A".repeat(40))), "cut to 40: {long}");
    }
}
