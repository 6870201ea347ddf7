//! Every setting of both functions, read from the environment in this one
//! module, once, at cold start, into validated types.
//!
//! [`SETTINGS`] lists each variable with its default and meaning: the
//! parsers take their defaults from it (each default is written once), and
//! the README's configuration tables are generated from it
//! ([`markdown_table`]; a test keeps the README in step). A value is checked
//! here by the very rule the core applies ([`KeyPairId`], [`KeySuffix`],
//! [`playlist_rewrite::Config`]), so a setting that passes the cold start
//! cannot fail a request; a bad one fails the cold start naming the variable.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use cloudfront_sign::{HashAlgorithm, KeyPairId, KeySuffix, VerifyingKey};
use playlist_rewrite::{ChildCredential, Strategy};
use thiserror::Error;
use viewer_auth::{AuthSettings, JwksSource, JwtSettings, Mode, SecretLocation, TokenLocations};

/// Which function reads a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Both functions.
    Both,
    /// `signurl` only.
    Signurl,
    /// `rewriter` only.
    Rewriter,
    /// `rewriter`, and `signurl` when it checks that playlists exist.
    RewriterAndChecks,
}

/// The README's two tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Keys, URLs, playlists.
    Signing,
    /// Who may watch (`AUTH_*`, `JWT_*`).
    Auth,
}

/// One environment variable: its name, default and meaning.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// The variable's name.
    pub name: &'static str,
    /// The table it belongs to.
    pub section: Section,
    /// Who reads it.
    pub reader: Reader,
    /// The default value the parser uses when the variable is unset or blank.
    pub default: Option<&'static str>,
    /// How the README states the default when it is not just `default`.
    pub default_doc: Option<&'static str>,
    /// What it means.
    pub meaning: &'static str,
}

const fn setting(name: &'static str, section: Section, reader: Reader, default: Option<&'static str>) -> Setting {
    Setting {
        name,
        section,
        reader,
        default,
        default_doc: None,
        meaning: "",
    }
}

impl Setting {
    const fn doc(mut self, default_doc: &'static str, meaning: &'static str) -> Self {
        if !default_doc.is_empty() {
            self.default_doc = Some(default_doc);
        }
        self.meaning = meaning;
        self
    }
}

use Reader::{Both, Rewriter, RewriterAndChecks, Signurl};
use Section::{Auth, Signing};

macro_rules! settings {
    ($($id:ident = $name:literal, $section:expr, $reader:expr, $default:expr, $doc:literal, $meaning:literal;)*) => {
        $(
            #[doc = $meaning]
            pub const $id: Setting = setting($name, $section, $reader, $default).doc($doc, $meaning);
        )*
        /// Every setting, in the README's order.
        pub const SETTINGS: &[Setting] = &[$($id),*];
    };
}

