//! Signing and verifying keys: RSA (PKCS#1 v1.5) and ECDSA P-256, read from
//! PEM or DER in every format OpenSSL and the AWS console write.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};
use sha1::{Digest, Sha1};
use sha2::Sha256;

use crate::Error;

/// The digest CloudFront uses for the signature: SHA-1 unless the URL says
/// `Hash-Algorithm=SHA256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HashAlgorithm {
    /// SHA-1, CloudFront's default.
    #[default]
    Sha1,
    /// SHA-256, announced by `Hash-Algorithm=SHA256`.
    Sha256,
}

impl HashAlgorithm {
    /// The value of the `Hash-Algorithm` parameter, if one is sent.
    pub fn param_value(self) -> Option<&'static str> {
        match self {
            HashAlgorithm::Sha1 => None,
            HashAlgorithm::Sha256 => Some("SHA256"),
        }
    }

    /// Reads a `Hash-Algorithm` parameter value (`SHA1` or `SHA256`).
    pub fn from_param(value: &str) -> Option<Self> {
        match value {
            "SHA1" => Some(HashAlgorithm::Sha1),
            "SHA256" => Some(HashAlgorithm::Sha256),
            _ => None,
        }
    }

    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha1 => Sha1::digest(message).to_vec(),
            HashAlgorithm::Sha256 => Sha256::digest(message).to_vec(),
        }
    }
}

impl std::str::FromStr for HashAlgorithm {
    type Err = Error;

    /// Accepts `sha1`/`sha256` in any case (configuration and CLI spelling).
    fn from_str(text: &str) -> Result<Self, Error> {
        match text.to_ascii_lowercase().as_str() {
            "sha1" => Ok(HashAlgorithm::Sha1),
            "sha256" => Ok(HashAlgorithm::Sha256),
            _ => Err(Error::HashAlgorithm(text.chars().take(40).collect())),
        }
    }
}

/// What kind of key this is, for logs and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA with the given modulus size in bits.
    Rsa {
        /// Modulus size in bits.
        bits: usize,
    },
    /// ECDSA on NIST P-256.
    EcdsaP256,
}

impl KeyKind {
    /// The longest signature this kind of key makes, in bytes: the modulus
    /// size for RSA (every PKCS#1 v1.5 signature has exactly that length),
    /// 72 for ECDSA P-256 (a DER `SEQUENCE` of two `INTEGER`s of at most 33
    /// bytes each; most signatures have 70 to 72).
    ///
    /// With [`encoding::encoded_len`](crate::encoding::encoded_len), what a
    /// `Signature` parameter can take, known before anything is signed.
    pub fn max_signature_bytes(self) -> usize {
        match self {
            KeyKind::Rsa { bits } => bits.div_ceil(8),
            KeyKind::EcdsaP256 => 72,
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyKind::Rsa { bits } => write!(f, "RSA-{bits}"),
            KeyKind::EcdsaP256 => f.write_str("ECDSA P-256"),
        }
    }
}

/// A private key that signs CloudFront policies. Its `Debug` output names
/// the kind of key only, never its bytes.
#[derive(Clone)]
pub struct SigningKey(Private);

#[derive(Clone)]
enum Private {
    Rsa(Box<PrivateKey>),
    Ecdsa(p256::ecdsa::SigningKey),
}

/// A public key that verifies CloudFront signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey(Public);

#[derive(Clone, PartialEq, Eq)]
enum Public {
    Rsa(PublicKey),
    Ecdsa(p256::ecdsa::VerifyingKey),
}

const MIN_RSA_BITS: usize = 2048;

