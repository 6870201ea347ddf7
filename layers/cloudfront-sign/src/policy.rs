//! Policy statements: the exact bytes CloudFront signs, and parsing of the
//! custom policies that arrive in a `Policy` parameter.

use std::fmt::Write;

use serde_json::{Map, Value};

use crate::{Cidr, Error};

/// One CloudFront policy statement: what may be fetched, when, and from where.
///
/// A canned policy is the special case with only `date_less_than`; it is never
/// sent, only signed (see [`canned_policy_json`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Policy {
    /// The URL pattern (`*` and `?` wildcards) the statement grants.
    pub resource: String,
    /// Epoch second from which the grant is no longer valid (`DateLessThan`).
    pub date_less_than: u64,
    /// Epoch second before which the grant is not yet valid (`DateGreaterThan`).
    pub date_greater_than: Option<u64>,
    /// The client addresses the grant is limited to (`IpAddress`/`AWS:SourceIp`).
    pub ip_address: Option<Cidr>,
}

impl Policy {
    /// A statement granting `resource` until `date_less_than`.
    pub fn new(resource: impl Into<String>, date_less_than: u64) -> Self {
        Policy {
            resource: resource.into(),
            date_less_than,
            date_greater_than: None,
            ip_address: None,
        }
    }

    /// The same statement, not valid until after `epoch`.
    pub fn not_before(mut self, epoch: u64) -> Self {
        self.date_greater_than = Some(epoch);
        self
    }

    /// The same statement, limited to clients in `block`.
    pub fn from_ip(mut self, block: Cidr) -> Self {
        self.ip_address = Some(block);
        self
    }

    /// The compact JSON that CloudFront signs for a custom policy.
    ///
    /// Key order follows botocore's `CloudFrontSigner.build_policy` (Resource,
    /// then DateLessThan, IpAddress, DateGreaterThan) so that our signatures
    /// equal those of the reference implementation byte for byte.
    pub fn to_json(&self) -> String {
        let mut json = String::with_capacity(self.resource.len() + 128);
        self.write_json(&mut json);
        json
    }

    /// The length of [`Policy::to_json`] in bytes, counted without building it.
    pub fn json_len(&self) -> usize {
        let mut counter = Counter(0);
        self.write_json(&mut counter);
        counter.0
    }

    fn write_json(&self, out: &mut impl Write) {
        let _ = out.write_str(r#"{"Statement":[{"Resource":"#);
        push_json_string(out, &self.resource);
        let _ = write!(
            out,
            r#","Condition":{{"DateLessThan":{{"AWS:EpochTime":{}}}"#,
            self.date_less_than
        );
        if let Some(block) = &self.ip_address {
            let _ = write!(out, r#","IpAddress":{{"AWS:SourceIp":"{block}"}}"#);
        }
        if let Some(start) = self.date_greater_than {
            let _ = write!(out, r#","DateGreaterThan":{{"AWS:EpochTime":{start}}}"#);
        }
        let _ = out.write_str("}}]}");
    }

    /// Parses a custom policy as CloudFront does: any whitespace and key
    /// order, exactly one statement, `DateLessThan` required,
    /// `DateGreaterThan` and `IpAddress` optional. A statement without
    /// `Resource` grants every URL, as CloudFront documents, and is read as `*`.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let bad = |why: &str| Error::Policy(why.to_owned());
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
        let root: Value = serde_json::from_str(text).map_err(|e| bad(&format!("not JSON ({e})")))?;
        let root = root.as_object().ok_or_else(|| bad("not a JSON object"))?;
        only_keys(root, &["Statement"], "policy")?;
        let statements = root
            .get("Statement")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("Statement missing or not a list"))?;
        let [statement] = statements.as_slice() else {
            return Err(bad(&format!("{} statements, exactly one expected", statements.len())));
        };
        let statement = statement.as_object().ok_or_else(|| bad("statement is not an object"))?;
        only_keys(statement, &["Resource", "Condition"], "statement")?;
        let resource = match statement.get("Resource") {
            None => "*".to_owned(),
            Some(Value::String(r)) => r.clone(),
            Some(_) => return Err(bad("Resource is not a string")),
        };
        let condition = statement
            .get("Condition")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("Condition missing or not an object"))?;
        only_keys(
            condition,
            &["DateLessThan", "DateGreaterThan", "IpAddress"],
            "Condition",
        )?;
        let date_less_than =
            epoch_time(condition.get("DateLessThan"), "DateLessThan")?.ok_or_else(|| bad("DateLessThan missing"))?;
        let date_greater_than = epoch_time(condition.get("DateGreaterThan"), "DateGreaterThan")?;
        let ip_address = match condition.get("IpAddress") {
            None => None,
            Some(value) => {
                let inner = value.as_object().ok_or_else(|| bad("IpAddress is not an object"))?;
                only_keys(inner, &["AWS:SourceIp"], "IpAddress")?;
                let text = inner
                    .get("AWS:SourceIp")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("IpAddress without an AWS:SourceIp string"))?;
                Some(text.parse::<Cidr>().map_err(|e| bad(&format!("IpAddress: {e}")))?)
            }
        };
        Ok(Policy {
            resource,
            date_less_than,
            date_greater_than,
            ip_address,
        })
    }

    /// Whether this statement grants no more time and no more addresses than
    /// `other` (the resource is compared separately, by the caller that knows
    /// which URLs it signs).
    pub fn window_and_ip_within(&self, other: &Policy) -> bool {
        let ends_no_later = self.date_less_than <= other.date_less_than;
        let starts_no_earlier = match (self.date_greater_than, other.date_greater_than) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(ours), Some(theirs)) => ours >= theirs,
        };
        let ip_no_wider = match (&self.ip_address, &other.ip_address) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(ours), Some(theirs)) => theirs.covers(ours),
        };
        ends_no_later && starts_no_earlier && ip_no_wider
    }
}

