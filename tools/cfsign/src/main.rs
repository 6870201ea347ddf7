//! `cfsign`: sign CloudFront URLs like `aws cloudfront sign`, answer
//! "why is this a 403?" by verifying a URL exactly as CloudFront would, and
//! re-sign a playlist as the rewriter does.
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
    Cidr, HashAlgorithm, KeyPairId, KeySuffix, Policy, SigningKey, UrlSigner, Verifier, VerifyingKey,
};
use playlist_rewrite::{Config, ConfigError, Error as PlaylistError, rewrite_as_operator};

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
    #[arg(long)]
    private_key: PathBuf,
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
    /// Signature hash: sha1 (CloudFront's default) or sha256.
    #[arg(long, default_value = "sha1")]
    hash: String,
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
    #[arg(long)]
    private_key: PathBuf,
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
    /// Signature hash: sha1 or sha256.
    #[arg(long, default_value = "sha1")]
    hash: String,
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

fn sign(args: SignArgs) -> Result<String, Failure> {
    let hash: HashAlgorithm = args.hash.parse().map_err(|e| usage(format!("--hash: {e}")))?;
    let key_pair_id = key_pair_id(args.key_pair_id)?;
    let copies = args.copies.map(key_suffix("--copies")).transpose()?;
    let signer = UrlSigner::new(key_pair_id, load_signing_key(&args.private_key)?, hash);
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
        match &copies {
            Some(suffix) => signer.sign_with_policy_and_copies(&args.url, &policy, suffix),
            None => signer.sign_with_policy(&args.url, &policy),
        }
    } else {
        signer.sign_canned(&args.url, expires)
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
    let grant = verifier
        .verify_url(&args.url, suffix.as_ref().map_or("", KeySuffix::as_str), now, args.ip)
        .map_err(|denied| Failure(format!("denied: {denied} ({})", denied.code()), 1))?;
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

fn rewrite(args: RewriteArgs) -> Result<String, Failure> {
    let hash: HashAlgorithm = args.hash.parse().map_err(|e| usage(format!("--hash: {e}")))?;
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
    let signer = UrlSigner::new(
        key_pair_id(args.key_pair_id)?,
        load_signing_key(&args.private_key)?,
        hash,
    );
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(|e| Failure(format!("stdin: {e}"), 1))?;
    let rewritten = rewrite_as_operator(&body, &args.url, args.expires, &config, &signer).map_err(|e| match e {
        PlaylistError::PlaylistUrl(_) => usage(e.to_string()),
        other => Failure(other.to_string(), 1),
    })?;
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
