//! `local-stack coldstart`: the cold start of a function binary as Lambda
//! sees it, from process start to the first response posted to the Runtime
//! API, and the warm invocation that follows. Each run is a fresh process
//! behind a fresh Runtime API (the one the stack runs the functions with),
//! with both invocations queued before it starts.
//!
//! It only measures: the event, the environment and what the function
//! reaches (moto, a key file) are the caller's (`scripts/coldstart.py`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};

use crate::fail;
use crate::runtime_api::{Function, Logs, Outcome};

/// How long one invocation may take, as the stack allows.
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Parser)]
#[command(
    bin_name = "local-stack coldstart",
    about = "Measure a function's cold start: process start to first response, over fresh processes"
)]
pub struct Options {
    /// The function binary.
    #[arg(long)]
    binary: PathBuf,
    /// Its environment, KEY=VALUE, on top of a clean one (PATH and the
    /// AWS_LAMBDA_* variables, which these may override).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// The event (JSON) of both invocations; each must answer statusCode 200.
    #[arg(long)]
    event: PathBuf,
    /// Fresh processes to start, one after the other.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
    /// Show the function's output (its logs) on stderr; by default it is
    /// discarded, as writing it would be part of what is measured.
    #[arg(long)]
    logs: bool,
}

/// Runs the measurement and prints the median and p90 of the cold starts
/// and the median of the warm invocations, in milliseconds.
pub async fn main(options: Options) {
    if options.runs == 0 {
        fail("--runs must be at least 1");
    }
    let text = std::fs::read_to_string(&options.event)
        .unwrap_or_else(|e| fail(format!("--event {}: {e}", options.event.display())));
    let event: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| fail(format!("--event {}: {e}", options.event.display())));
    let env: Vec<(String, String)> = options
        .env
        .iter()
        .map(|spec| {
            let (name, value) = crate::key_value("--env", spec, "KEY=VALUE");
            (name.to_owned(), value.to_owned())
        })
        .collect();
    if !options.binary.exists() {
        fail(format!("--binary {} is missing", options.binary.display()));
    }
    let name = options
        .binary
        .file_name()
        .map_or_else(|| "function".to_owned(), |n| n.to_string_lossy().into_owned());

    let logs = if options.logs { Logs::Stderr } else { Logs::Discard };
    let mut cold = Vec::with_capacity(options.runs);
    let mut warm = Vec::with_capacity(options.runs);
    for _ in 0..options.runs {
        let function = Function::start(&name, &options.binary, &env, 1, TIMEOUT, logs)
            .await
            .unwrap_or_else(|e| fail(e));
        // Both invocations are queued at once: the second is waiting when the
        // process asks for its next event, as on a busy Lambda instance.
        let timed = |event: Value| {
            let function = &function;
            async move {
                let outcome = function.invoke(event).await;
                (outcome, Instant::now())
            }
        };
        let hint = if options.logs { "" } else { "; --logs shows its output" };
        // A process that dies (a failed cold start) fails the run at once,
        // not after the invocation timeout.
        let exited = async {
            loop {
                if let Some(reason) = function.exited() {
                    return reason;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        let (first, second) = tokio::select! {
            both = async { tokio::join!(timed(event.clone()), timed(event.clone())) } => both,
            reason = exited => fail(format!("{reason}{hint}")),
        };
        let (first, second) = if first.1 <= second.1 {
            (first, second)
        } else {
            (second, first)
        };
        for (outcome, which) in [(&first.0, "first"), (&second.0, "second")] {
            if let Err(reason) = expect_ok(outcome) {
                fail(format!("{name}: {which} invocation: {reason}{hint}"));
            }
        }
        cold.push(millis(first.1 - function.started()));
        warm.push(millis(second.1 - first.1));
        function.shutdown().await;
    }

    cold.sort_by(f64::total_cmp);
    warm.sort_by(f64::total_cmp);
    let (cold_median, cold_p90, warm_median) = (median(&cold), p90(&cold), median(&warm));
    if options.json {
        println!(
            "{}",
            json!({
                "binary": name,
                "runs": options.runs,
                "cold_ms": {"median": cold_median, "p90": cold_p90},
                "warm_ms": {"median": warm_median},
            })
        );
    } else {
        println!(
            "{name:8} cold start (spawn to first response): median {cold_median:6.2} ms  p90 {cold_p90:6.2} ms  \
             (next warm invocation {warm_median:5.2} ms) over {} runs",
            options.runs
        );
    }
}

/// A function URL answer with `statusCode` 200 (Lambda's default when absent).
fn expect_ok(outcome: &Outcome) -> Result<(), String> {
    let payload = outcome.as_ref().map_err(Clone::clone)?;
    match payload.get("statusCode").and_then(Value::as_u64).unwrap_or(200) {
        200 => Ok(()),
        status => {
            let text = payload.to_string();
            Err(format!("status {status}: {}", text.get(..300).unwrap_or(&text)))
        }
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The median of sorted, non-empty `values`.
pub(crate) fn median(values: &[f64]) -> f64 {
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

/// The 90th percentile of sorted, non-empty `values`, the nearest rank below.
pub(crate) fn p90(values: &[f64]) -> f64 {
    values[(values.len() - 1) * 9 / 10]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p90() {
        assert_eq!(median(&[1.0]), 1.0);
        assert_eq!(median(&[1.0, 2.0, 4.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 10.0]), 3.0);
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        // int(0.9 * 19) = 17: the 18th value, as scripts/coldstart.py always did.
        assert_eq!(p90(&twenty), 18.0);
        assert_eq!(p90(&[5.0]), 5.0);
    }

    #[test]
    fn only_a_200_passes() {
        assert!(expect_ok(&Ok(json!({"statusCode": 200, "body": "{}"}))).is_ok());
        assert!(expect_ok(&Ok(json!({"body": "{}"}))).is_ok());
        assert!(expect_ok(&Ok(json!({"statusCode": 503}))).is_err());
        assert!(expect_ok(&Err("timed out".into())).is_err());
    }
}