settings! {
    CF_URL = "CF_URL", Signing, Both, None, "none (required unless the secret's JSON has `cf_url`)",
        "public base URL, `https://d111111abcdef8.cloudfront.net` (scheme + host[:port], no path; a default port is dropped)";
    CF_KEY_ID = "CF_KEY_ID", Signing, Both, None,
        "none (required unless the secret's JSON has `key_pair_id`, which wins: the key and its id rotate together)",
        "CloudFront public key id (`K...`) or legacy `APKA...`: 1 to 128 letters and digits";
    SM_SECRET_NAME = "SM_SECRET_NAME", Signing, Both, None, "none (required unless `SIGNING_KEY_FILE`)",
        "secret name or ARN: a PEM, base64 of a PEM, or JSON `{\"key_pair_id\",\"private_key\",\"cf_url\",\"public_keys\"}`";
    SIGNING_KEY_FILE = "SIGNING_KEY_FILE", Signing, Both, None, "",
        "local runs: a file with the secret in any of those formats";
    KMS_KEY_ID = "KMS_KEY_ID", Signing, Both, None, "unset (the key comes from the secret)",
        "sign with this AWS KMS key instead (id, ARN or alias; `SIGN_VERIFY`, `RSA_2048` or `ECC_NIST_P256`): no private key is ever read; needs `CF_KEY_ID` and `CF_URL`, excludes `SM_SECRET_NAME` and `SIGNING_KEY_FILE`; URLs carry `Hash-Algorithm=SHA256`";
    KMS_MAX_CONCURRENT_SIGNS = "KMS_MAX_CONCURRENT_SIGNS", Signing, Both, Some("16"), "",
        "KMS mode: `Sign` calls one request runs at a time (1 to 256), each retried with backoff; a throttle that outlasts the retries answers 503 `key_unavailable`";
    KEY_PREFIX = "KEY_PREFIX", Signing, Both, Some("-PREFIX"), "",
        "suffix of the credential copies that survive CloudFront: 1 to 64 of letters, digits, `-`, `_`, `.`";
    HASH_ALGORITHM = "HASH_ALGORITHM", Signing, Both, Some("sha1"), "", "`sha1` or `sha256`";
    KEY_REFRESH_SECONDS = "KEY_REFRESH_SECONDS", Signing, Both, Some("3600"), "",
        "re-read the secret after this long; a failed refresh keeps the old key";
    CORS_ALLOWED_ORIGINS = "CORS_ALLOWED_ORIGINS", Signing, Both, None, "empty (no CORS headers)",
        "comma list of origins or `*`; an allowed `Origin` is echoed, with `Vary: Origin`";
    BIND_VIEWER_IP = "BIND_VIEWER_IP", Signing, Signurl, Some("false"), "",
        "bind the URL to the viewer IP from `CloudFront-Viewer-Address` (400 if absent); the rewriter always keeps an incoming IP condition";
    AWS_LAMBDA_LOG_FORMAT = "AWS_LAMBDA_LOG_FORMAT", Signing, Both, None, "text",
        "`JSON` for JSON logs (Lambda sets it from `logging_config`)";
    AWS_LAMBDA_LOG_LEVEL = "AWS_LAMBDA_LOG_LEVEL", Signing, Both, None, "`INFO`",
        "`TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR` or `FATAL` (Lambda sets it from `logging_config`); below `INFO` only our own crates log more, never the runtime, the AWS SDK or the HTTP stack, which would print raw events and responses";
    RUST_LOG = "RUST_LOG", Signing, Both, None, "`INFO`",
        "the level when `AWS_LAMBDA_LOG_LEVEL` is unset: a level only, not per-target directives";
    AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL", Signing, Both, None, "",
        "local runs: S3/Secrets Manager endpoint (moto, s3s); S3 then goes path-style";
    AWS_ENDPOINT_URL_S3 = "AWS_ENDPOINT_URL_S3", Signing, Both, None, "",
        "local runs: an S3 endpoint of its own; S3 then goes path-style";
    PLAYLIST_KEY_TEMPLATE = "PLAYLIST_KEY_TEMPLATE", Signing, Signurl, Some("movies/movie_{movie}/index.m3u8"), "",
        "`{movie}` must be in the directory part; the policy resource is `CF_URL/<dir>/*`; movie ids match `[A-Za-z0-9_-]{1,64}`";
    URL_TTL_SECONDS = "URL_TTL_SECONDS", Signing, Signurl, Some("21600"), "",
        "URL lifetime (6 h, 1 s to 366 days): it must outlive the viewing session";
    EXPIRY_GRANULARITY_SECONDS = "EXPIRY_GRANULARITY_SECONDS", Signing, Both, Some("60"), "",
        "signurl rounds the expiry it issues down to a multiple of this (never to or before now), and the rewriter its outgoing `DateLessThan` (never later than the incoming), so that viewers starting within the same window (no IP binding, no skew) get byte-identical policies and share signatures; `0` for exact; 0 to 86400";
    NOT_BEFORE_SKEW_SECONDS = "NOT_BEFORE_SKEW_SECONDS", Signing, Signurl, Some("0"), "`0` (no `DateGreaterThan`)",
        "`DateGreaterThan = now - skew`";
    CHECK_PLAYLIST_EXISTS = "CHECK_PLAYLIST_EXISTS", Signing, Signurl, Some("false"), "",
        "check the playlist exists first; 404 if not";
    S3_BUCKET = "S3_BUCKET", Signing, RewriterAndChecks, None, "none (required)", "the media bucket";
    MEDIA_PREFIX = "MEDIA_PREFIX", Signing, Rewriter, Some("movies/"), "",
        "only `.m3u8` keys under it; paths `A-Z a-z 0-9 - _ . /`, no empty, `.` or `..` segment, at most 1024 bytes";
    REWRITE_MODE = "REWRITE_MODE", Signing, Rewriter, Some("resign"), "",
        "`resign` (one policy per directory), `per-uri` (a policy per URI) or `reuse` (the viewer's own credential, when it covers every URI)";
    MAX_PLAYLIST_BYTES = "MAX_PLAYLIST_BYTES", Signing, Rewriter, Some("16777216"), "",
        "larger objects are refused (502) unread; 1 to 1073741824";
    MAX_REWRITTEN_BYTES = "MAX_REWRITTEN_BYTES", Signing, Rewriter, Some("134217728"), "",
        "the largest rewritten playlist built (before compression), known before anything is signed; a larger one is refused (502); 1 to 1073741824";
    MAX_NEW_SIGNATURES = "MAX_NEW_SIGNATURES", Signing, Rewriter, Some("1000"), "",
        "new signatures one request may make (per-uri mode, large masters); past it the answer is 503 with `Retry-After: 1` and the retry goes on from the signatures cached so far. About 1,000 RSA-2048 or 20,000 ECDSA P-256 signatures fit in a few seconds at 1 GB; `0` for no limit";
    TRUSTED_PUBLIC_KEYS = "TRUSTED_PUBLIC_KEYS", Signing, Rewriter, None, "",
        "JSON `{\"K...\": \"<SPKI PEM>\"}`: extra verifying keys (the secret's `public_keys` and the previous signing key are trusted too)";
    EXTRA_HOSTS = "EXTRA_HOSTS", Signing, Rewriter, None, "",
        "comma list of `host[:port]` aliases whose URIs are signed too";
    RAW_CACHE_SECONDS = "RAW_CACHE_SECONDS", Signing, Rewriter, Some("60"), "",
        "a warm rewriter serves a multivariant playlist, or a media playlist with `EXT-X-ENDLIST` or `PLAYLIST-TYPE:VOD`, from memory this long, then revalidates it with a conditional GET (`If-None-Match`: a 304 sends no body); a live or `EVENT` playlist is kept at most half its target duration (half its part target with parts); 0 to 86400 (0: a conditional GET every time)";
    RAW_CACHE_BYTES = "RAW_CACHE_BYTES", Signing, Rewriter, Some("67108864"), "",
        "memory for those raw objects (never signatures: a key rotation keeps them), least recently used out first; a larger object is not kept; 0 (off) to 1073741824";
    ANSWER_CACHE_BYTES = "ANSWER_CACHE_BYTES", Signing, Rewriter, Some("33554432"), "",
        "memory for finished answers of a warm rewriter, looked up only after the request's credential is verified, by the object held in the raw cache (a refetched object misses), the exact verified credential, the signing key's generation (a rotation empties it) and the encoding; `Cache-Control` is computed per request; least recently used out first; 0 (off) to 1073741824";
    VERIFY_MEMO_BYTES = "VERIFY_MEMO_BYTES", Signing, Rewriter, Some("1048576"), "",
        "memory for credentials whose signature verified (exact policy bytes, signature, key pair id, hash; per signing key generation): a repeat skips only the signature check, its time window, IP and resource are checked every time; 0 (off) to 1073741824";
    BLOCKING_RELOAD_POLL_MS = "BLOCKING_RELOAD_POLL_MS", Signing, Rewriter, Some("100"), "",
        "low-latency HLS: while a blocking reload (`_HLS_msn`/`_HLS_part` on a playlist with `CAN-BLOCK-RELOAD=YES`) waits for its segment or part, the rewriter reads the playlist again this often, with a conditional GET (a 304 sends no body; each is one S3 GET request); it answers as soon as the part is there, 503 after three target durations (or before its invocation's deadline), 400 when more than two segments ahead; 10 to 5000";
    LOCAL_MEDIA_DIR = "LOCAL_MEDIA_DIR", Signing, Both, None, "",
        "local runs: read objects from this folder instead of S3";
    AUTH_MODE = "AUTH_MODE", Auth, Signurl, Some("none"), "", "`none`, `jwt` or `shared-secret`";
    JWT_ISSUER = "JWT_ISSUER", Auth, Signurl, None, "required with `jwt`", "exact `iss` (https, or http on loopback only)";
    JWT_AUDIENCE = "JWT_AUDIENCE", Auth, Signurl, None, "required with `jwt`", "a value `aud` must contain";
    JWT_JWKS_URL = "JWT_JWKS_URL", Auth, Signurl, None, "from discovery", "the issuer's JWKS (https, or http on loopback only)";
    JWT_ALGORITHMS = "JWT_ALGORITHMS", Auth, Signurl, Some("RS256,ES256"), "", "a subset of RS256, ES256";
    JWT_JWKS_CACHE_SECONDS = "JWT_JWKS_CACHE_SECONDS", Auth, Signurl, Some("3600"), "",
        "how long a JWKS is used (at most 604800)";
    JWT_JWKS_MIN_REFRESH_SECONDS = "JWT_JWKS_MIN_REFRESH_SECONDS", Auth, Signurl, Some("30"), "",
        "the shortest interval between refetches (at most 3600)";
    AUTH_MOVIES_CLAIM = "AUTH_MOVIES_CLAIM", Auth, Signurl, Some("movies"), "", "the entitlement claim";
    AUTH_LEEWAY_SECONDS = "AUTH_LEEWAY_SECONDS", Auth, Signurl, Some("60"), "",
        "clock tolerance for `exp`/`nbf`/`iat` (0 to 300)";
    AUTH_TOKEN_COOKIE = "AUTH_TOKEN_COOKIE", Auth, Signurl, None, "unset", "a cookie the token may travel in";
    AUTH_TOKEN_QUERY_PARAM = "AUTH_TOKEN_QUERY_PARAM", Auth, Signurl, None, "unset",
        "a query parameter the token may travel in (not `movie`)";
    AUTH_BIND_TOKEN_EXPIRY = "AUTH_BIND_TOKEN_EXPIRY", Auth, Signurl, None, "`true` when a mode is on",
        "the URL expires no later than the token";
    AUTH_MAX_TOKEN_BYTES = "AUTH_MAX_TOKEN_BYTES", Auth, Signurl, Some("8192"), "",
        "longer tokens are refused unparsed (at most 65536)";
    AUTH_SECRET_NAME = "AUTH_SECRET_NAME", Auth, Signurl, None, "required with `shared-secret`",
        "the HMAC key in Secrets Manager (name or ARN); at least 32 bytes";
    AUTH_SECRET_FILE = "AUTH_SECRET_FILE", Auth, Signurl, None, "",
        "local runs: the HMAC key in a file instead";
    AUTH_MAX_TOKEN_LIFETIME_SECONDS = "AUTH_MAX_TOKEN_LIFETIME_SECONDS", Auth, Signurl, Some("900"), "",
        "shared-secret: the longest `exp - now` accepted (1 to 86400)";
}

