//! What the operator decides once per process: a [`Config`], validated when
//! it is built, by the rules the rewrite relies on, and never checked again.

use cloudfront_sign::KeySuffix;

use crate::ConfigError;
use crate::strategy::{ChildCredential, Strategy};
use crate::uri::Hosts;

/// The largest body accepted by default: 4 MiB.
const DEFAULT_MAX_BYTES: usize = 4 << 20;

/// The largest output built by default: 128 MiB.
const DEFAULT_MAX_OUTPUT_BYTES: usize = 128 << 20;

/// The rewrite's settings, finished and valid: [`rewrite`](crate::rewrite)
/// takes one and has nothing left to check.
///
/// Built with [`Config::builder`] (whose [`build`](ConfigBuilder::build) is
/// the only place a setting can be refused), or [`Config::default`].
///
/// ```
/// use cloudfront_sign::KeySuffix;
/// use playlist_rewrite::{Config, ConfigError, Strategy};
///
/// let config = Config::builder()
///     .hosts(["D111111ABCDEF8.cloudfront.net:443", "media.example.com"])
///     .key_suffix("-PREFIX".parse::<KeySuffix>()?)
///     .strategy(Strategy::PerUri)
///     .build()?;
/// assert_eq!(config.hosts().collect::<Vec<_>>(), ["d111111abcdef8.cloudfront.net", "media.example.com"]);
/// assert_eq!(config.max_bytes(), 4 << 20);
///
/// let refused = Config::builder().hosts(["cdn.example.com/movies"]).build();
/// assert_eq!(refused, Err(ConfigError::Host("cdn.example.com/movies".into())));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    hosts: Hosts,
    key_suffix: KeySuffix,
    max_bytes: usize,
    max_output_bytes: usize,
    max_new_signatures: Option<usize>,
    strategy: Strategy,
    child_credential: ChildCredential,
}

impl Default for Config {
    /// Hosts: the playlist's own; suffix `-PREFIX`; 4 MiB in, 128 MiB out;
    /// no signing budget; [`Strategy::Resign`]; [`ChildCredential::Copy`].
    /// The same as `Config::builder().build()`.
    fn default() -> Self {
        Config {
            hosts: Hosts::default(),
            key_suffix: KeySuffix::default(),
            max_bytes: DEFAULT_MAX_BYTES,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            max_new_signatures: None,
            strategy: Strategy::default(),
            child_credential: ChildCredential::default(),
        }
    }
}

impl Config {
    /// A builder that starts from the defaults (see [`Config::default`]).
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// The parsed hosts, for the rewrite.
    pub(crate) fn host_list(&self) -> &Hosts {
        &self.hosts
    }

    /// The configured hosts, normalised (see [`ConfigBuilder::hosts`]);
    /// none means the playlist's own host.
    pub fn hosts(&self) -> impl Iterator<Item = String> + '_ {
        self.hosts.iter()
    }

    /// The suffix of the credential copies that child playlists carry (`KEY_PREFIX`).
    pub fn key_suffix(&self) -> &KeySuffix {
        &self.key_suffix
    }

    /// The largest body accepted, in bytes (at least 1).
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The largest output built, in bytes (at least 1).
    pub fn max_output_bytes(&self) -> usize {
        self.max_output_bytes
    }

    /// The most new signatures one rewrite makes (`None`: no limit).
    pub fn max_new_signatures(&self) -> Option<usize> {
        self.max_new_signatures
    }

    /// How URIs are signed.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// Which credential child playlists carry under the suffixed names.
    pub fn child_credential(&self) -> ChildCredential {
        self.child_credential
    }
}

/// The settings of a [`Config`] before they are checked: every setter takes
/// a value as it comes, [`build`](ConfigBuilder::build) checks them all.
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    hosts: Vec<String>,
    key_suffix: KeySuffix,
    max_bytes: usize,
    max_output_bytes: usize,
    max_new_signatures: Option<usize>,
    strategy: Strategy,
    child_credential: ChildCredential,
}

