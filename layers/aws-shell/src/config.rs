//! Configuration from environment variables.
//!
//! Every reader names the variable in its error, so that a cold start that
//! fails says which variable to fix. An empty value counts as unset.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use cloudfront_sign::HashAlgorithm;
use thiserror::Error;

/// A variable that is missing or malformed; the message names it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("configuration: {var}: {reason}")]
pub struct ConfigError {
    /// The variable's name.
    pub var: String,
    /// What is wrong with it (never its value when that may be secret).
    pub reason: String,
}

impl ConfigError {
    /// An error about `var`.
    pub fn new(var: &str, reason: impl Into<String>) -> Self {
        ConfigError {
            var: var.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A snapshot of the environment (or any name → value map, for tests).
#[derive(Debug, Clone, Default)]
pub struct Env(HashMap<String, String>);

impl Env {
    /// The process environment (variables that are not UTF-8 are skipped).
    pub fn from_process() -> Self {
        Env(std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect())
    }

    /// An environment made of `pairs`.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Env(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }

    /// The value of `name`, trimmed; `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// The value of `name`, or an error naming it.
    pub fn required(&self, name: &str) -> Result<&str, ConfigError> {
        self.get(name)
            .ok_or_else(|| ConfigError::new(name, "is required but not set"))
    }

    /// `name` parsed as `T`, or `default` when unset.
    pub fn parse_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|e| ConfigError::new(name, format!("cannot parse {v:?}: {e}"))),
        }
    }

    /// `name` as a boolean (`true/false/1/0/yes/no`, any case), or `default`.
    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(v) => Err(ConfigError::new(name, format!("expected true or false, got {v:?}"))),
        }
    }

    /// `name` as a comma-separated list (items trimmed, blanks dropped); empty when unset.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Where the signing key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySourceConfig {
    /// Secrets Manager, by name or ARN (`SM_SECRET_NAME`).
    SecretsManager(String),
    /// A local file (`SIGNING_KEY_FILE`), for local runs.
    File(String),
}

/// The settings both functions share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonConfig {
    /// `CF_URL` if set (the secret's `cf_url` is the fallback, see [`BaseUrl::resolve`]).
    pub cf_url: Option<String>,
    /// `CF_KEY_ID` if set (the secret's `key_pair_id` is the fallback).
    pub key_pair_id: Option<String>,
    /// `SM_SECRET_NAME` or `SIGNING_KEY_FILE`.
    pub key_source: KeySourceConfig,
    /// `KEY_PREFIX`, the suffix of the credential copies (default `-PREFIX`).
    pub key_prefix: String,
    /// `HASH_ALGORITHM` (default `sha1`).
    pub hash: HashAlgorithm,
    /// `KEY_REFRESH_SECONDS` (default 3600).
    pub key_refresh: Duration,
    /// `CORS_ALLOWED_ORIGINS` (default none: no CORS headers).
    pub cors_allowed_origins: Vec<String>,
    /// `BIND_VIEWER_IP` (default false).
    pub bind_viewer_ip: bool,
}

impl CommonConfig {
    /// Reads the shared variables.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let key_source = match (env.get("SM_SECRET_NAME"), env.get("SIGNING_KEY_FILE")) {
            (Some(name), _) => KeySourceConfig::SecretsManager(name.to_owned()),
            (None, Some(path)) => KeySourceConfig::File(path.to_owned()),
            (None, None) => {
                return Err(ConfigError::new(
                    "SM_SECRET_NAME",
                    "is required (or SIGNING_KEY_FILE for local runs) but neither is set",
                ));
            }
        };
        let key_prefix = env.get("KEY_PREFIX").unwrap_or("-PREFIX").to_owned();
        if !key_prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ConfigError::new(
                "KEY_PREFIX",
                "only letters, digits, '-' and '_' are allowed",
            ));
        }
        if let Some(origin) = env
            .list("CORS_ALLOWED_ORIGINS")
            .iter()
            .find(|o| !(o.as_str() == "*" || o.starts_with("https://") || o.starts_with("http://")) || o.ends_with('/'))
        {
            return Err(ConfigError::new(
                "CORS_ALLOWED_ORIGINS",
                format!("{origin:?} is not an origin (scheme://host[:port], no trailing slash, or *)"),
            ));
        }
        let key_pair_id = env.get("CF_KEY_ID").map(str::to_owned);
        if let Some(id) = &key_pair_id {
            validate_key_pair_id(id).map_err(|r| ConfigError::new("CF_KEY_ID", r))?;
        }
        let cf_url = env.get("CF_URL").map(str::to_owned);
        if let Some(url) = &cf_url {
            BaseUrl::parse(url).map_err(|r| ConfigError::new("CF_URL", r))?;
        }
        let refresh: u64 = env.parse_or("KEY_REFRESH_SECONDS", 3600)?;
        Ok(CommonConfig {
            cf_url,
            key_pair_id,
            key_source,
            key_prefix,
            hash: env.parse_or("HASH_ALGORITHM", HashAlgorithm::Sha1)?,
            key_refresh: Duration::from_secs(refresh),
            cors_allowed_origins: env.list("CORS_ALLOWED_ORIGINS"),
            bind_viewer_ip: env.bool_or("BIND_VIEWER_IP", false)?,
        })
    }

    /// The key pair id: `CF_KEY_ID`, else the secret's `key_pair_id`.
    pub fn resolve_key_pair_id(&self, secret: Option<&str>) -> Result<String, ConfigError> {
        resolve_key_pair_id(self.key_pair_id.as_deref(), secret)
    }

    /// The public base URL: `CF_URL`, else the secret's `cf_url`.
    pub fn resolve_base_url(&self, secret: Option<&str>) -> Result<BaseUrl, ConfigError> {
        match (&self.cf_url, secret) {
            (Some(url), _) => BaseUrl::parse(url).map_err(|r| ConfigError::new("CF_URL", r)),
            (None, Some(url)) => {
                BaseUrl::parse(url).map_err(|r| ConfigError::new("CF_URL", format!("secret cf_url: {r}")))
            }
            (None, None) => Err(ConfigError::new(
                "CF_URL",
                "is required (or a cf_url field in the secret's JSON) but neither is set",
            )),
        }
    }
}