/// The README table of `section`, generated from [`SETTINGS`].
pub fn markdown_table(section: Section) -> String {
    let signing = section == Section::Signing;
    let mut out = String::from(if signing {
        "| variable | function | default | meaning |\n| --- | --- | --- | --- |\n"
    } else {
        "| variable | default | meaning |\n| --- | --- | --- |\n"
    });
    for s in SETTINGS.iter().filter(|s| s.section == section) {
        let default = match (s.default_doc, s.default) {
            (Some(doc), _) => doc.to_owned(),
            (None, Some(value)) => format!("`{value}`"),
            (None, None) => "none".to_owned(),
        };
        let reader = match s.reader {
            Reader::Both => "both",
            Reader::Signurl => "signurl",
            Reader::Rewriter => "rewriter",
            Reader::RewriterAndChecks => "rewriter; signurl when checking",
        };
        if signing {
            out.push_str(&format!("| `{}` | {reader} | {default} | {} |\n", s.name, s.meaning));
        } else {
            out.push_str(&format!("| `{}` | {default} | {} |\n", s.name, s.meaning));
        }
    }
    out
}

/// A variable that is missing or malformed; the message names it, never a
/// value that may be secret.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("configuration: {var}: {reason}")]
pub struct ConfigError {
    /// The variable's name.
    pub var: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    /// An error about `setting`.
    pub fn new(setting: &Setting, reason: impl Into<String>) -> Self {
        ConfigError {
            var: setting.name,
            reason: reason.into(),
        }
    }
}

/// A snapshot of the environment (or any name → value map, for tests).
/// Reads go through [`Setting`]s only, and are recorded, so that a test can
/// prove that every variable read is documented.
#[derive(Debug, Default)]
pub struct Env {
    vars: HashMap<String, String>,
    read: Mutex<Vec<&'static str>>,
}