/// The exact bytes CloudFront signs for a canned policy: compact JSON in the
/// documented key order. The URL carries `Expires` instead of the policy.
pub fn canned_policy_json(resource: &str, expires: u64) -> String {
    Policy::new(resource, expires).to_json()
}

/// `expires` rounded down to a multiple of `granularity` seconds, so that
/// viewers who start within the same window get byte-identical policies and
/// so share signatures. Never later than `expires`; `expires` itself when
/// `granularity` is 0 (exact) or when the rounded time would not be after
/// `now` (a credential must not be dead on arrival).
///
/// ```
/// use cloudfront_sign::round_expiry;
/// assert_eq!(round_expiry(1_000_119, 60, 1_000_000), 1_000_080);
/// assert_eq!(round_expiry(1_000_119, 0, 1_000_000), 1_000_119);
/// assert_eq!(round_expiry(1_000_030, 60, 1_000_025), 1_000_030); // 1_000_020 would be past
/// ```
pub fn round_expiry(expires: u64, granularity: u64, now: u64) -> u64 {
    if granularity == 0 {
        return expires;
    }
    let rounded = expires - expires % granularity;
    if rounded > now { rounded } else { expires }
}

fn only_keys(object: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), Error> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(Error::Policy(format!(
            "unexpected key {:?} in {what}",
            unknown.chars().take(40).collect::<String>()
        ))),
        None => Ok(()),
    }
}

fn epoch_time(value: Option<&Value>, name: &str) -> Result<Option<u64>, Error> {
    let Some(value) = value else { return Ok(None) };
    let seconds = value
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("AWS:EpochTime"))
        .ok_or_else(|| Error::Policy(format!("{name} must be {{\"AWS:EpochTime\": seconds}}")))?;
    seconds
        .as_u64()
        .filter(|&s| s <= MAX_EPOCH)
        .map(Some)
        .ok_or_else(|| Error::Policy(format!("{name} is not a whole number of seconds in range")))
}

/// 9999-12-31T23:59:59Z: far beyond any real grant, small enough to never overflow arithmetic.
const MAX_EPOCH: u64 = 253_402_300_799;

