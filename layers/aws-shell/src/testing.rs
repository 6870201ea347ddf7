//! Test support (feature `testing`): a moto server on a free loopback port.
//!
//! moto's server comes from the repository's `.venv` (`moto[server]` in
//! `tests/requirements.txt`, installed by `scripts/bootstrap.sh python`). A
//! missing server is a loud failure, never a skip.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running moto server. It stops when this value drops, and also when the
/// test process exits (a watchdog shell kills it once our end of its stdin closes).
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

/// The moto server binary of the repository whose member crate is `manifest_dir`.
pub fn moto_binary(manifest_dir: &str) -> PathBuf {
    let mut dir = Path::new(manifest_dir);
    loop {
        let candidate = dir.join(".venv/bin/moto_server");
        if candidate.exists() {
            return candidate;
        }
        match dir.parent() {
            Some(parent) => dir = parent,
            None => panic!(
                "moto_server not found in a .venv above {manifest_dir}: run `scripts/bootstrap.sh python` \
                 (installs moto[server] from tests/requirements.txt)"
            ),
        }
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; the caller binds it next).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// An address on which nothing listens (for "service unavailable" tests).
pub fn closed_endpoint() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

impl MotoServer {
    /// Starts moto on a free port and waits until it accepts connections.
    pub fn start(manifest_dir: &str) -> Self {
        let binary = moto_binary(manifest_dir);
        let port = free_port();
        // The watchdog: moto runs in the background; `read` returns when our
        // end of the pipe closes (drop or process exit), then moto is killed.
        let script = format!(
            "'{}' -H 127.0.0.1 -p {port} >/dev/null 2>&1 & pid=$!; read _ignored; kill $pid 2>/dev/null; wait $pid 2>/dev/null",
            binary.display()
        );
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("cannot start sh for moto_server");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {addr} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        MotoServer {
            child,
            endpoint: format!("http://{addr}"),
        }
    }

    /// One server shared by all the tests of this process, started on first use.
    pub fn shared(manifest_dir: &str) -> &'static MotoServer {
        static SHARED: OnceLock<MotoServer> = OnceLock::new();
        SHARED.get_or_init(|| MotoServer::start(manifest_dir))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        if let Some(stdin) = self.child.stdin.as_mut() {
            let _ = stdin.write_all(b"\n");
        }
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
