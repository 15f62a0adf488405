//! Retry policy: exponential backoff with jitter, `Retry-After` honoured, bounded in time and attempts.
//! The only user of the `backoff` crate (unmaintained upstream, RUSTSEC-2025-0012): swap it here alone.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backoff::ExponentialBackoffBuilder;

/// Bounds of one retried operation.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max_interval: Duration,
    /// Total time budget, waits included.
    pub max_elapsed: Duration,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// Google's truncated exponential backoff: 1 s, 2 s, 4 s … capped at 32 s, two minutes in all.
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max_interval: Duration::from_secs(32),
            max_elapsed: Duration::from_secs(120),
            max_attempts: 8,
        }
    }
}

/// What one attempt says about retrying.
#[derive(Debug)]
pub enum Attempt<E> {
    /// Worth another try, after at least `after` when the server said so (`Retry-After`).
    Retry { error: E, after: Option<Duration> },
    /// Final.
    Fail(E),
}

/// Runs `op` until it succeeds, fails permanently, or the policy's budget is spent.
/// `on_retry(attempt, delay)` sees each scheduled retry (metrics, logs).
pub async fn retry<T, E, F, Fut>(
    policy: RetryPolicy,
    mut op: F,
    on_retry: impl Fn(u32, Duration),
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Attempt<E>>>,
{
    let backoff = ExponentialBackoffBuilder::new()
        .with_initial_interval(policy.initial)
        .with_max_interval(policy.max_interval)
        .with_multiplier(2.0)
        // Jitter across the whole interval (0.5x–1.5x the nominal delay) so clients spread out.
        .with_randomization_factor(0.5)
        .with_max_elapsed_time(Some(policy.max_elapsed))
        .build();
    let attempts = Arc::new(AtomicU32::new(0));
    let max = policy.max_attempts.max(1);
    let run = || {
        let n = attempts.fetch_add(1, Ordering::Relaxed) + 1;
        let fut = op();
        async move {
            match fut.await {
                Ok(v) => Ok(v),
                Err(Attempt::Fail(e)) => Err(backoff::Error::Permanent(e)),
                Err(Attempt::Retry { error, .. }) if n >= max => {
                    Err(backoff::Error::Permanent(error))
                }
                Err(Attempt::Retry {
                    error,
                    after: Some(d),
                }) => Err(backoff::Error::retry_after(error, d)),
                Err(Attempt::Retry { error, after: None }) => Err(backoff::Error::transient(error)),
            }
        }
    };
    backoff::future::retry_notify(backoff, run, |_e, delay| {
        on_retry(attempts.load(Ordering::Relaxed), delay)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn fast() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(10),
            max_interval: Duration::from_millis(80),
            max_elapsed: Duration::from_secs(5),
            max_attempts: 5,
        }
    }

    #[tokio::test]
    async fn retries_transient_errors_with_growing_delays() {
        let delays = Mutex::new(Vec::new());
        let calls = AtomicU32::new(0);
        let out: Result<u32, &str> = retry(
            fast(),
            || async {
                let n = calls.fetch_add(1, Ordering::Relaxed);
                if n < 3 {
                    Err(Attempt::Retry {
                        error: "busy",
                        after: None,
                    })
                } else {
                    Ok(n)
                }
            },
            |_, d| delays.lock().unwrap().push(d),
        )
        .await;
        assert_eq!(out, Ok(3));
        let d = delays.lock().unwrap().clone();
        assert_eq!(d.len(), 3);
        // Nominal 10, 20, 40 ms with ±50 % jitter: the third is always above the first's ceiling.
        assert!(d[2] > Duration::from_millis(15), "{d:?}");
    }

    #[tokio::test]
    async fn honours_retry_after_and_stops_on_permanent_errors() {
        let delays = Mutex::new(Vec::new());
        let calls = AtomicU32::new(0);
        let out: Result<(), &str> = retry(
            fast(),
            || async {
                match calls.fetch_add(1, Ordering::Relaxed) {
                    0 => Err(Attempt::Retry {
                        error: "429",
                        after: Some(Duration::from_millis(300)),
                    }),
                    _ => Err(Attempt::Fail("400")),
                }
            },
            |_, d| delays.lock().unwrap().push(d),
        )
        .await;
        assert_eq!(out, Err("400"));
        assert_eq!(
            delays.lock().unwrap().clone(),
            vec![Duration::from_millis(300)]
        );
        assert_eq!(calls.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        let calls = AtomicU32::new(0);
        let out: Result<(), &str> = retry(
            fast(),
            || async {
                calls.fetch_add(1, Ordering::Relaxed);
                Err(Attempt::Retry {
                    error: "503",
                    after: None,
                })
            },
            |_, _| {},
        )
        .await;
        assert_eq!(out, Err("503"));
        assert_eq!(calls.load(Ordering::Relaxed), 5);
    }
}