/// Appends `text` as a JSON string literal the way Python's `json.dumps`
/// writes it (ASCII only, `\uXXXX` for the rest), so the bytes match botocore.
fn push_json_string(out: &mut impl Write, text: &str) {
    let _ = out.write_char('"');
    for c in text.chars() {
        let _ = match c {
            '"' => out.write_str("\\\""),
            '\\' => out.write_str("\\\\"),
            '\n' => out.write_str("\\n"),
            '\r' => out.write_str("\\r"),
            '\t' => out.write_str("\\t"),
            '\u{8}' => out.write_str("\\b"),
            '\u{c}' => out.write_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7f => {
                let mut units = [0u16; 2];
                c.encode_utf16(&mut units)
                    .iter()
                    .try_for_each(|unit| write!(out, "\\u{unit:04x}"))
            }
            c => out.write_char(c),
        };
    }
    let _ = out.write_char('"');
}

/// A [`Write`] sink that only counts bytes.
struct Counter(usize);

impl Write for Counter {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.0 += text.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_rounds_down_never_later_never_dead() {
        for (expires, granularity, now, want) in [
            (1_000_119, 60, 1_000_000, 1_000_080),
            (1_000_080, 60, 1_000_000, 1_000_080),
            (1_000_119, 1, 1_000_000, 1_000_119),
            (1_000_119, 0, 1_000_000, 1_000_119),
            (1_000_059, 60, 1_000_000, 1_000_020),
            (1_000_059, 60, 1_000_020, 1_000_059),
            (1_000_061, 60, 1_000_020, 1_000_061),
            (u64::MAX, 60, 0, u64::MAX - u64::MAX % 60),
        ] {
            let got = round_expiry(expires, granularity, now);
            assert_eq!(got, want, "{expires} {granularity} {now}");
            assert!(got <= expires && got > now);
        }
    }

    #[test]
    fn canned_policy_is_compact_in_documented_order() {
        assert_eq!(
            canned_policy_json("https://d111111abcdef8.cloudfront.net/a.ts", 1357034400),
            r#"{"Statement":[{"Resource":"https://d111111abcdef8.cloudfront.net/a.ts","Condition":{"DateLessThan":{"AWS:EpochTime":1357034400}}}]}"#
        );
    }

    #[test]
    fn custom_policy_orders_conditions_like_botocore() {
        let policy = Policy::new("https://h/*", 20)
            .not_before(10)
            .from_ip("192.0.2.0/24".parse().unwrap());
        assert_eq!(
            policy.to_json(),
            r#"{"Statement":[{"Resource":"https://h/*","Condition":{"DateLessThan":{"AWS:EpochTime":20},"IpAddress":{"AWS:SourceIp":"192.0.2.0/24"},"DateGreaterThan":{"AWS:EpochTime":10}}}]}"#
        );
    }

