//! The verified viewer and the movies they may watch.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

use crate::AuthError;

/// The movies a viewer may watch, read from the entitlement claim.
#[derive(Clone, PartialEq, Eq)]
pub enum Entitlement {
    /// `"*"` (alone or in the list): every movie.
    All,
    /// These movie ids only (possibly none).
    Movies(BTreeSet<String>),
}

impl fmt::Debug for Entitlement {
    /// Counts only: claim values stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entitlement::All => f.write_str("All"),
            Entitlement::Movies(m) => write!(f, "Movies({} ids)", m.len()),
        }
    }
}

/// The most movie ids read from one claim.
pub const MAX_MOVIES: usize = 10_000;

impl Entitlement {
    /// Reads the claim: an array of strings (or integers), or one string
    /// with ids separated by spaces and/or commas. `"*"` means every movie.
    /// A missing claim grants nothing; a claim of another shape is refused
    /// (a malformed entitlement must not silently mean "nothing" or "all").
    pub(crate) fn from_claim(value: Option<&Value>) -> Result<Self, AuthError> {
        let mut ids = BTreeSet::new();
        let mut push = |id: &str| -> Result<(), AuthError> {
            if !id.is_empty() {
                if ids.len() >= MAX_MOVIES {
                    return Err(AuthError::Malformed("entitlement claim too long"));
                }
                ids.insert(id.to_owned());
            }
            Ok(())
        };
        match value {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                for id in s.split([' ', ',']) {
                    push(id)?;
                }
            }
            Some(Value::Array(items)) => {
                for item in items {
                    match item {
                        Value::String(s) => push(s.trim())?,
                        Value::Number(n) if n.is_u64() => push(&n.to_string())?,
                        _ => return Err(AuthError::Malformed("entitlement claim is not a list of ids")),
                    }
                }
            }
            Some(_) => return Err(AuthError::Malformed("entitlement claim is not a list of ids")),
        }
        Ok(if ids.contains("*") {
            Entitlement::All
        } else {
            Entitlement::Movies(ids)
        })
    }

    /// Whether `movie` is covered.
    pub fn covers(&self, movie: &str) -> bool {
        match self {
            Entitlement::All => true,
            Entitlement::Movies(ids) => ids.contains(movie),
        }
    }
}

/// A viewer whose token verified.
#[derive(Clone, PartialEq, Eq)]
pub struct Viewer {
    /// `sub`, when present (for the application; never logged by this crate).
    pub subject: Option<String>,
    /// The token's `exp`, seconds since the epoch.
    pub expires: u64,
    /// The movies the viewer may watch.
    pub entitlement: Entitlement,
}

impl fmt::Debug for Viewer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Viewer")
            .field("subject", &self.subject.as_ref().map(|_| "<redacted>"))
            .field("expires", &self.expires)
            .field("entitlement", &self.entitlement)
            .finish()
    }
}

impl Viewer {
    /// `Ok` when the viewer may watch `movie`, else [`AuthError::NotEntitled`] (403).
    pub fn authorize(&self, movie: &str) -> Result<(), AuthError> {
        if self.entitlement.covers(movie) {
            Ok(())
        } else {
            Err(AuthError::NotEntitled)
        }
    }

    pub(crate) fn from_claims(
        claims: &Map<String, Value>,
        movies_claim: &str,
        expires: u64,
    ) -> Result<Self, AuthError> {
        let subject = match claims.get("sub") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(AuthError::Malformed("sub is not a string")),
        };
        Ok(Viewer {
            subject,
            expires,
            entitlement: Entitlement::from_claim(claims.get(movies_claim))?,
        })
    }
}

/// Time checks shared by both token kinds: `exp` required and not passed,
/// `nbf` and `iat` (when present) not in the future, each with `leeway`.
/// Returns `exp`.
pub(crate) fn check_times(claims: &Map<String, Value>, now: u64, leeway: u64) -> Result<u64, AuthError> {
    let date = |name: &str| -> Result<Option<u64>, AuthError> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => crate::json::numeric_date(v)
                .map(Some)
                .ok_or(AuthError::Malformed("a time claim is not a number")),
        }
    };
    let exp = date("exp")?.ok_or(AuthError::NoExpiry)?;
    if now >= exp.saturating_add(leeway) {
        return Err(AuthError::Expired);
    }
    for name in ["nbf", "iat"] {
        if let Some(t) = date(name)?
            && t > now.saturating_add(leeway)
        {
            return Err(AuthError::NotYetValid);
        }
    }
    Ok(exp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entitlement_shapes() {
        let e = Entitlement::from_claim(Some(&json!(["1", "2", 3]))).unwrap();
        assert!(e.covers("1") && e.covers("3") && !e.covers("4"));
        let e = Entitlement::from_claim(Some(&json!("1 2,3, 4"))).unwrap();
        assert!(e.covers("2") && e.covers("4") && !e.covers(""));
        assert_eq!(Entitlement::from_claim(Some(&json!(["*"]))).unwrap(), Entitlement::All);
        assert_eq!(Entitlement::from_claim(Some(&json!("1 *"))).unwrap(), Entitlement::All);
        assert!(!Entitlement::from_claim(None).unwrap().covers("1"));
        assert!(Entitlement::from_claim(Some(&json!({"1": true}))).is_err());
        assert!(Entitlement::from_claim(Some(&json!([true]))).is_err());
        assert!(Entitlement::from_claim(Some(&json!(true))).is_err());
        assert_eq!(
            format!("{:?}", Entitlement::from_claim(Some(&json!(["secret-id"]))).unwrap()),
            "Movies(1 ids)"
        );
    }

    #[test]
    fn times() {
        let c = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(check_times(&c(json!({"exp": 100})), 99, 0), Ok(100));
        assert_eq!(check_times(&c(json!({"exp": 100})), 100, 0), Err(AuthError::Expired));
        assert_eq!(check_times(&c(json!({"exp": 100})), 159, 60), Ok(100));
        assert_eq!(check_times(&c(json!({"exp": 100})), 160, 60), Err(AuthError::Expired));
        assert_eq!(check_times(&c(json!({})), 1, 60), Err(AuthError::NoExpiry));
        assert_eq!(check_times(&c(json!({"exp": "100"})), 1, 60).unwrap_err().status(), 401);
        assert_eq!(
            check_times(&c(json!({"exp": 1000, "nbf": 161})), 100, 60),
            Err(AuthError::NotYetValid)
        );
        assert_eq!(check_times(&c(json!({"exp": 1000, "nbf": 160})), 100, 60), Ok(1000));
        assert_eq!(
            check_times(&c(json!({"exp": 1000, "iat": 500})), 100, 60),
            Err(AuthError::NotYetValid)
        );
        assert_eq!(
            check_times(&c(json!({"exp": u64::MAX})), u64::MAX - 1, 60),
            Ok(u64::MAX)
        );
    }
}