impl Env {
    /// The process environment (variables that are not UTF-8 are skipped).
    pub fn from_process() -> Self {
        Self::from_pairs(std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))))
    }

    /// An environment made of `pairs`.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Env {
            vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
            read: Mutex::new(Vec::new()),
        }
    }

    /// The names read so far.
    pub fn names_read(&self) -> Vec<&'static str> {
        self.read.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The value set for `setting`, trimmed; `None` when unset or blank.
    pub fn explicit(&self, setting: &Setting) -> Option<&str> {
        self.read.lock().unwrap_or_else(|e| e.into_inner()).push(setting.name);
        self.vars.get(setting.name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// The value set for `setting`, else its default.
    pub fn get(&self, setting: &Setting) -> Option<&str> {
        self.explicit(setting).or(setting.default)
    }

    /// The value, or an error naming the variable.
    pub fn required(&self, setting: &Setting) -> Result<&str, ConfigError> {
        self.get(setting)
            .ok_or_else(|| ConfigError::new(setting, "is required but not set"))
    }

    /// The value parsed as `T` (the default when unset); `None` when unset
    /// without a default.
    pub fn parse<T: FromStr>(&self, setting: &Setting) -> Result<Option<T>, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        self.get(setting)
            .map(|v| {
                v.parse()
                    .map_err(|e| ConfigError::new(setting, format!("cannot parse {v:?}: {e}")))
            })
            .transpose()
    }

    /// The value (or its default) parsed as `T`; an error when neither is set.
    pub fn parse_required<T: FromStr>(&self, setting: &Setting) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        self.parse(setting)?
            .ok_or_else(|| ConfigError::new(setting, "is required but not set"))
    }

    /// A number with a default, within `range`.
    pub fn number(&self, setting: &Setting, range: std::ops::RangeInclusive<u64>) -> Result<u64, ConfigError> {
        let out_of_range = || {
            ConfigError::new(
                setting,
                format!("must be a whole number from {} to {}", range.start(), range.end()),
            )
        };
        let value = self.get(setting).ok_or_else(out_of_range)?;
        value
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(out_of_range)
    }

    /// A boolean (`true/false/1/0/yes/no/on/off`, any case); `None` when
    /// unset without a default.
    pub fn flag(&self, setting: &Setting) -> Result<Option<bool>, ConfigError> {
        match self.get(setting).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(None),
            Some("true" | "1" | "yes" | "on") => Ok(Some(true)),
            Some("false" | "0" | "no" | "off") => Ok(Some(false)),
            Some(v) => Err(ConfigError::new(setting, format!("expected true or false, got {v:?}"))),
        }
    }

    /// A comma-separated list (items trimmed, blanks dropped); empty when unset.
    pub fn list(&self, setting: &Setting) -> Vec<String> {
        self.get(setting)
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

/// How the functions log (`AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`, `AWS_LAMBDA_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// The most verbose level our own crates log at.
    pub level: tracing::level_filters::LevelFilter,
    /// One JSON object per line instead of text.
    pub json: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: tracing::level_filters::LevelFilter::INFO,
            json: false,
        }
    }
}

/// Reads the log settings; an unknown level is an error naming its variable.
pub fn log_settings(env: &Env) -> Result<LogSettings, ConfigError> {
    use tracing::level_filters::LevelFilter;
    let json = env
        .get(&AWS_LAMBDA_LOG_FORMAT)
        .is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let (setting, value) = match (env.get(&AWS_LAMBDA_LOG_LEVEL), env.get(&RUST_LOG)) {
        (Some(level), _) => (&AWS_LAMBDA_LOG_LEVEL, level),
        (None, Some(level)) => (&RUST_LOG, level),
        (None, None) => {
            return Ok(LogSettings {
                json,
                ..LogSettings::default()
            });
        }
    };
    let level = match value.to_ascii_uppercase().as_str() {
        "TRACE" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "INFO" => LevelFilter::INFO,
        "WARN" => LevelFilter::WARN,
        "ERROR" | "FATAL" => LevelFilter::ERROR,
        _ => {
            return Err(ConfigError::new(
                setting,
                format!("{value:?} is not a level (TRACE, DEBUG, INFO, WARN, ERROR or FATAL)"),
            ));
        }
    };
    Ok(LogSettings { level, json })
}

/// Where the signing key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySourceConfig {
    /// Secrets Manager, by name or ARN (`SM_SECRET_NAME`).
    SecretsManager(String),
    /// A local file (`SIGNING_KEY_FILE`), for local runs.
    File(PathBuf),
    /// A key in AWS KMS (`KMS_KEY_ID`, with `CF_KEY_ID`): no private key in the process.
    Kms {
        /// `KMS_KEY_ID`: id, ARN or alias.
        key_id: String,
        /// `CF_KEY_ID`.
        key_pair_id: KeyPairId,
    },
}

