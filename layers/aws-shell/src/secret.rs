//! The signing key's secret: where it comes from and the formats accepted.
//!
//! Accepted formats (whitespace around them is ignored):
//! - a PEM private key (`BEGIN RSA PRIVATE KEY`, `BEGIN PRIVATE KEY`, `BEGIN EC PRIVATE KEY`);
//! - base64 of such a PEM (what the published Terraform examples store), or of a DER key;
//! - JSON `{"key_pair_id": "...", "private_key": "<PEM or base64 of PEM>", "cf_url": "...",
//!   "public_keys": {"K...": "<SPKI PEM>"}}` where all but `private_key` are optional
//!   (terraform/ writes all four; `public_keys` lists every key of the key group,
//!   so the rewriter accepts credentials signed with the previous key during a rotation).
//!
//! Errors say which format was tried, never what the secret contains.

use async_trait::async_trait;
use base64::Engine as _;
use cloudfront_sign::{KeyPairId, SigningKey, VerifyingKey};
use thiserror::Error;

use crate::Backoff;

/// Why the secret could not be had or read. Messages never include its content.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret exists but is not a key in an accepted format.
    #[error("invalid secret: {0}")]
    Invalid(String),
    /// No such secret (or no permission to read it): retrying will not help.
    #[error("secret not found: {0}")]
    NotFound(String),
    /// Secrets Manager (or the file system) could not be reached.
    #[error("secret unavailable: {0}")]
    Unavailable(String),
}

impl SecretError {
    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, SecretError::Unavailable(_))
    }
}

/// What a secret holds: the key and, from the JSON format, optional settings.
#[derive(Debug)]
pub struct SecretMaterial {
    /// The private signing key.
    pub key: SigningKey,
    /// `key_pair_id` from the JSON format.
    pub key_pair_id: Option<String>,
    /// `cf_url` from the JSON format.
    pub cf_url: Option<String>,
    /// `public_keys` from the JSON format: every trusted key of the key group.
    pub public_keys: Vec<(KeyPairId, VerifyingKey)>,
}

/// Parses a secret's text in any accepted format.
pub fn parse_secret(text: &str) -> Result<SecretMaterial, SecretError> {
    let text = text.trim();
    if text.starts_with('{') {
        #[derive(serde::Deserialize)]
        struct Json {
            key_pair_id: Option<String>,
            private_key: Option<String>,
            cf_url: Option<String>,
            #[serde(default)]
            public_keys: std::collections::BTreeMap<String, String>,
        }
        // serde_json's messages quote no input for a type error, but a syntax
        // error names a position only: safe either way.
        let json: Json = serde_json::from_str(text).map_err(|e| SecretError::Invalid(format!("JSON secret: {e}")))?;
        let private_key = json
            .private_key
            .ok_or_else(|| SecretError::Invalid("JSON secret without a private_key string".into()))?;
        let key =
            parse_key(private_key.trim()).map_err(|e| SecretError::Invalid(format!("JSON secret private_key: {e}")))?;
        let mut public_keys = Vec::with_capacity(json.public_keys.len());
        for (id, pem) in &json.public_keys {
            let invalid =
                |e: cloudfront_sign::Error| SecretError::Invalid(format!("JSON secret public_keys[{id:?}]: {e}"));
            let key = VerifyingKey::from_pem(pem).map_err(invalid)?;
            public_keys.push((KeyPairId::new(id.as_str()).map_err(invalid)?, key));
        }
        return Ok(SecretMaterial {
            key,
            key_pair_id: json.key_pair_id.filter(|s| !s.trim().is_empty()),
            cf_url: json.cf_url.filter(|s| !s.trim().is_empty()),
            public_keys,
        });
    }
    let key = parse_key(text).map_err(SecretError::Invalid)?;
    Ok(SecretMaterial {
        key,
        key_pair_id: None,
        cf_url: None,
        public_keys: Vec::new(),
    })
}

/// Parses a binary secret: UTF-8 text in any accepted format, or a DER key.
pub fn parse_secret_bytes(bytes: &[u8]) -> Result<SecretMaterial, SecretError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_secret(text),
        Err(_) => Ok(SecretMaterial {
            key: SigningKey::from_der(bytes).map_err(|e| SecretError::Invalid(format!("DER secret: {e}")))?,
            key_pair_id: None,
            cf_url: None,
            public_keys: Vec::new(),
        }),
    }
}

fn parse_key(text: &str) -> Result<SigningKey, String> {
    if text.starts_with("-----BEGIN") {
        return SigningKey::from_pem(text).map_err(|e| format!("PEM secret: {e}"));
    }
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(compact.as_bytes()))
        .map_err(|_| "neither a PEM key, base64 of a PEM key, nor JSON".to_owned())?;
    match std::str::from_utf8(&decoded) {
        Ok(pem) if pem.trim_start().starts_with("-----BEGIN") => {
            SigningKey::from_pem(pem.trim()).map_err(|e| format!("base64 of a PEM: {e}"))
        }
        _ => SigningKey::from_der(&decoded).map_err(|e| format!("base64 of neither a PEM nor a DER key: {e}")),
    }
}

