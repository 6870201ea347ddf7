//! The Lambda Runtime API, enough of it to run an unmodified function binary:
//! `next`, `response`, `error` and `init/error`, as the AWS runtime client
//! (`lambda_runtime`) calls them. Several processes of one function share one
//! queue, as concurrent Lambda instances share one function's traffic.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use serde_json::Value;
use tokio::io::AsyncBufReadExt as _;
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

/// What an invocation came back with: the function's response payload, or why there is none.
pub type Outcome = Result<Value, String>;

/// An answer as the Runtime API received it: the payload's bytes (not yet
/// parsed) and the moment its last byte arrived.
pub struct Received {
    /// The response payload, or why there is none.
    pub payload: Result<Bytes, String>,
    /// When the Runtime API had it all.
    pub at: Instant,
}

struct Invocation {
    event: Value,
    reply: oneshot::Sender<Received>,
}

struct Shared {
    name: String,
    queue: Mutex<mpsc::Receiver<Invocation>>,
    pending: std::sync::Mutex<HashMap<String, oneshot::Sender<Received>>>,
    next_id: AtomicU64,
    timeout: Duration,
}

/// Where the output of a function's processes (their logs) goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Logs {
    /// Our stderr (both streams: our stdout carries only the ready line).
    Stderr,
    /// Nowhere (a measurement).
    Discard,
    /// Kept, line by line (stdout; stderr discarded), for [`Function::take_logs`].
    Capture,
}