/// The allowed CORS origins (`CORS_ALLOWED_ORIGINS`), validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// Validates each origin: `scheme://host[:port]` with no trailing slash, or `*`.
    pub fn new(origins: Vec<String>) -> Result<Self, String> {
        if let Some(bad) = origins
            .iter()
            .find(|o| !(o.as_str() == "*" || o.starts_with("https://") || o.starts_with("http://")) || o.ends_with('/'))
        {
            return Err(format!(
                "{bad:?} is not an origin (scheme://host[:port], no trailing slash, or *)"
            ));
        }
        Ok(Cors { origins })
    }

    /// Whether any origin is configured (answers then carry `Vary: Origin`).
    pub fn is_configured(&self) -> bool {
        !self.origins.is_empty()
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`:
    /// `*` when `*` is configured, the origin itself when it is listed
    /// (case-insensitively), otherwise none.
    pub fn allow_origin(&self, origin: Option<&str>) -> Option<String> {
        if self.origins.iter().any(|a| a == "*") {
            return Some("*".to_owned());
        }
        let origin = origin?.trim();
        self.origins
            .iter()
            .any(|a| a.eq_ignore_ascii_case(origin))
            .then(|| origin.to_owned())
    }
}

/// The settings both functions share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonConfig {
    /// `CF_URL` if set (the secret's `cf_url` is the fallback, see [`CommonConfig::base_url`]).
    pub cf_url: Option<BaseUrl>,
    /// `CF_KEY_ID` if set; the secret's `key_pair_id` wins over it (see [`resolve_key_pair_id`]).
    pub key_pair_id: Option<KeyPairId>,
    /// `SM_SECRET_NAME` or `SIGNING_KEY_FILE`.
    pub key_source: KeySourceConfig,
    /// `KEY_PREFIX`: the suffix of the credential copies.
    pub key_suffix: KeySuffix,
    /// `HASH_ALGORITHM`.
    pub hash: HashAlgorithm,
    /// `KEY_REFRESH_SECONDS`.
    pub key_refresh: Duration,
    /// `KMS_MAX_CONCURRENT_SIGNS`.
    pub kms_max_concurrent: usize,
    /// `EXPIRY_GRANULARITY_SECONDS` (0: exact), see [`cloudfront_sign::round_expiry`].
    pub expiry_granularity: u64,
    /// `CORS_ALLOWED_ORIGINS`.
    pub cors: Cors,
    /// `BIND_VIEWER_IP`.
    pub bind_viewer_ip: bool,
    /// `LOCAL_MEDIA_DIR`: objects from a folder instead of S3 (local runs).
    pub local_media_dir: Option<PathBuf>,
    /// Whether an endpoint override (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`)
    /// is set: a local S3 has no per-bucket host names, so S3 goes path-style.
    pub s3_path_style: bool,
}

impl CommonConfig {
    /// Reads the shared variables.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let key_source = match (
            env.get(&KMS_KEY_ID),
            env.get(&SM_SECRET_NAME),
            env.get(&SIGNING_KEY_FILE),
        ) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(ConfigError::new(
                    &KMS_KEY_ID,
                    "excludes SM_SECRET_NAME and SIGNING_KEY_FILE: the key is in KMS or in the secret, not both",
                ));
            }
            (Some(id), None, None) => {
                let key_pair_id = env
                    .get(&CF_KEY_ID)
                    .ok_or_else(|| ConfigError::new(&CF_KEY_ID, "is required with KMS_KEY_ID"))?;
                KeySourceConfig::Kms {
                    key_id: id.to_owned(),
                    key_pair_id: KeyPairId::new(key_pair_id)
                        .map_err(|e| ConfigError::new(&CF_KEY_ID, e.to_string()))?,
                }
            }
            (None, Some(name), _) => KeySourceConfig::SecretsManager(name.to_owned()),
            (None, None, Some(path)) => KeySourceConfig::File(path.into()),
            (None, None, None) => {
                return Err(ConfigError::new(
                    &SM_SECRET_NAME,
                    "is required (or SIGNING_KEY_FILE for local runs) but neither is set",
                ));
            }
        };
        let key_suffix =
            KeySuffix::new(env.required(&KEY_PREFIX)?).map_err(|e| ConfigError::new(&KEY_PREFIX, e.to_string()))?;
        let key_pair_id = env
            .get(&CF_KEY_ID)
            .map(|id| KeyPairId::new(id).map_err(|e| ConfigError::new(&CF_KEY_ID, e.to_string())))
            .transpose()?;
        let cf_url = env
            .get(&CF_URL)
            .map(|url| BaseUrl::parse(url).map_err(|r| ConfigError::new(&CF_URL, r)))
            .transpose()?;
        let mut hash: HashAlgorithm = env.parse_required(&HASH_ALGORITHM)?;
        if let KeySourceConfig::Kms { .. } = key_source {
            // KMS signs SHA-256 digests only; the secret's key_pair_id and
            // cf_url do not exist in this mode.
            if env.explicit(&HASH_ALGORITHM).is_some() && hash != HashAlgorithm::Sha256 {
                return Err(ConfigError::new(
                    &HASH_ALGORITHM,
                    "must be sha256 (or unset) with KMS_KEY_ID",
                ));
            }
            hash = HashAlgorithm::Sha256;
            env.required(&CF_URL)
                .map_err(|_| ConfigError::new(&CF_URL, "is required with KMS_KEY_ID"))?;
        }
        Ok(CommonConfig {
            cf_url,
            key_pair_id,
            key_source,
            key_suffix,
            hash,
            key_refresh: Duration::from_secs(env.number(&KEY_REFRESH_SECONDS, 0..=31_622_400)?),
            kms_max_concurrent: usize::try_from(env.number(&KMS_MAX_CONCURRENT_SIGNS, 1..=256)?).unwrap_or(16),
            expiry_granularity: env.number(&EXPIRY_GRANULARITY_SECONDS, 0..=86_400)?,
            cors: Cors::new(env.list(&CORS_ALLOWED_ORIGINS)).map_err(|r| ConfigError::new(&CORS_ALLOWED_ORIGINS, r))?,
            bind_viewer_ip: env.flag(&BIND_VIEWER_IP)?.unwrap_or(false),
            local_media_dir: env.get(&LOCAL_MEDIA_DIR).map(PathBuf::from),
            s3_path_style: env.get(&AWS_ENDPOINT_URL).is_some() || env.get(&AWS_ENDPOINT_URL_S3).is_some(),
        })
    }

    /// The public base URL: `CF_URL`, else the secret's `cf_url`.
    pub fn base_url(&self, secret_cf_url: Option<&str>) -> Result<BaseUrl, ConfigError> {
        match (&self.cf_url, secret_cf_url) {
            (Some(url), _) => Ok(url.clone()),
            (None, Some(url)) => {
                BaseUrl::parse(url).map_err(|r| ConfigError::new(&CF_URL, format!("secret cf_url: {r}")))
            }
            (None, None) => Err(ConfigError::new(
                &CF_URL,
                "is required (or a cf_url field in the secret's JSON) but neither is set",
            )),
        }
    }
}