/// Where the secret is read from.
#[async_trait]
pub trait SecretSource: Send + Sync {
    /// The secret's raw bytes (text for a string secret).
    async fn fetch(&self) -> Result<Vec<u8>, SecretError>;

    /// A name for logs and errors (the secret's id or file path, never content).
    fn describe(&self) -> String;

    /// Fetches and parses the secret.
    async fn load(&self) -> Result<SecretMaterial, SecretError> {
        let bytes = self.fetch().await?;
        parse_secret_bytes(&bytes)
    }
}

/// A secret in a local file (`SIGNING_KEY_FILE`).
#[derive(Debug, Clone)]
pub struct FileSecret {
    path: std::path::PathBuf,
}

impl FileSecret {
    /// The secret in the file at `path`.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        FileSecret { path: path.into() }
    }
}

#[async_trait]
impl SecretSource for FileSecret {
    async fn fetch(&self) -> Result<Vec<u8>, SecretError> {
        tokio::fs::read(&self.path).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SecretError::NotFound(self.describe()),
            _ => SecretError::Unavailable(format!("{}: {e}", self.describe())),
        })
    }

    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
}

/// A secret in AWS Secrets Manager, by name or ARN, read with retries.
#[derive(Debug, Clone)]
pub struct SecretsManagerSecret {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    backoff: Backoff,
}

impl SecretsManagerSecret {
    /// The secret `secret_id` (name or ARN), retried with `backoff`.
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>, backoff: Backoff) -> Self {
        SecretsManagerSecret {
            client,
            secret_id: secret_id.into(),
            backoff,
        }
    }

    async fn fetch_once(&self) -> Result<Vec<u8>, SecretError> {
        use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| {
                let code = e.code().unwrap_or("").to_owned();
                match &e {
                    SdkError::ServiceError(se) => {
                        let status = se.raw().status().as_u16();
                        if code == "ResourceNotFoundException" || code == "AccessDeniedException" {
                            SecretError::NotFound(format!("{} ({code})", self.secret_id))
                        } else if status >= 500 || code.contains("Throttl") || status == 429 {
                            SecretError::Unavailable(format!("{} ({code}, HTTP {status})", self.secret_id))
                        } else {
                            SecretError::Invalid(format!("{} ({code}, HTTP {status})", self.secret_id))
                        }
                    }
                    _ => {
                        SecretError::Unavailable(format!("{}: {}", self.secret_id, crate::aws::describe_sdk_error(&e)))
                    }
                }
            })?;
        if let Some(text) = out.secret_string() {
            return Ok(text.as_bytes().to_vec());
        }
        if let Some(blob) = out.secret_binary() {
            return Ok(blob.as_ref().to_vec());
        }
        Err(SecretError::Invalid(format!(
            "{} has neither SecretString nor SecretBinary",
            self.secret_id
        )))
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSecret {
    async fn fetch(&self) -> Result<Vec<u8>, SecretError> {
        self.backoff
            .retry(SecretError::is_transient, || self.fetch_once())
            .await
    }

    fn describe(&self) -> String {
        format!("secret {}", self.secret_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PKCS1: &str = include_str!("../../cloudfront-sign/tests/fixtures/rsa2048_pkcs1.pem");

    #[test]
    fn json_public_keys_are_read_and_checked() {
        let public = SigningKey::from_pem(PKCS1).unwrap().verifying_key();
        let json = serde_json::json!({"private_key": PKCS1, "public_keys": {"KONE": public.to_pem()}}).to_string();
        let material = parse_secret(&json).unwrap();
        assert_eq!(material.public_keys, vec![(KeyPairId::new("KONE").unwrap(), public)]);
        let bad = serde_json::json!({"private_key": PKCS1, "public_keys": {"KBAD": "not a key"}}).to_string();
        let message = parse_secret(&bad).unwrap_err().to_string();
        assert!(message.contains("public_keys[\"KBAD\"]"), "{message}");
    }

    #[test]
    fn every_format() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(PKCS1);
        let wrapped: String = b64
            .as_bytes()
            .chunks(64)
            .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
            .collect();
        let json =
            serde_json::json!({"key_pair_id": "KABC", "private_key": PKCS1, "cf_url": "https://d.example"}).to_string();
        let json_b64 = serde_json::json!({"private_key": b64}).to_string();
        for text in [
            PKCS1.to_owned(),
            format!("\n{PKCS1}\n"),
            b64.clone(),
            wrapped,
            json.clone(),
            json_b64,
        ] {
            parse_secret(&text).unwrap();
        }
        let m = parse_secret(&json).unwrap();
        assert_eq!(m.key_pair_id.as_deref(), Some("KABC"));
        assert_eq!(m.cf_url.as_deref(), Some("https://d.example"));
    }

    #[test]
    fn errors_never_echo_the_secret() {
        for text in [
            "sekrit-value",
            "{\"private_key\": \"sekrit-value\"}",
            "{\"key_pair_id\": \"K\"}",
            "{sekrit",
        ] {
            let e = parse_secret(text).unwrap_err();
            assert!(matches!(e, SecretError::Invalid(_)));
            assert!(!e.to_string().contains("sekrit"), "{e}");
        }
        let truncated = &PKCS1[..PKCS1.len() / 2];
        assert!(parse_secret(truncated).is_err());
    }
}