    #[test]
    fn json_strings_escape_like_python() {
        let policy = Policy::new("https://h/\"é\\\u{1}😀", 1);
        assert!(policy.to_json().contains(r#""https://h/\"\u00e9\\\u0001\ud83d\ude00""#));
        assert_eq!(policy.json_len(), policy.to_json().len());
        assert_eq!(Policy::parse(policy.to_json().as_bytes()).unwrap(), policy);
    }

    #[test]
    fn parse_accepts_any_whitespace_and_order() {
        let text = r#"
          { "Statement" : [ { "Condition" : { "IpAddress": {"AWS:SourceIp":"10.0.0.1"},
              "DateGreaterThan" : {"AWS:EpochTime": 5}, "DateLessThan": { "AWS:EpochTime" : 9 } },
            "Resource" : "https://h/x/*" } ] }"#;
        let policy = Policy::parse(text.as_bytes()).unwrap();
        assert_eq!(policy.resource, "https://h/x/*");
        assert_eq!(policy.date_less_than, 9);
        assert_eq!(policy.date_greater_than, Some(5));
        assert_eq!(policy.ip_address.unwrap().to_string(), "10.0.0.1/32");
    }

    #[test]
    fn parse_round_trips_every_shape() {
        for policy in [
            Policy::new("https://h/a", 100),
            Policy::new("https://h/*", 100).not_before(50),
            Policy::new("https://h/?", 100).from_ip("2001:db8::/48".parse().unwrap()),
            Policy::new("*", 100)
                .not_before(1)
                .from_ip("0.0.0.0/0".parse().unwrap()),
        ] {
            assert_eq!(Policy::parse(policy.to_json().as_bytes()).unwrap(), policy);
        }
    }

    #[test]
    fn missing_resource_means_everything() {
        let policy = Policy::parse(br#"{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":9}}}]}"#).unwrap();
        assert_eq!(policy.resource, "*");
    }

    #[test]
    fn parse_rejects_malformed_policies_with_a_reason() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "not JSON"),
            (b"\xff\xfe", "not UTF-8"),
            (b"[]", "not a JSON object"),
            (br#"{"Statement":{}}"#, "Statement missing"),
            (br#"{"Statement":[]}"#, "0 statements"),
            (
                br#"{"Statement":[{"Resource":"a","Condition":{"DateLessThan":{"AWS:EpochTime":1}}},{"Resource":"b","Condition":{"DateLessThan":{"AWS:EpochTime":1}}}]}"#,
                "2 statements",
            ),
            (br#"{"Statement":[{"Resource":"a","Condition":{}}]}"#, "DateLessThan missing"),
            (br#"{"Statement":[{"Resource":"a"}]}"#, "Condition missing"),
            (br#"{"Statement":[{"Resource":1,"Condition":{}}]}"#, "Resource is not a string"),
            (
                br#"{"Statement":[{"Resource":"a","Condition":{"DateLessThan":{"AWS:EpochTime":"9"}}}]}"#,
                "whole number",
            ),
            (
                br#"{"Statement":[{"Resource":"a","Condition":{"DateLessThan":{"AWS:EpochTime":-1}}}]}"#,
                "whole number",
            ),
            (
                br#"{"Statement":[{"Resource":"a","Condition":{"DateLessThan":{"AWS:EpochTime":1.5}}}]}"#,
                "whole number",
            ),
            (
                br#"{"Statement":[{"Resource":"a","Condition":{"DateLessThan":{"AWS:EpochTime":99999999999999999999999}}}]}"#,
                "whole number",
            ),
            (
                br#"{"Statement":[{"Resource":"a","Condition":{"DateLessThan":{"AWS:EpochTime":1},"IpAddress":{"AWS:SourceIp":"300.1.1.1"}}}]}"#,
                "IpAddress",
            ),
            (
                br#"{"Statement":[{"Resource":"a","Condition":{"DateLessThan":{"AWS:EpochTime":1},"Frobnicate":{}}}]}"#,
                "unexpected key \"Frobnicate\"",
            ),
            (br#"{"Statement":[{"Resource":"a","Condition":{"DateLessThan":{"Time":1}}}]}"#, "DateLessThan must be"),
        ];
        for (input, expected) in cases {
            let err = Policy::parse(input).unwrap_err().to_string();
            assert!(err.starts_with("invalid policy: "), "{err}");
            assert!(
                err.contains(expected),
                "{:?} gave {err:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn window_and_ip_within() {
        let incoming = Policy::new("*", 100)
            .not_before(10)
            .from_ip("10.0.0.0/8".parse().unwrap());
        assert!(incoming.window_and_ip_within(&incoming));
        let narrower = Policy::new("x", 90)
            .not_before(20)
            .from_ip("10.1.0.0/16".parse().unwrap());
        assert!(narrower.window_and_ip_within(&incoming));
        assert!(
            !Policy {
                date_less_than: 101,
                ..narrower.clone()
            }
            .window_and_ip_within(&incoming)
        );
        assert!(
            !Policy {
                date_greater_than: Some(9),
                ..narrower.clone()
            }
            .window_and_ip_within(&incoming)
        );
        assert!(
            !Policy {
                date_greater_than: None,
                ..narrower.clone()
            }
            .window_and_ip_within(&incoming)
        );
        assert!(
            !Policy {
                ip_address: None,
                ..narrower.clone()
            }
            .window_and_ip_within(&incoming)
        );
        assert!(
            !Policy {
                ip_address: Some("0.0.0.0/0".parse().unwrap()),
                ..narrower
            }
            .window_and_ip_within(&incoming)
        );
    }
}