/// The key pair id: the secret's `key_pair_id` when it has one, else
/// `CF_KEY_ID`. The secret wins because the key and its id rotate together
/// in it, while the environment changes only with a redeploy.
pub fn resolve_key_pair_id(env: Option<&KeyPairId>, secret: Option<&str>) -> Result<KeyPairId, ConfigError> {
    match (env, secret) {
        (_, Some(id)) => {
            KeyPairId::new(id).map_err(|e| ConfigError::new(&CF_KEY_ID, format!("secret key_pair_id: {e}")))
        }
        (Some(id), None) => Ok(id.clone()),
        (None, None) => Err(ConfigError::new(
            &CF_KEY_ID,
            "is required (or a key_pair_id field in the secret's JSON) but neither is set",
        )),
    }
}

/// The distribution's public base URL (`https://d111111abcdef8.cloudfront.net`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// Scheme and authority, lowercase, no default port, no trailing slash.
    pub url: String,
    /// The authority (`host` or `host:port`), as signed URLs carry it.
    pub authority: String,
}

impl BaseUrl {
    /// Parses `scheme://host[:port]` with an optional trailing slash and no
    /// path, query or fragment. The default port of the scheme (`:443`,
    /// `:80`) is dropped: CloudFront and players write URLs without it, and
    /// a grant must name the URL they will present.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim().trim_end_matches('/').to_ascii_lowercase();
        let (scheme, rest) = trimmed
            .split_once("://")
            .filter(|(s, _)| matches!(*s, "https" | "http"))
            .ok_or_else(|| format!("{text:?} is not an http(s) URL"))?;
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) || !rest.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("{text:?} must be scheme://host[:port] with no path"));
        }
        let (host, port) = split_host_port(rest).ok_or_else(|| format!("{text:?} has no host"))?;
        let authority = match port {
            None => host.to_owned(),
            Some(port) => {
                let port: u16 = port
                    .parse()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("{text:?} has an invalid port"))?;
                let default = if scheme == "https" { 443 } else { 80 };
                if port == default {
                    host.to_owned()
                } else {
                    format!("{host}:{port}")
                }
            }
        };
        Ok(BaseUrl {
            url: format!("{scheme}://{authority}"),
            authority,
        })
    }
}

/// `host` and the optional port of `host[:port]` or `[v6]:port`.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if authority.starts_with('[') {
        let (host, after) = authority.split_at(authority.find(']')? + 1);
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    (!host.is_empty()).then_some((host, port))
}

/// The playlist key template (`PLAYLIST_KEY_TEMPLATE`), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistTemplate(String);

impl PlaylistTemplate {
    /// Validates a template: a relative key ending in `.m3u8`, with `{movie}`
    /// in its directory part (so that the policy's `dir/*` covers one movie
    /// only), no `..`, `.` or empty segments.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (dir, file) = text
            .rsplit_once('/')
            .ok_or("the template needs a directory (dir/{movie}/file.m3u8)")?;
        if !dir.contains("{movie}") {
            return Err("{movie} must appear in the directory part, so that the policy covers one movie".into());
        }
        if !file.ends_with(".m3u8") {
            return Err("the template must name a .m3u8 file".into());
        }
        if has_bad_segment(text) {
            return Err("no empty, '.' or '..' segments and no leading '/'".into());
        }
        let probe = text.replace("{movie}", "x");
        if probe.contains(['{', '}']) || !is_key_text(&probe) {
            return Err("only {movie} and the characters A-Z a-z 0-9 - _ . / are allowed".into());
        }
        Ok(PlaylistTemplate(text.to_owned()))
    }

    /// The S3 key of `movie`'s playlist (`movie` already validated).
    pub fn key(&self, movie: &str) -> String {
        self.0.replace("{movie}", movie)
    }

    /// The directory of `movie`'s playlist, without a trailing slash.
    pub fn directory(&self, movie: &str) -> String {
        let key = self.key(movie);
        key.rsplit_once('/').map_or(key.clone(), |(d, _)| d.to_owned())
    }
}

/// Whether every byte of `s` is one of `A-Z a-z 0-9 - _ . /` (the documented
/// set for object keys and paths).
pub fn is_key_text(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
}

/// Whether a `/`-separated key has an empty, `.` or `..` segment.
pub fn has_bad_segment(s: &str) -> bool {
    s.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..")
}

/// `signurl`'s settings.
#[derive(Debug, Clone)]
pub struct SignurlConfig {
    /// The shared settings.
    pub common: CommonConfig,
    /// `PLAYLIST_KEY_TEMPLATE`.
    pub template: PlaylistTemplate,
    /// `URL_TTL_SECONDS`.
    pub ttl_seconds: u64,
    /// `NOT_BEFORE_SKEW_SECONDS` (`None` for 0: no `DateGreaterThan`).
    pub not_before_skew: Option<u64>,
    /// `S3_BUCKET` when `CHECK_PLAYLIST_EXISTS` is on: the existence check.
    pub check_bucket: Option<String>,
    /// `AUTH_MODE` and the other `AUTH_*` / `JWT_*` settings.
    pub auth: AuthSettings,
}

impl SignurlConfig {
    /// Reads the settings; errors name the variable.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let common = CommonConfig::from_env(env)?;
        let template = PlaylistTemplate::parse(env.required(&PLAYLIST_KEY_TEMPLATE)?)
            .map_err(|r| ConfigError::new(&PLAYLIST_KEY_TEMPLATE, r))?;
        let ttl_seconds = env.number(&URL_TTL_SECONDS, 1..=366 * 86_400)?;
        let skew = env.number(&NOT_BEFORE_SKEW_SECONDS, 0..=366 * 86_400)?;
        let check_bucket = match env.flag(&CHECK_PLAYLIST_EXISTS)?.unwrap_or(false) {
            false => None,
            true => Some(
                env.get(&S3_BUCKET)
                    .or(common.local_media_dir.as_ref().map(|_| ""))
                    .ok_or_else(|| ConfigError::new(&S3_BUCKET, "is required when CHECK_PLAYLIST_EXISTS=true"))?
                    .to_owned(),
            ),
        };
        Ok(SignurlConfig {
            common,
            template,
            ttl_seconds,
            not_before_skew: (skew > 0).then_some(skew),
            check_bucket,
            auth: auth_settings(env)?,
        })
    }
}