impl SigningKey {
    /// Reads a private key from PEM: `RSA PRIVATE KEY` (PKCS#1),
    /// `PRIVATE KEY` (PKCS#8, RSA or P-256) or `EC PRIVATE KEY` (SEC1).
    /// Other blocks in the text (such as `EC PARAMETERS`) are skipped.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let blocks = pem_blocks(pem)?;
        let mut found = Vec::new();
        for block in &blocks {
            match block.label.as_str() {
                "RSA PRIVATE KEY" => {
                    return rsa_private(
                        PrivateKey::from_pkcs1_der(block.der.as_deref().map_err(Clone::clone)?),
                        "PKCS#1",
                    );
                }
                "PRIVATE KEY" => return Self::from_pkcs8_der(block.der.as_deref().map_err(Clone::clone)?),
                "EC PRIVATE KEY" => return Self::from_sec1_der(block.der.as_deref().map_err(Clone::clone)?),
                other => found.push(other.to_owned()),
            }
        }
        Err(Error::Key(match found.iter().find(|l| l.as_str() != "EC PARAMETERS") {
            Some(label) => describe_wrong_label(label, "a private key"),
            None => "no PEM private key block found".to_owned(),
        }))
    }

    /// Reads a private key from DER: PKCS#8, PKCS#1 or SEC1, whichever parses.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        if let Ok(key) = Self::from_pkcs8_der(der) {
            return Ok(key);
        }
        if let Ok(rsa) = PrivateKey::from_pkcs1_der(der) {
            return rsa_private(Ok(rsa), "PKCS#1");
        }
        if let Ok(key) = Self::from_sec1_der(der) {
            return Ok(key);
        }
        // Surface the most specific reason (e.g. a too-small RSA key).
        Self::from_pkcs8_der(der).map_err(|e| match e {
            Error::Key(_) => Error::Key("DER is not a PKCS#8, PKCS#1 or SEC1 private key".to_owned()),
            other => other,
        })
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        match PrivateKey::from_pkcs8_der(der) {
            Ok(rsa) => rsa_private(Ok(rsa), "PKCS#8"),
            Err(rsa_err) => match p256::ecdsa::SigningKey::from_pkcs8_der(der) {
                Ok(ec) => Ok(SigningKey(Private::Ecdsa(ec))),
                Err(_) => Err(Error::Key(format!(
                    "PKCS#8 key that is neither RSA nor ECDSA P-256 ({})",
                    pkcs8_algorithm(der).unwrap_or_else(|| rsa_err.to_string())
                ))),
            },
        }
    }

    fn from_sec1_der(der: &[u8]) -> Result<Self, Error> {
        p256::SecretKey::from_sec1_der(der)
            .map(|secret| SigningKey(Private::Ecdsa(secret.into())))
            .map_err(|_| Error::Key("SEC1 EC key that is not a valid P-256 key".to_owned()))
    }

    /// The kind and size of the key.
    pub fn kind(&self) -> KeyKind {
        match &self.0 {
            Private::Rsa(key) => KeyKind::Rsa { bits: key.size() * 8 },
            Private::Ecdsa(_) => KeyKind::EcdsaP256,
        }
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(match &self.0 {
            Private::Rsa(key) => Public::Rsa(key.to_public_key()),
            Private::Ecdsa(key) => Public::Ecdsa(*key.verifying_key()),
        })
    }

    /// Signs `message` (the policy bytes): RSA PKCS#1 v1.5 or ECDSA (DER-encoded)
    /// over the `hash` digest of the message.
    pub fn sign(&self, message: &[u8], hash: HashAlgorithm) -> Result<Vec<u8>, Error> {
        match &self.0 {
            Private::Rsa(key) => match hash {
                HashAlgorithm::Sha1 => key.pkcs1v15_sign::<Sha1>(message),
                HashAlgorithm::Sha256 => key.pkcs1v15_sign::<Sha256>(message),
            }
            .map_err(|e| Error::Sign(e.to_string())),
            Private::Ecdsa(key) => {
                let signature: p256::ecdsa::Signature = key
                    .sign_prehash(&hash.digest(message))
                    .map_err(|e| Error::Sign(e.to_string()))?;
                Ok(signature.to_der().as_bytes().to_vec())
            }
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.kind())
    }
}

impl VerifyingKey {
    /// Reads a public key from PEM: `PUBLIC KEY` (SPKI, what CloudFront's
    /// console takes) or `RSA PUBLIC KEY` (PKCS#1).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let blocks = pem_blocks(pem)?;
        for block in &blocks {
            match block.label.as_str() {
                "PUBLIC KEY" => return Self::from_der(block.der.as_deref().map_err(Clone::clone)?),
                "RSA PUBLIC KEY" => {
                    return PublicKey::from_pkcs1_der(block.der.as_deref().map_err(Clone::clone)?)
                        .map_err(|_| Error::Key("PKCS#1 RSA public key that does not parse".to_owned()))
                        .and_then(rsa_public);
                }
                _ => {}
            }
        }
        Err(Error::Key(match blocks.first() {
            Some(block) => describe_wrong_label(&block.label, "a public key"),
            None => "no PEM public key block found".to_owned(),
        }))
    }

    /// Reads a public key from SPKI DER.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        if let Ok(rsa) = PublicKey::from_public_key_der(der) {
            return rsa_public(rsa);
        }
        p256::ecdsa::VerifyingKey::from_public_key_der(der)
            .map(|ec| VerifyingKey(Public::Ecdsa(ec)))
            .map_err(|_| Error::Key("SPKI public key that is neither RSA nor ECDSA P-256".to_owned()))
    }

    /// The key as SPKI PEM (`BEGIN PUBLIC KEY`), the form CloudFront takes.
    pub fn to_pem(&self) -> String {
        let pem = match &self.0 {
            Public::Rsa(key) => key.to_public_key_pem(LineEnding::LF),
            Public::Ecdsa(key) => key.to_public_key_pem(LineEnding::LF),
        };
        pem.unwrap_or_default()
    }

    /// The kind and size of the key.
    pub fn kind(&self) -> KeyKind {
        match &self.0 {
            Public::Rsa(key) => KeyKind::Rsa { bits: key.size() * 8 },
            Public::Ecdsa(_) => KeyKind::EcdsaP256,
        }
    }

    /// SHA-256 of the key's SPKI DER (what `openssl pkey -pubin -outform DER
    /// | sha256sum` prints): the key's identity, whatever id it is registered
    /// under. Two keys have the same fingerprint only if they are the same key.
    pub fn fingerprint(&self) -> [u8; 32] {
        let der = match &self.0 {
            Public::Rsa(key) => key.to_public_key_der(),
            Public::Ecdsa(key) => key.to_public_key_der(),
        };
        let bytes = match der {
            Ok(der) => der.into_vec(),
            // Encoding a valid key cannot fail; should it, the raw key still
            // tells keys apart (tagged, so it never equals an SPKI encoding).
            Err(_) => match &self.0 {
                Public::Rsa(key) => [b"rsa n=".as_slice(), &key.n_bytes(), b" e=", &key.e_bytes()].concat(),
                Public::Ecdsa(key) => [b"p256 ".as_slice(), &key.to_sec1_bytes()].concat(),
            },
        };
        Sha256::digest(&bytes).into()
    }

    /// Whether `signature` is a valid signature of `message` under `hash`.
    pub fn verify(&self, message: &[u8], signature: &[u8], hash: HashAlgorithm) -> bool {
        match &self.0 {
            Public::Rsa(key) => match hash {
                HashAlgorithm::Sha1 => key.pkcs1v15_verify::<Sha1>(message, signature),
                HashAlgorithm::Sha256 => key.pkcs1v15_verify::<Sha256>(message, signature),
            }
            .is_ok(),
            Public::Ecdsa(key) => p256::ecdsa::Signature::from_der(signature)
                .is_ok_and(|sig| key.verify_prehash(&hash.digest(message), &sig).is_ok()),
        }
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", self.kind())
    }
}