impl Default for ConfigBuilder {
    fn default() -> Self {
        ConfigBuilder {
            hosts: Vec::new(),
            key_suffix: KeySuffix::default(),
            max_bytes: DEFAULT_MAX_BYTES,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            max_new_signatures: None,
            strategy: Strategy::default(),
            child_credential: ChildCredential::default(),
        }
    }
}

impl ConfigBuilder {
    /// The hosts whose URIs are signed, each `host` or `host:port` (port 1 to
    /// 65535), in any case; none (the default) means the playlist's own host.
    ///
    /// The first is the distribution's own host, the one the incoming grants
    /// name (`CF_URL`'s); the others are its aliases (`EXTRA_HOSTS`: other
    /// domain names of the same distribution). A URI on an alias is signed
    /// when the same path on the first host is covered by the incoming grant
    /// (or the grant names the alias itself), with a resource on the alias
    /// host and the same path pattern: `https://alias/movies/1/*` for a grant
    /// of `https://first/movies/1/*`, never more.
    ///
    /// They are kept as a browser reads them (lower-case, IDNA) and a default
    /// port (80, 443) is dropped: `h`, `h:443` and `h:80` are the same host,
    /// on the default port of the URI's scheme (`https://h/`, `http://h/`).
    pub fn hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.hosts = hosts.into_iter().map(Into::into).collect();
        self
    }

    /// The suffix of the credential copies (default `-PREFIX`), already
    /// valid: it is a [`KeySuffix`].
    pub fn key_suffix(mut self, suffix: KeySuffix) -> Self {
        self.key_suffix = suffix;
        self
    }

    /// The largest body accepted, in bytes (default 4 MiB; at least 1). It
    /// is also the most bytes `EXT-X-DEFINE` values may add to the URLs of
    /// one playlist (see the crate's documentation on bounds).
    pub fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// The largest output a rewrite builds, in bytes (default 128 MiB; at
    /// least 1); a larger one is refused with
    /// [`Error::OutputTooLarge`](crate::Error::OutputTooLarge) before
    /// anything is signed or allocated for it.
    ///
    /// Each signed URI adds a credential of about 150 (ECDSA, canned) to 600
    /// bytes (RSA-2048, custom), twice for a child playlist: a playlist of
    /// short lines can grow a hundredfold (100,000 lines of `a` become 58 MB).
    /// Set it to what the caller can hold and send: with Lambda's 6 MB
    /// answer, the compressed size matters, about a tenth of this.
    pub fn max_output_bytes(mut self, max_output_bytes: usize) -> Self {
        self.max_output_bytes = max_output_bytes;
        self
    }

    /// The most new signatures (cache misses) one rewrite makes, at least 1
    /// (default: no limit). A rewrite that needs more makes that many, in
    /// playlist order, puts them in the [`SignatureCache`](crate::SignatureCache)
    /// and fails with [`Error::SigningBudget`](crate::Error::SigningBudget):
    /// the caller answers 503 with `Retry-After`, and the retry continues
    /// from the cache (see the crate's documentation for the contract).
    ///
    /// Only the caller knows its time limit and cores, so there is no
    /// default limit: set it to what fits in about half the function's
    /// timeout, from the `per_uri` bench (10,000 signatures took 13.4 s with
    /// RSA-2048 and 0.44 s with ECDSA P-256 on two shared cores: about 750
    /// and 22,000 a second). It matters with
    /// [`Strategy::PerUri`], which signs each URI for each viewer;
    /// [`Strategy::Resign`] signs one policy per directory.
    pub fn max_new_signatures(mut self, max_new_signatures: usize) -> Self {
        self.max_new_signatures = Some(max_new_signatures);
        self
    }

    /// How URIs are signed (default [`Strategy::Resign`]).
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Which credential child playlists carry (default [`ChildCredential::Copy`]).
    pub fn child_credential(mut self, child_credential: ChildCredential) -> Self {
        self.child_credential = child_credential;
        self
    }

    /// The finished [`Config`], or the first setting that is refused: a
    /// host that is not `host` or `host:port`, or a `max_bytes`,
    /// `max_output_bytes` or `max_new_signatures` of 0. With the defaults it
    /// cannot fail.
    pub fn build(self) -> Result<Config, ConfigError> {
        if self.max_bytes == 0 {
            return Err(ConfigError::MaxBytes);
        }
        if self.max_output_bytes == 0 {
            return Err(ConfigError::MaxOutputBytes);
        }
        if self.max_new_signatures == Some(0) {
            return Err(ConfigError::MaxNewSignatures);
        }
        Ok(Config {
            hosts: Hosts::parse(&self.hosts)?,
            key_suffix: self.key_suffix,
            max_bytes: self.max_bytes,
            max_output_bytes: self.max_output_bytes,
            max_new_signatures: self.max_new_signatures,
            strategy: self.strategy,
            child_credential: self.child_credential,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_with_defaults_is_the_default() {
        assert_eq!(Config::builder().build(), Ok(Config::default()));
        let config = Config::default();
        assert_eq!(config.hosts().count(), 0);
        assert_eq!(config.key_suffix().as_str(), "-PREFIX");
        assert_eq!(config.max_bytes(), 4 << 20);
        assert_eq!(config.max_output_bytes(), 128 << 20);
        assert_eq!(config.max_new_signatures(), None);
        assert_eq!(config.strategy(), Strategy::Resign);
        assert_eq!(config.child_credential(), ChildCredential::Copy);
    }

    #[test]
    fn every_setting_is_kept() {
        let config = Config::builder()
            .hosts(["A.example", "b.example:8443", "c.example:443"])
            .key_suffix(KeySuffix::new("_o").unwrap())
            .max_bytes(1)
            .max_output_bytes(2)
            .max_new_signatures(3)
            .strategy(Strategy::Reuse)
            .child_credential(ChildCredential::Incoming)
            .build()
            .unwrap();
        assert_eq!(
            config.hosts().collect::<Vec<_>>(),
            ["a.example", "b.example:8443", "c.example"]
        );
        let same = |hosts: [&str; 1]| Config::builder().hosts(hosts).build().unwrap();
        assert_eq!(same(["d.cloudfront.net:443"]), same(["D.CloudFront.net"]));
        assert_eq!(config.key_suffix().as_str(), "_o");
        assert_eq!(config.max_bytes(), 1);
        assert_eq!(config.max_output_bytes(), 2);
        assert_eq!(config.max_new_signatures(), Some(3));
        assert_eq!(config.strategy(), Strategy::Reuse);
        assert_eq!(config.child_credential(), ChildCredential::Incoming);
    }

    #[test]
    fn refuses_bad_hosts_and_a_zero_limit_naming_them() {
        for bad in [
            "", "a/b", "user@h", "h:99999", "h:0", "h:", "h h", "h?x", "h#x", "http://h",
        ] {
            assert_eq!(
                Config::builder().hosts(["ok.example", bad]).build(),
                Err(ConfigError::Host(bad.to_owned())),
                "{bad:?}"
            );
        }
        assert_eq!(
            ConfigError::Host("a/b".into()).to_string(),
            "invalid host \"a/b\": expected host or host:port (port 1 to 65535)"
        );
        assert_eq!(Config::builder().max_bytes(0).build(), Err(ConfigError::MaxBytes));
        assert_eq!(
            ConfigError::MaxBytes.to_string(),
            "invalid max bytes 0: expected at least 1"
        );
        assert_eq!(
            Config::builder().max_output_bytes(0).build(),
            Err(ConfigError::MaxOutputBytes)
        );
        assert_eq!(
            ConfigError::MaxOutputBytes.to_string(),
            "invalid max output bytes 0: expected at least 1"
        );
        assert_eq!(
            Config::builder().max_new_signatures(0).build(),
            Err(ConfigError::MaxNewSignatures)
        );
        assert_eq!(
            ConfigError::MaxNewSignatures.to_string(),
            "invalid max new signatures 0: expected at least 1"
        );
    }
}