/// The object key prefix the rewriter serves (`MEDIA_PREFIX`), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPrefix(String);

impl MediaPrefix {
    /// A relative key prefix ending in `/`, of `A-Z a-z 0-9 - _ . /`, with no
    /// empty, `.` or `..` segment.
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.ends_with('/')
            || text.starts_with('/')
            || !is_key_text(text)
            || has_bad_segment(text.trim_end_matches('/'))
        {
            return Err("must be a relative key prefix ending in '/' (A-Z a-z 0-9 - _ . /), e.g. movies/".into());
        }
        Ok(MediaPrefix(text.to_owned()))
    }

    /// The prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `rewriter`'s settings.
#[derive(Debug, Clone)]
pub struct RewriterConfig {
    /// The shared settings.
    pub common: CommonConfig,
    /// `S3_BUCKET` (empty with `LOCAL_MEDIA_DIR`).
    pub bucket: String,
    /// `MEDIA_PREFIX`.
    pub media_prefix: MediaPrefix,
    /// `REWRITE_MODE`.
    pub strategy: Strategy,
    /// `MAX_PLAYLIST_BYTES`.
    pub max_playlist_bytes: u64,
    /// `MAX_REWRITTEN_BYTES`.
    pub max_rewritten_bytes: u64,
    /// `MAX_NEW_SIGNATURES` (`None` for 0: no limit).
    pub max_new_signatures: Option<u64>,
    /// `TRUSTED_PUBLIC_KEYS`.
    pub trusted_public_keys: Vec<(KeyPairId, VerifyingKey)>,
    /// `EXTRA_HOSTS`, as given (validated by [`RewriterConfig::playlist_config`]).
    pub extra_hosts: Vec<String>,
    /// `RAW_CACHE_SECONDS`: how long a static playlist is served from memory.
    pub raw_cache_ttl: Duration,
    /// `RAW_CACHE_BYTES`: the raw cache's budget (0: off).
    pub raw_cache_bytes: u64,
    /// `ANSWER_CACHE_BYTES`: the answer cache's budget (0: off).
    pub answer_cache_bytes: u64,
    /// `VERIFY_MEMO_BYTES`: the verification memo's budget (0: off).
    pub verify_memo_bytes: u64,
    /// `BLOCKING_RELOAD_POLL_MS`: how often a blocking reload reads the playlist again.
    pub blocking_reload_poll: Duration,
}

impl RewriterConfig {
    /// Reads the settings; errors name the variable. The hosts are checked
    /// by the playlist core's own rule here already, against a placeholder
    /// distribution, so that a bad `EXTRA_HOSTS` fails the cold start even
    /// when the real base URL comes from the secret later.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let common = CommonConfig::from_env(env)?;
        let bucket = match (env.get(&S3_BUCKET), &common.local_media_dir) {
            (Some(b), _) => b.to_owned(),
            (None, Some(_)) => String::new(),
            (None, None) => return Err(ConfigError::new(&S3_BUCKET, "is required but not set")),
        };
        let media_prefix =
            MediaPrefix::parse(env.required(&MEDIA_PREFIX)?).map_err(|r| ConfigError::new(&MEDIA_PREFIX, r))?;
        let strategy: Strategy = env.parse_required(&REWRITE_MODE)?;
        let max_playlist_bytes = env.number(&MAX_PLAYLIST_BYTES, 1..=1 << 30)?;
        let max_rewritten_bytes = env.number(&MAX_REWRITTEN_BYTES, 1..=1 << 30)?;
        let max_new_signatures = env.number(&MAX_NEW_SIGNATURES, 0..=u64::from(u32::MAX))?;
        let trusted_public_keys = match env.get(&TRUSTED_PUBLIC_KEYS) {
            None => Vec::new(),
            Some(json) => parse_trusted_keys(json).map_err(|r| ConfigError::new(&TRUSTED_PUBLIC_KEYS, r))?,
        };
        let config = RewriterConfig {
            common,
            bucket,
            media_prefix,
            strategy,
            max_playlist_bytes,
            max_rewritten_bytes,
            max_new_signatures: (max_new_signatures > 0).then_some(max_new_signatures),
            trusted_public_keys,
            extra_hosts: env.list(&EXTRA_HOSTS),
            raw_cache_ttl: Duration::from_secs(env.number(&RAW_CACHE_SECONDS, 0..=86_400)?),
            raw_cache_bytes: env.number(&RAW_CACHE_BYTES, 0..=1 << 30)?,
            answer_cache_bytes: env.number(&ANSWER_CACHE_BYTES, 0..=1 << 30)?,
            verify_memo_bytes: env.number(&VERIFY_MEMO_BYTES, 0..=1 << 30)?,
            blocking_reload_poll: Duration::from_millis(env.number(&BLOCKING_RELOAD_POLL_MS, 10..=5_000)?),
        };
        let placeholder = BaseUrl::parse("https://distribution.invalid").map_err(|r| ConfigError::new(&CF_URL, r))?;
        config.playlist_config(&placeholder)?;
        Ok(config)
    }

    /// The playlist core's configuration for the distribution at `base`:
    /// its host first, then the `EXTRA_HOSTS` aliases; the suffix, the size
    /// limits, the signing budget, the strategy.
    pub fn playlist_config(&self, base: &BaseUrl) -> Result<playlist_rewrite::Config, ConfigError> {
        let mut hosts = vec![base.authority.clone()];
        hosts.extend(self.extra_hosts.iter().cloned());
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let mut builder = playlist_rewrite::Config::builder()
            .hosts(hosts)
            .key_suffix(self.common.key_suffix.clone())
            .max_bytes(size(self.max_playlist_bytes))
            .max_output_bytes(size(self.max_rewritten_bytes));
        if let Some(budget) = self.max_new_signatures {
            builder = builder.max_new_signatures(size(budget));
        }
        builder
            .strategy(self.strategy)
            // A child playlist carries the viewer's own (verified) credential
            // as its -PREFIX copy: no new grant, and the child's own URIs
            // outside its directory (../keys/k.key) can still be signed at
            // the next hop.
            .child_credential(ChildCredential::Incoming)
            .build()
            .map_err(|e| ConfigError::new(&EXTRA_HOSTS, e.to_string()))
    }
}

