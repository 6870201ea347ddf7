//! Bounded retries with exponential backoff, for transient errors only.

use std::future::Future;
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Total attempts, the first included (at least 1).
    pub attempts: u32,
    /// The delay after the first failure; doubled after each further one.
    pub initial: Duration,
    /// The longest delay between two attempts.
    pub max: Duration,
}

impl Default for Backoff {
    /// 3 attempts, 100 ms then 200 ms apart: a request that cannot reach AWS
    /// answers 503 within about half a second plus the connect timeouts.
    fn default() -> Self {
        Backoff {
            attempts: 3,
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        }
    }
}

impl Backoff {
    /// The delay before attempt `n + 1`, after `n` failures (`n >= 1`).
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.saturating_sub(1)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// Runs `op` until it succeeds, fails with an error that `transient`
    /// rejects, or the attempts are spent; the last error is returned.
    pub async fn retry<T, E, F, Fut>(&self, transient: impl Fn(&E) -> bool, mut op: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut failures = 0;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    failures += 1;
                    if failures >= self.attempts.max(1) || !transient(&e) {
                        return Err(e);
                    }
                    tracing::debug!(attempt = failures, "transient failure, retrying");
                    tokio::time::sleep(self.delay(failures)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn delays_double_up_to_the_max() {
        let b = Backoff {
            attempts: 10,
            initial: Duration::from_millis(100),
            max: Duration::from_millis(350),
        };
        let d: Vec<u128> = (1..6).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(d, [100, 200, 350, 350, 350]);
        assert_eq!(b.delay(200), Duration::from_millis(350));
    }

    #[tokio::test]
    async fn retries_transient_errors_only() {
        let b = Backoff {
            attempts: 3,
            initial: Duration::from_millis(1),
            max: Duration::from_millis(1),
        };
        let calls = AtomicU32::new(0);
        let r: Result<(), &str> = b
            .retry(
                |e| *e == "flaky",
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err("flaky")
                },
            )
            .await;
        assert_eq!((r, calls.load(Ordering::SeqCst)), (Err("flaky"), 3));
        calls.store(0, Ordering::SeqCst);
        let r: Result<(), &str> = b
            .retry(
                |e| *e == "flaky",
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err("fatal")
                },
            )
            .await;
        assert_eq!((r, calls.load(Ordering::SeqCst)), (Err("fatal"), 1));
        calls.store(0, Ordering::SeqCst);
        let r = b
            .retry(
                |_: &&str| true,
                || async {
                    if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                        Err("flaky")
                    } else {
                        Ok(7)
                    }
                },
            )
            .await;
        assert_eq!(r, Ok(7));
    }
}