/// A function running behind its own Runtime API endpoint.
pub struct Function {
    name: String,
    queue: mpsc::Sender<Invocation>,
    timeout: Duration,
    children: std::sync::Mutex<Vec<Child>>,
    started: Instant,
    server: JoinHandle<()>,
    captured: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Function {
    /// Serves the Runtime API on a free loopback port and starts `instances`
    /// processes of `binary` pointed at it, with `env` on top of a clean
    /// environment (as on Lambda, nothing leaks in from the shell but PATH).
    pub async fn start(
        name: &str,
        binary: &Path,
        env: &[(String, String)],
        instances: usize,
        timeout: Duration,
        logs: Logs,
    ) -> std::io::Result<Function> {
        let (sender, receiver) = mpsc::channel(1024);
        let shared = Arc::new(Shared {
            name: name.to_owned(),
            queue: Mutex::new(receiver),
            pending: std::sync::Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            timeout,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let api = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener.tap_io(crate::no_delay), app).await;
        });

        let started = Instant::now();
        let captured = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut children = Vec::with_capacity(instances);
        for instance in 0..instances {
            let mut command = Command::new(binary);
            command
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
                .env("AWS_LAMBDA_FUNCTION_NAME", name)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("local/{instance}"))
                .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
                .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .kill_on_drop(true);
            match logs {
                Logs::Stderr => command.stdout(Stdio::from(std::io::stderr())),
                Logs::Discard => command.stdout(Stdio::null()).stderr(Stdio::null()),
                Logs::Capture => command.stdout(Stdio::piped()).stderr(Stdio::null()),
            };
            let mut child = command
                .spawn()
                .map_err(|e| std::io::Error::new(e.kind(), format!("cannot start {}: {e}", binary.display())))?;
            if let Some(stdout) = child.stdout.take() {
                let captured = captured.clone();
                tokio::spawn(async move {
                    let mut lines = tokio::io::BufReader::new(stdout).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Ok(mut captured) = captured.lock() {
                            captured.push(line);
                        }
                    }
                });
            }
            children.push(child);
        }
        Ok(Function {
            name: name.to_owned(),
            queue: sender,
            timeout,
            children: std::sync::Mutex::new(children),
            started,
            server,
            captured,
        })
    }

    /// The lines the processes wrote so far ([`Logs::Capture`]), taken.
    pub fn take_logs(&self) -> Vec<String> {
        self.captured
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }

    /// The process ids of the function's processes.
    pub fn pids(&self) -> Vec<u32> {
        self.children
            .lock()
            .map(|c| c.iter().filter_map(Child::id).collect())
            .unwrap_or_default()
    }

    /// When the processes were started: the beginning of their cold start.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Invokes the function with `event` and waits for its answer.
    pub async fn invoke(&self, event: Value) -> Outcome {
        let payload = self.invoke_raw(event).await.payload?;
        serde_json::from_slice(&payload).map_err(|e| format!("response is not JSON: {e}"))
    }

    /// Invokes the function with `event` and waits for its answer, as
    /// received: unparsed, with the moment it arrived (a measurement that
    /// leaves out our own parsing of the payload).
    pub async fn invoke_raw(&self, event: Value) -> Received {
        let failed = |reason: String| Received {
            payload: Err(reason),
            at: Instant::now(),
        };
        let (reply, answer) = oneshot::channel();
        if self.queue.send(Invocation { event, reply }).await.is_err() {
            return failed(format!("{} is not running", self.name));
        }
        match tokio::time::timeout(self.timeout, answer).await {
            Ok(Ok(received)) => received,
            Ok(Err(_)) => failed(format!("{} dropped the invocation", self.name)),
            Err(_) => failed(format!("{} timed out after {:?}", self.name, self.timeout)),
        }
    }

    /// Whether any process of the function has exited (a failed cold start, a crash).
    pub fn exited(&self) -> Option<String> {
        let mut children = self.children.lock().ok()?;
        children.iter_mut().find_map(|child| match child.try_wait() {
            Ok(Some(status)) => Some(format!("{} exited ({status})", self.name)),
            _ => None,
        })
    }

    /// Stops every process of the function.
    pub fn stop(&self) {
        if let Ok(mut children) = self.children.lock() {
            for child in children.iter_mut() {
                let _ = child.start_kill();
            }
        }
    }

    /// Stops every process of the function, waits until they have exited,
    /// and closes the Runtime API.
    pub async fn shutdown(&self) {
        let children = self
            .children
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default();
        for mut child in children {
            let _ = child.kill().await;
        }
        self.server.abort();
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let invocation = shared.queue.lock().await.recv().await;
    let Some(Invocation { event, reply }) = invocation else {
        return (StatusCode::GONE, "shutting down").into_response();
    };
    let id = format!(
        "local-{}-{:08}",
        shared.name,
        shared.next_id.fetch_add(1, Ordering::Relaxed)
    );
    if let Ok(mut pending) = shared.pending.lock() {
        pending.insert(id.clone(), reply);
    }
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
        + shared.timeout.as_millis();
    let mut headers = HeaderMap::new();
    let arn = format!("arn:aws:lambda:us-east-1:000000000000:function:{}", shared.name);
    for (name, value) in [
        ("lambda-runtime-aws-request-id", id.as_str()),
        ("lambda-runtime-deadline-ms", &deadline.to_string()),
        ("lambda-runtime-invoked-function-arn", &arn),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000;Sampled=0",
        ),
        ("content-type", "application/json"),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    (StatusCode::OK, headers, event.to_string()).into_response()
}

fn settle(shared: &Shared, id: &str, payload: Result<Bytes, String>) -> StatusCode {
    let at = Instant::now();
    let reply = shared.pending.lock().ok().and_then(|mut pending| pending.remove(id));
    match reply {
        Some(reply) => {
            let _ = reply.send(Received { payload, at });
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(State(shared): State<Arc<Shared>>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    settle(&shared, &id, Ok(body))
}

async fn error(State(shared): State<Arc<Shared>>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    settle(
        &shared,
        &id,
        Err(format!("function error: {}", String::from_utf8_lossy(&body))),
    )
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    eprintln!(
        "local-stack: {} failed its cold start: {}",
        shared.name,
        String::from_utf8_lossy(&body)
    );
    StatusCode::ACCEPTED
}
