//! `cfsign`: sign CloudFront URLs like `aws cloudfront sign`, answer
//! "why is this a 403?" by verifying a URL exactly as CloudFront would, and
//! re-sign a playlist as the rewriter does.
//!
//! `sign` and `rewrite` take a local private key (`--private-key`) or a key
//! in AWS KMS (`--kms-key-id`, signing with the operator's AWS credentials
//! from the environment, as the AWS CLI does); a KMS key signs SHA-256 only,
//! so its URLs carry `Hash-Algorithm=SHA256`. `verify` explains a signature
//! that only fails because `Hash-Algorithm` is missing or wrong for it.
//!
//! Exit codes: 0 success, 1 the URL is refused (or the input is not what the
//! command signs), 2 usage errors (bad flags, unreadable keys, bad URLs).

use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use cloudfront_sign::{
    Cidr, Denied, HashAlgorithm, KeyPairId, KeySuffix, Policy, Signatory, SigningKey, UrlSigner, Verifier,
    VerifyingKey, canned_policy_json, encoding,
};
use playlist_rewrite::{Config, ConfigError, Error as PlaylistError, Incoming, plan_rewrite, rewrite_as_operator};
use signed_hls_aws::{Backoff, KmsSigner, PolicySigner};

#[derive(Parser)]
#[command(name = "cfsign", version, about = "Sign and verify CloudFront signed URLs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print URL signed with a canned policy, or a custom one when --resource,
    /// --not-before or --ip is given. A canned policy is refused for a URL with
    /// `*` or `?` (a query string): replayed as a custom policy, its signature
    /// would be a wildcard grant; give --resource instead.
    Sign(SignArgs),
    /// Check URL as CloudFront would: print the grant (exit 0) or the failed check (exit 1).
    Verify(VerifyArgs),
    /// Re-sign every URI of the playlist on stdin as the rewriter would, for an
    /// operator's grant of the playlist's host until --expires; the playlist goes to
    /// stdout, a summary to stderr (exit 1 for input that is not a playlist).
    Rewrite(RewriteArgs),
}

#[derive(Args)]
struct SignArgs {
    /// The absolute http(s) URL to sign.
    url: String,
    /// The CloudFront public key id (K...) or legacy key pair id (APKA...).
    #[arg(long)]
    key_pair_id: String,
    /// PEM or DER private key: RSA (PKCS#1/PKCS#8) or ECDSA P-256 (SEC1/PKCS#8).
    #[arg(long, required_unless_present = "kms_key_id", conflicts_with = "kms_key_id")]
    private_key: Option<PathBuf>,
    /// Sign with this AWS KMS key instead (id, ARN or alias/...; RSA_2048 or
    /// ECC_NIST_P256, SIGN_VERIFY), with the AWS credentials of the environment.
    #[arg(long)]
    kms_key_id: Option<String>,
    /// Expiry as epoch seconds.
    #[arg(long, conflicts_with = "ttl", required_unless_present = "ttl")]
    expires: Option<u64>,
    /// Expiry as seconds from now.
    #[arg(long)]
    ttl: Option<u64>,
    /// Policy resource pattern (`*` and `?` wildcards); implies a custom policy.
    #[arg(long)]
    resource: Option<String>,
    /// Not valid before this epoch second (DateGreaterThan); implies a custom policy.
    #[arg(long)]
    not_before: Option<u64>,
    /// Restrict to this client address or CIDR block; implies a custom policy.
    #[arg(long)]
    ip: Option<String>,
    /// Signature hash: sha1 (CloudFront's default) or sha256 (always, with --kms-key-id).
    #[arg(long)]
    hash: Option<String>,
    /// Also append copies of the parameters with this suffix (e.g. -PREFIX),
    /// as signurl does for the rewriter; implies a custom policy.
    #[arg(long, allow_hyphen_values = true)]
    copies: Option<String>,
}

#[derive(Args)]
struct VerifyArgs {
    /// The signed URL as the viewer requested it.
    url: String,
    /// A trusted key as ID=FILE (public SPKI PEM, or a private key whose public half is used). Repeatable.
    #[arg(long = "public-key", value_name = "ID=FILE", required = true)]
    public_keys: Vec<String>,
    /// The viewer's address, checked against an IpAddress condition.
    #[arg(long)]
    ip: Option<IpAddr>,
    /// Check at this epoch second instead of now.
    #[arg(long)]
    now: Option<u64>,
    /// Read the parameter copies with this suffix (e.g. -PREFIX), as the rewriter does.
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    prefix: String,
}