/// The key pair id: the secret's `key_pair_id` when it has one, else `env`
/// (`CF_KEY_ID`). The secret wins because the key and its id rotate together
/// in it, while the environment changes only with a redeploy.
pub fn resolve_key_pair_id(env: Option<&str>, secret: Option<&str>) -> Result<String, ConfigError> {
    match (env, secret) {
        (_, Some(id)) => {
            validate_key_pair_id(id).map_err(|r| ConfigError::new("CF_KEY_ID", format!("secret key_pair_id: {r}")))?;
            Ok(id.to_owned())
        }
        (Some(id), None) => Ok(id.to_owned()),
        (None, None) => Err(ConfigError::new(
            "CF_KEY_ID",
            "is required (or a key_pair_id field in the secret's JSON) but neither is set",
        )),
    }
}

fn validate_key_pair_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!(
            "{id:?} is not a key pair id (letters and digits, e.g. K2JCJMDEHXQW5F)"
        ));
    }
    Ok(())
}

/// The distribution's public base URL (`https://d111111abcdef8.cloudfront.net`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// Scheme and authority, no trailing slash.
    pub url: String,
    /// The host (authority without port), lowercase.
    pub host: String,
}

impl BaseUrl {
    /// Parses `scheme://host[:port]` with an optional trailing slash and no
    /// path, query or fragment.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim().trim_end_matches('/');
        let rest = trimmed
            .strip_prefix("https://")
            .or_else(|| trimmed.strip_prefix("http://"))
            .ok_or_else(|| format!("{text:?} is not an http(s) URL"))?;
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) || !rest.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("{text:?} must be scheme://host[:port] with no path"));
        }
        let host = match rest.rsplit_once(':') {
            Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => rest,
        };
        Ok(BaseUrl {
            url: trimmed.to_ascii_lowercase(),
            host: host.to_ascii_lowercase(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn defaults() {
        let c = CommonConfig::from_env(&env(&[("SM_SECRET_NAME", "arn:x")])).unwrap();
        assert_eq!(c.key_prefix, "-PREFIX");
        assert_eq!(c.hash, HashAlgorithm::Sha1);
        assert_eq!(c.key_refresh, Duration::from_secs(3600));
        assert!(c.cors_allowed_origins.is_empty());
        assert!(!c.bind_viewer_ip);
        assert_eq!(c.key_source, KeySourceConfig::SecretsManager("arn:x".into()));
    }

    #[test]
    fn errors_name_the_variable() {
        let e = CommonConfig::from_env(&env(&[])).unwrap_err();
        assert_eq!(e.var, "SM_SECRET_NAME");
        for (var, value) in [
            ("HASH_ALGORITHM", "md5"),
            ("BIND_VIEWER_IP", "maybe"),
            ("KEY_REFRESH_SECONDS", "-1"),
            ("CF_URL", "ftp://x"),
            ("CF_URL", "https://x/path"),
            ("CF_KEY_ID", "K 1"),
            ("KEY_PREFIX", "a/b"),
            ("CORS_ALLOWED_ORIGINS", "example.com"),
        ] {
            let e = CommonConfig::from_env(&env(&[("SIGNING_KEY_FILE", "k.pem"), (var, value)])).unwrap_err();
            assert_eq!(e.var, var, "{value}");
            assert!(e.to_string().contains(var));
        }
    }

    #[test]
    fn fallbacks_from_the_secret() {
        let c = CommonConfig::from_env(&env(&[("SIGNING_KEY_FILE", "k.pem")])).unwrap();
        assert_eq!(c.resolve_key_pair_id(Some("KABC")).unwrap(), "KABC");
        assert_eq!(c.resolve_key_pair_id(None).unwrap_err().var, "CF_KEY_ID");
        // The secret's id wins over CF_KEY_ID: the key and its id rotate together.
        let with_env = CommonConfig::from_env(&env(&[("SIGNING_KEY_FILE", "k.pem"), ("CF_KEY_ID", "KENV")])).unwrap();
        assert_eq!(with_env.resolve_key_pair_id(Some("KSECRET")).unwrap(), "KSECRET");
        assert_eq!(with_env.resolve_key_pair_id(None).unwrap(), "KENV");
        let base = c.resolve_base_url(Some("https://D1.cloudfront.net/")).unwrap();
        assert_eq!(base.url, "https://d1.cloudfront.net");
        assert_eq!(base.host, "d1.cloudfront.net");
        assert_eq!(c.resolve_base_url(None).unwrap_err().var, "CF_URL");
        let c =
            CommonConfig::from_env(&env(&[("SIGNING_KEY_FILE", "k"), ("CF_URL", "http://127.0.0.1:9000")])).unwrap();
        let base = c.resolve_base_url(Some("https://ignored")).unwrap();
        assert_eq!(
            (base.url.as_str(), base.host.as_str()),
            ("http://127.0.0.1:9000", "127.0.0.1")
        );
    }
}