/// Parses `{"K...": "-----BEGIN PUBLIC KEY-----..."}`.
pub fn parse_trusted_keys(json: &str) -> Result<Vec<(KeyPairId, VerifyingKey)>, String> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
        .map_err(|e| format!("expected a JSON object key_pair_id -> public key PEM ({e})"))?;
    map.into_iter()
        .map(|(id, pem)| {
            let id = KeyPairId::new(id).map_err(|e| e.to_string())?;
            let pem = pem
                .as_str()
                .ok_or_else(|| format!("{id}: the value is not a PEM string"))?;
            let key = VerifyingKey::from_pem(pem).map_err(|e| format!("{id}: {e}"))?;
            Ok((id, key))
        })
        .collect()
}

/// Reads the viewer-authorisation settings (`AUTH_*`, `JWT_*`).
pub fn auth_settings(env: &Env) -> Result<AuthSettings, ConfigError> {
    let name_ok = |v: &str| v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let cookie = env.get(&AUTH_TOKEN_COOKIE).map(str::to_owned);
    if cookie.as_deref().is_some_and(|c| !name_ok(c)) {
        return Err(ConfigError::new(&AUTH_TOKEN_COOKIE, "only A-Z a-z 0-9 _ - are allowed"));
    }
    let query_param = env.get(&AUTH_TOKEN_QUERY_PARAM).map(str::to_owned);
    if query_param.as_deref().is_some_and(|q| !name_ok(q) || q == "movie") {
        return Err(ConfigError::new(
            &AUTH_TOKEN_QUERY_PARAM,
            "only A-Z a-z 0-9 _ - are allowed, and not \"movie\"",
        ));
    }
    let mode = match env.required(&AUTH_MODE)? {
        "none" => Mode::None,
        "jwt" => Mode::Jwt(jwt_settings(env)?),
        "shared-secret" => {
            let secret = match (env.get(&AUTH_SECRET_NAME), env.get(&AUTH_SECRET_FILE)) {
                (Some(name), _) => SecretLocation::SecretsManager(name.to_owned()),
                (None, Some(path)) => SecretLocation::File(path.to_owned()),
                (None, None) => {
                    return Err(ConfigError::new(
                        &AUTH_SECRET_NAME,
                        "is required with AUTH_MODE=shared-secret",
                    ));
                }
            };
            let max_lifetime = env.number(&AUTH_MAX_TOKEN_LIFETIME_SECONDS, 1..=86_400)?;
            Mode::SharedSecret { secret, max_lifetime }
        }
        _ => return Err(ConfigError::new(&AUTH_MODE, "must be none, jwt or shared-secret")),
    };
    let bind_token_expiry = env.flag(&AUTH_BIND_TOKEN_EXPIRY)?.unwrap_or(mode != Mode::None);
    Ok(AuthSettings {
        mode,
        movies_claim: env.required(&AUTH_MOVIES_CLAIM)?.to_owned(),
        leeway: env.number(&AUTH_LEEWAY_SECONDS, 0..=300)?,
        locations: TokenLocations { cookie, query_param },
        bind_token_expiry,
        max_token_bytes: env.number(&AUTH_MAX_TOKEN_BYTES, 1..=65_536)? as usize,
    })
}

fn jwt_settings(env: &Env) -> Result<JwtSettings, ConfigError> {
    let check_url = |setting: &Setting, url: &str| {
        if viewer_auth::is_allowed_url(url) {
            Ok(())
        } else {
            Err(ConfigError::new(
                setting,
                "must be an https:// URL (http:// only for 127.0.0.1, [::1] or localhost)",
            ))
        }
    };
    let required = |setting: &Setting| {
        env.get(setting)
            .map(str::to_owned)
            .ok_or_else(|| ConfigError::new(setting, "is required with AUTH_MODE=jwt"))
    };
    let issuer = required(&JWT_ISSUER)?;
    check_url(&JWT_ISSUER, &issuer)?;
    let audience = required(&JWT_AUDIENCE)?;
    let jwks = match env.get(&JWT_JWKS_URL) {
        Some(url) => {
            check_url(&JWT_JWKS_URL, url)?;
            JwksSource::Url(url.to_owned())
        }
        None => JwksSource::Discovery(format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        )),
    };
    let mut algorithms = Vec::new();
    for name in env.list(&JWT_ALGORITHMS) {
        let alg = viewer_auth::Algorithm::from_name(&name)
            .ok_or_else(|| ConfigError::new(&JWT_ALGORITHMS, "only RS256 and ES256 are supported"))?;
        if !algorithms.contains(&alg) {
            algorithms.push(alg);
        }
    }
    if algorithms.is_empty() {
        return Err(ConfigError::new(&JWT_ALGORITHMS, "must name RS256, ES256 or both"));
    }
    Ok(JwtSettings {
        issuer,
        audience,
        jwks,
        algorithms,
        jwks_cache_seconds: env.number(&JWT_JWKS_CACHE_SECONDS, 0..=7 * 86_400)?,
        jwks_min_refresh_seconds: env.number(&JWT_JWKS_MIN_REFRESH_SECONDS, 0..=3600)?,
    })
}

#[cfg(test)]
mod tests;