#[derive(Args)]
struct RewriteArgs {
    /// The public URL the playlist is served at (relative URIs resolve against it).
    #[arg(long)]
    url: String,
    /// PEM private key: RSA (PKCS#1/PKCS#8) or ECDSA P-256 (SEC1/PKCS#8).
    #[arg(long, required_unless_present = "kms_key_id", conflicts_with = "kms_key_id")]
    private_key: Option<PathBuf>,
    /// Sign with this AWS KMS key instead, with the AWS credentials of the environment.
    #[arg(long)]
    kms_key_id: Option<String>,
    /// The CloudFront public key id (K...) or legacy key pair id (APKA...).
    #[arg(long)]
    key_pair_id: String,
    /// Expiry of every credential, epoch seconds.
    #[arg(long)]
    expires: u64,
    /// resign (one policy per directory), per-uri (a policy per URI) or reuse.
    #[arg(long, default_value = "resign")]
    mode: String,
    /// Suffix of the parameter copies child playlists carry (KEY_PREFIX).
    #[arg(long, default_value = "-PREFIX", allow_hyphen_values = true)]
    prefix: String,
    /// Hosts whose URIs count as ours (default: the playlist's host). Repeatable.
    #[arg(long = "host")]
    hosts: Vec<String>,
    /// Signature hash: sha1 or sha256 (always, with --kms-key-id).
    #[arg(long)]
    hash: Option<String>,
}

/// A failure: the message and the exit code.
struct Failure(String, u8);

fn usage(message: impl Into<String>) -> Failure {
    Failure(message.into(), 2)
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Sign(args) => sign(args),
        Command::Verify(args) => verify(args),
        Command::Rewrite(args) => rewrite(args),
    };
    match result {
        Ok(output) if output.is_empty() => ExitCode::SUCCESS,
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(Failure(message, code)) => {
            eprintln!("cfsign: {message}");
            ExitCode::from(code)
        }
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `--key-pair-id`, validated by the signing core's one rule.
fn key_pair_id(text: String) -> Result<KeyPairId, Failure> {
    KeyPairId::new(text).map_err(|e| usage(format!("--key-pair-id: {e}")))
}

/// A suffix flag (`--copies`, `--prefix`), validated by the signing core's rule.
fn key_suffix(flag: &'static str) -> impl Fn(String) -> Result<KeySuffix, Failure> {
    move |text| KeySuffix::new(text).map_err(|e| usage(format!("{flag}: {e} (the KEY_PREFIX setting)")))
}

fn read_key_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))
}

fn load_signing_key(path: &Path) -> Result<SigningKey, Failure> {
    let bytes = read_key_file(path)?;
    let parsed = match std::str::from_utf8(&bytes) {
        Ok(text) if text.contains("-----BEGIN") => SigningKey::from_pem(text),
        _ => SigningKey::from_der(&bytes),
    };
    parsed.map_err(|e| usage(format!("{}: {e}", path.display())))
}

fn load_verifying_key(path: &Path) -> Result<VerifyingKey, Failure> {
    let bytes = read_key_file(path)?;
    let text = String::from_utf8_lossy(&bytes);
    VerifyingKey::from_pem(&text)
        .or_else(|public_err| match SigningKey::from_pem(&text) {
            Ok(private) => Ok(private.verifying_key()),
            Err(_) => Err(public_err),
        })
        .map_err(|e| usage(format!("{}: {e}", path.display())))
}

/// The key that signs: a local private key, or a key in AWS KMS.
enum Key {
    Local(UrlSigner),
    Kms(Box<KmsSigner>, tokio::runtime::Runtime),
}

impl Key {
    /// From `--private-key` or `--kms-key-id`, with `--hash` (sha256 only for KMS).
    fn new(
        private_key: Option<PathBuf>,
        kms_key_id: Option<String>,
        key_pair_id: KeyPairId,
        hash: Option<String>,
    ) -> Result<Self, Failure> {
        let hash: Option<HashAlgorithm> = hash
            .map(|h| h.parse().map_err(|e| usage(format!("--hash: {e}"))))
            .transpose()?;
        match (private_key, kms_key_id) {
            (Some(path), None) => Ok(Key::Local(UrlSigner::new(
                key_pair_id,
                load_signing_key(&path)?,
                hash.unwrap_or_default(),
            ))),
            (None, Some(id)) => {
                if hash == Some(HashAlgorithm::Sha1) {
                    return Err(usage(
                        "--hash sha1: a KMS key signs SHA-256 only (Hash-Algorithm=SHA256)",
                    ));
                }
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| usage(format!("cannot start the AWS client: {e}")))?;
                let signer = runtime
                    .block_on(async {
                        let sdk = signed_hls_aws::aws::sdk_config_from_env().await;
                        let client = signed_hls_aws::aws::kms_client(&sdk);
                        KmsSigner::connect(client, &id, key_pair_id, 16, Backoff::default()).await
                    })
                    .map_err(|e| usage(format!("--kms-key-id {id}: {e}")))?;
                Ok(Key::Kms(Box::new(signer), runtime))
            }
            _ => Err(usage("give --private-key or --kms-key-id")),
        }
    }

    fn signatory(&self) -> &Signatory {
        match self {
            Key::Local(signer) => signer.signatory(),
            Key::Kms(signer, _) => signer.signatory(),
        }
    }

    /// The encoded signatures of `policies`, in order.
    fn sign(&self, policies: &[&[u8]]) -> Result<Vec<Vec<u8>>, Failure> {
        match self {
            Key::Local(signer) => policies
                .iter()
                .map(|p| signer.sign_bytes(p).map_err(|e| Failure(e.to_string(), 1)))
                .collect(),
            Key::Kms(signer, runtime) => runtime
                .block_on(signer.sign(policies))
                .map_err(|e| Failure(e.to_string(), 1)),
        }
    }

    fn sign_one(&self, policy: &str) -> Result<String, Failure> {
        let signature = self.sign(&[policy.as_bytes()])?.pop().unwrap_or_default();
        Ok(encoding::encode(&signature))
    }
}

