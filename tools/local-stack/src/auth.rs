//! `--auth jwt`: the local OpenID Connect issuer of the tests
//! (`tests/auth/auth_issuer.py`: RSA and P-256 keys, tokens minted with
//! PyJWT), run as a child process with the repository's Python venv.
//!
//! DEVELOPMENT ONLY: its `/token` mints a token for anyone who asks, which is
//! what the demo page's sign-in needs. It serves before the functions start,
//! so that their cold-start JWKS fetch finds it, and it stops with the stack
//! (when the stack's end closes its stdin, however the stack ended).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// The `aud` of the tokens and the functions' `JWT_AUDIENCE`.
pub const AUDIENCE: &str = "signed-hls-local";
/// The issuer program, relative to the repository root.
const SCRIPT: &str = "tests/auth/auth_issuer.py";
/// A Python with PyJWT, relative to the repository root (`scripts/bootstrap.sh python` makes it).
const PYTHON: &str = ".venv/bin/python";
/// Making its RSA keys takes a moment; this is far more.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The running issuer.
pub struct Issuer {
    child: Child,
    /// Its URL: `iss`, and where its discovery document is.
    pub url: String,
    /// Its JWKS.
    pub jwks_url: String,
    /// Where the demo page gets tokens (`?sub=alice&movies=1&lifetime=3600`).
    pub token_url: String,
}

impl Issuer {
    /// Starts the issuer on a free loopback port with `python` (default: the
    /// repository's venv) and waits until it serves.
    pub async fn start(python: Option<&Path>) -> Result<Issuer, String> {
        let python = python.map_or_else(|| repo_file(PYTHON), Path::to_path_buf);
        if !python.exists() {
            return Err(format!(
                "--auth jwt: {} is missing: run scripts/bootstrap.sh python (or pass --python)",
                python.display()
            ));
        }
        let script = repo_file(SCRIPT);
        let mut child = Command::new(&python)
            .arg(&script)
            .args(["--port", "0", "--audience", AUDIENCE, "--exit-with-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("--auth jwt: cannot start {}: {e}", python.display()))?;
        let stdout = child.stdout.take().ok_or("--auth jwt: the issuer has no stdout")?;
        let mut line = String::new();
        match tokio::time::timeout(START_TIMEOUT, BufReader::new(stdout).read_line(&mut line)).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(Ok(_)) => return Err(format!("--auth jwt: {} exited: see its error above", script.display())),
            Ok(Err(e)) => return Err(format!("--auth jwt: reading the issuer: {e}")),
            Err(_) => return Err(format!("--auth jwt: the issuer did not serve within {START_TIMEOUT:?}")),
        }
        let ready: Value =
            serde_json::from_str(&line).map_err(|e| format!("--auth jwt: the issuer said {line:?}: {e}"))?;
        let field = |name: &str| {
            ready
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("--auth jwt: no {name} in the issuer's {line:?}"))
        };
        Ok(Issuer {
            url: field("issuer")?,
            jwks_url: field("jwks_uri")?,
            token_url: field("token_url")?,
            child,
        })
    }

    /// Stops the issuer.
    pub fn stop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A file of the repository: below the current folder (the scripts and tests
/// run the stack from the root), else below the root this binary was built from.
fn repo_file(relative: &str) -> PathBuf {
    let here = PathBuf::from(relative);
    if here.exists() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}