fn rsa_private(parsed: Result<PrivateKey, rsa::pkcs1::Error>, format: &str) -> Result<SigningKey, Error> {
    let key = parsed.map_err(|_| Error::Key(format!("{format} RSA private key that does not parse")))?;
    let bits = key.size() * 8;
    if bits < MIN_RSA_BITS {
        return Err(Error::KeyTooSmall(bits));
    }
    Ok(SigningKey(Private::Rsa(Box::new(key))))
}

fn rsa_public(key: PublicKey) -> Result<VerifyingKey, Error> {
    let bits = key.size() * 8;
    if bits < MIN_RSA_BITS {
        return Err(Error::KeyTooSmall(bits));
    }
    Ok(VerifyingKey(Public::Rsa(key)))
}

fn describe_wrong_label(label: &str, wanted: &str) -> String {
    let hint = match label {
        "ENCRYPTED PRIVATE KEY" => "an encrypted PKCS#8 key; decrypt it first (openssl pkcs8 -in k.pem -out plain.pem)",
        "OPENSSH PRIVATE KEY" => "an OpenSSH key; convert it (ssh-keygen -p -m PKCS8 -f k)",
        "PUBLIC KEY" | "RSA PUBLIC KEY" => "a public key",
        "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => "a private key",
        "CERTIFICATE" => "a certificate",
        _ => "an unsupported block",
    };
    format!("found PEM {label:?} ({hint}), expected {wanted}")
}

struct PemBlock {
    label: String,
    der: Result<Vec<u8>, Error>,
}

/// Splits PEM text into labelled blocks, tolerating CRLF, indentation and
/// surrounding text. Legacy encrypted PEM (`Proc-Type` headers) is refused.
fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, Error> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut closed = false;
        let mut encrypted = false;
        for line in lines.by_ref() {
            if line == end {
                closed = true;
                break;
            }
            if line.contains(':') {
                encrypted |= line.starts_with("Proc-Type") || line.starts_with("DEK-Info");
                continue;
            }
            body.push_str(line);
        }
        let der = if !closed {
            Err(Error::Key(format!("PEM {label:?} block has no END line")))
        } else if encrypted {
            Err(Error::Key(format!(
                "PEM {label:?} block is encrypted; decrypt it first"
            )))
        } else {
            STANDARD
                .decode(body.as_bytes())
                .map_err(|_| Error::Key(format!("PEM {label:?} block is not valid base64")))
        };
        blocks.push(PemBlock {
            label: label.to_owned(),
            der,
        });
    }
    if blocks.is_empty() {
        let looks_binary = text.chars().any(|c| c.is_control() && !c.is_whitespace());
        return Err(Error::Key(
            if looks_binary {
                "not PEM text (binary data; DER keys go through from_der)"
            } else {
                "not PEM: no -----BEGIN line"
            }
            .to_owned(),
        ));
    }
    Ok(blocks)
}

/// The algorithm OID of a PKCS#8 structure, for error messages.
fn pkcs8_algorithm(der: &[u8]) -> Option<String> {
    let info = rsa::pkcs8::PrivateKeyInfoRef::try_from(der).ok()?;
    let oid = info.algorithm.oid.to_string();
    let name = match oid.as_str() {
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.2.840.10040.4.1" => "DSA",
        "1.2.840.10045.2.1" => "EC on a curve other than P-256",
        _ => "algorithm",
    };
    Some(format!("{name}, OID {oid}"))
}