fn sign(args: SignArgs) -> Result<String, Failure> {
    let key_pair_id = key_pair_id(args.key_pair_id)?;
    let copies = args.copies.map(key_suffix("--copies")).transpose()?;
    let key = Key::new(args.private_key, args.kms_key_id, key_pair_id, args.hash)?;
    let signer = key.signatory();
    let expires = match (args.expires, args.ttl) {
        (Some(epoch), _) => epoch,
        (None, Some(ttl)) => now().saturating_add(ttl),
        (None, None) => return Err(usage("give --expires or --ttl")),
    };
    let custom = args.resource.is_some() || args.not_before.is_some() || args.ip.is_some() || copies.is_some();
    let signed = if custom {
        let mut policy = Policy::new(args.resource.unwrap_or_else(|| args.url.clone()), expires);
        if let Some(start) = args.not_before {
            policy = policy.not_before(start);
        }
        if let Some(ip) = &args.ip {
            policy = policy.from_ip(ip.parse::<Cidr>().map_err(|e| usage(e.to_string()))?);
        }
        let signature = key.sign_one(&policy.to_json())?;
        signer.url_with_policy(&args.url, &policy, signature, copies.as_ref())
    } else if args.url.contains(['*', '?']) {
        Err(cloudfront_sign::Error::CannedWildcard(
            args.url.chars().take(100).collect(),
        ))
    } else {
        let signature = key.sign_one(&canned_policy_json(&args.url, expires))?;
        signer.canned_url(&args.url, expires, signature)
    };
    signed.map_err(|e| match e {
        cloudfront_sign::Error::CannedWildcard(_) => usage(format!(
            "{e}\n  a url with a query string or a '*' can only be signed with a custom policy: give --resource \
             with the pattern to grant (--resource {:?} grants what a canned signature would, wildcards included)",
            args.url
        )),
        other => usage(other.to_string()),
    })
}

fn verify(args: VerifyArgs) -> Result<String, Failure> {
    // Empty: CloudFront's own names; otherwise the copies, named by a valid suffix.
    let suffix = match args.prefix.as_str() {
        "" => None,
        _ => Some(key_suffix("--prefix")(args.prefix)?),
    };
    let mut verifier = Verifier::new();
    for spec in &args.public_keys {
        let (id, file) = spec
            .split_once('=')
            .ok_or_else(|| usage(format!("--public-key {spec:?}: expected ID=FILE")))?;
        verifier.trust(id, load_verifying_key(Path::new(file))?);
    }
    let now = args.now.unwrap_or_else(now);
    let names = suffix.as_ref().map_or("", KeySuffix::as_str);
    let grant = verifier.verify_url(&args.url, names, now, args.ip).map_err(|denied| {
        let hint = match denied {
            Denied::BadSignature => hash_hint(&verifier, &args.url, names, now, args.ip),
            _ => String::new(),
        };
        Failure(format!("denied: {denied} ({}){hint}", denied.code()), 1)
    })?;
    let policy = &grant.policy;
    let mut lines = vec![
        "ok".to_owned(),
        format!("key_pair_id: {}", grant.key_pair_id),
        format!("policy: {}", if grant.canned { "canned" } else { "custom" }),
        format!("hash: {:?}", grant.hash).to_lowercase(),
        format!("resource: {}", policy.resource),
        format!(
            "expires: {} ({} s from now)",
            policy.date_less_than,
            policy.date_less_than.saturating_sub(now)
        ),
    ];
    if let Some(start) = policy.date_greater_than {
        lines.push(format!("not_before: {start}"));
    }
    if let Some(block) = &policy.ip_address {
        lines.push(format!("ip: {block}"));
    }
    Ok(lines.join("\n"))
}

