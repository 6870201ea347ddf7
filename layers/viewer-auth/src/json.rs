//! Strict decoding of token segments: unpadded canonical base64url, and JSON
//! objects whose keys appear once (a duplicated `alg` or `exp` is refused,
//! not resolved "last one wins").

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_json::{Map, Value};

/// Decodes unpadded base64url; padding, `+`, `/` and non-canonical trailing
/// bits are refused.
pub(crate) fn b64url(segment: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(segment.as_bytes()).ok()
}

/// A JSON object with no duplicate keys.
pub(crate) struct Object(pub(crate) Map<String, Value>);

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Object;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Object, A::Error> {
                let mut map = Map::new();
                while let Some((key, value)) = access.next_entry::<String, Value>()? {
                    if map.contains_key(&key) {
                        return Err(de::Error::custom("duplicate key"));
                    }
                    map.insert(key, value);
                }
                Ok(Object(map))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// Decodes a base64url segment holding a JSON object.
pub(crate) fn object(segment: &str) -> Option<Map<String, Value>> {
    let bytes = b64url(segment)?;
    serde_json::from_slice::<Object>(&bytes).ok().map(|o| o.0)
}

/// A NumericDate (RFC 7519 §2): a non-negative number of seconds, fractions
/// dropped. `None` for anything else (strings, negatives, NaN cannot occur).
pub(crate) fn numeric_date(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1.0e15)
                .map(|f| f as u64)
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_base64url() {
        assert_eq!(b64url("YWJj").as_deref(), Some(&b"abc"[..]));
        assert_eq!(b64url("YWI").as_deref(), Some(&b"ab"[..]));
        assert!(b64url("YWI=").is_none(), "padding");
        assert!(b64url("YWJ").is_none(), "non-canonical trailing bits");
        assert!(b64url("a+b/").is_none(), "standard alphabet");
    }

    #[test]
    fn duplicate_keys_refused() {
        let seg = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","alg":"none"}"#);
        assert!(object(&seg).is_none());
        let seg = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#);
        assert!(object(&seg).is_some());
        let seg = URL_SAFE_NO_PAD.encode(br#"["alg"]"#);
        assert!(object(&seg).is_none());
    }

    #[test]
    fn numeric_dates() {
        assert_eq!(numeric_date(&serde_json::json!(5)), Some(5));
        assert_eq!(numeric_date(&serde_json::json!(5.9)), Some(5));
        assert_eq!(numeric_date(&serde_json::json!(-1)), None);
        assert_eq!(numeric_date(&serde_json::json!("5")), None);
        assert_eq!(numeric_date(&serde_json::json!(1e300)), None);
    }
}