/// When a signature fails only because of its hash parameter, why: the
/// same URL with `Hash-Algorithm` added, removed or switched verifies.
fn hash_hint(verifier: &Verifier, url: &str, names: &str, now: u64, ip: Option<IpAddr>) -> String {
    let param = format!("Hash-Algorithm{names}");
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let others: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some(param.as_str()))
        .collect();
    let given = query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{param}=")))
        .map(str::to_owned);
    let with = |value: Option<&str>| {
        let mut pairs: Vec<String> = others.iter().map(|p| (*p).to_owned()).collect();
        if let Some(value) = value {
            pairs.push(format!("{param}={value}"));
        }
        format!("{base}?{}", pairs.join("&"))
    };
    let key_note = "KMS keys (RSA_2048 and ECC_NIST_P256 alike) sign SHA-256 only";
    match given.as_deref() {
        None | Some("SHA1") if verifier.verify_url(&with(Some("SHA256")), names, now, ip).is_ok() => format!(
            "\n  the signature is valid with SHA-256, but the url {}: CloudFront checks it as SHA-1. \
             Add {param}=SHA256 ({key_note}; signurl and the rewriter add it with HASH_ALGORITHM=sha256 or KMS_KEY_ID)",
            if given.is_some() {
                "says Hash-Algorithm=SHA1"
            } else {
                "has no Hash-Algorithm"
            }
        ),
        Some(value) if value != "SHA1" && verifier.verify_url(&with(None), names, now, ip).is_ok() => format!(
            "\n  the signature is valid with SHA-1, but the url says {param}={value}: remove it (or sign with SHA-256; {key_note})"
        ),
        _ => String::new(),
    }
}

fn rewrite(args: RewriteArgs) -> Result<String, Failure> {
    // The configuration first, validated once: a bad setting is a usage error naming its flag.
    let config = Config::builder()
        .hosts(args.hosts)
        .key_suffix(key_suffix("--prefix")(args.prefix)?)
        .strategy(args.mode.parse().map_err(|e| usage(format!("--mode: {e}")))?)
        .build()
        .map_err(|e| match e {
            ConfigError::Host(_) => usage(format!("--host: {e}")),
            other => usage(other.to_string()),
        })?;
    let key = Key::new(
        args.private_key,
        args.kms_key_id,
        key_pair_id(args.key_pair_id)?,
        args.hash,
    )?;
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(|e| Failure(format!("stdin: {e}"), 1))?;
    let playlist_error = |e: PlaylistError| match e {
        PlaylistError::PlaylistUrl(_) => usage(e.to_string()),
        other => Failure(other.to_string(), 1),
    };
    let rewritten = match &key {
        Key::Local(signer) => {
            rewrite_as_operator(&body, &args.url, args.expires, &config, signer).map_err(playlist_error)?
        }
        Key::Kms(..) => {
            // The same operator's grant (the playlist's whole origin), signed by KMS.
            let origin = operator_origin(&args.url).ok_or_else(|| {
                usage(format!(
                    "invalid playlist url: {:?} is not an absolute http(s) url",
                    args.url
                ))
            })?;
            let policy = Policy::new(format!("{origin}/*"), args.expires);
            let credential = key
                .signatory()
                .custom_credential(&policy, key.sign_one(&policy.to_json())?);
            let incoming = Incoming {
                policy,
                canned: false,
                credential,
            };
            let cache = playlist_rewrite::SignatureCache::new(1024);
            let pending =
                plan_rewrite(&body, &args.url, &incoming, &config, key.signatory(), &cache).map_err(playlist_error)?;
            let policies: Vec<&[u8]> = pending.to_sign().collect();
            let signatures = key.sign(&policies)?;
            pending.finish(signatures, &cache).map_err(playlist_error)?
        }
    };
    std::io::stdout()
        .write_all(rewritten.body.as_bytes())
        .map_err(|e| Failure(format!("stdout: {e}"), 1))?;
    let summary = &rewritten.summary;
    eprintln!(
        "{} playlist: {} uris signed, {} untouched, {} signatures computed",
        summary.kind,
        summary.uris_signed,
        summary.untouched.len(),
        summary.signatures_computed
    );
    for untouched in &summary.untouched {
        eprintln!("  line {}: {} ({})", untouched.line, untouched.uri, untouched.reason);
    }
    Ok(String::new())
}

/// `scheme://host[:port]` of an absolute http(s) URL.
fn operator_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().filter(|a| !a.is_empty())?;
    Some(format!("{}://{authority}", scheme.to_ascii_lowercase()))
}
