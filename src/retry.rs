//! Retry policy: exponential backoff with jitter, `Retry-After` honoured, bounded in time and attempts.
//! The only user of the `backoff` crate (unmaintained upstream, RUSTSEC-2025-0012): swap it here alone.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

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
    let started = Instant::now();
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
                // backoff applies neither max_interval nor max_elapsed to a given delay: a
                // `Retry-After: 86400` would stall the caller for a day. Clamp it to both.
                Err(Attempt::Retry {
                    error,
                    after: Some(d),
                }) => match honoured_delay(&policy, d, started.elapsed()) {
                    Some(d) => Err(backoff::Error::retry_after(error, d)),
                    None => Err(backoff::Error::Permanent(error)),
                },
                Err(Attempt::Retry { error, after: None }) => Err(backoff::Error::transient(error)),
            }
        }
    };
    backoff::future::retry_notify(backoff, run, |_e, delay| {
        on_retry(attempts.load(Ordering::Relaxed), delay)
    })
    .await
}

/// The wait for a server-requested delay: at most `max_interval` and what is left of `max_elapsed`;
/// None when the budget is spent.
fn honoured_delay(policy: &RetryPolicy, asked: Duration, elapsed: Duration) -> Option<Duration> {
    let left = policy.max_elapsed.checked_sub(elapsed)?;
    if left.is_zero() {
        return None;
    }
    Some(asked.min(policy.max_interval).min(left))
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
                        after: Some(Duration::from_millis(60)),
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
            vec![Duration::from_millis(60)]
        );
        assert_eq!(calls.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_huge_retry_after_is_capped_by_max_interval_and_the_budget() {
        // Capped by max_interval (80 ms), not the server's hour.
        let delays = Mutex::new(Vec::new());
        let calls = AtomicU32::new(0);
        let out: Result<(), &str> = tokio::time::timeout(
            Duration::from_secs(5),
            retry(
                fast(),
                || async {
                    match calls.fetch_add(1, Ordering::Relaxed) {
                        0 => Err(Attempt::Retry {
                            error: "429",
                            after: Some(Duration::from_secs(3600)),
                        }),
                        _ => Err(Attempt::Fail("400")),
                    }
                },
                |_, d| delays.lock().unwrap().push(d),
            ),
        )
        .await
        .expect("a Retry-After of an hour must not stall the call");
        assert_eq!(out, Err("400"));
        assert_eq!(
            delays.lock().unwrap().clone(),
            vec![Duration::from_millis(80)]
        );

        // Capped by what is left of max_elapsed; then the call gives up.
        let budget = RetryPolicy {
            max_interval: Duration::from_secs(60),
            max_elapsed: Duration::from_millis(200),
            ..fast()
        };
        let started = Instant::now();
        let out: Result<(), &str> = tokio::time::timeout(
            Duration::from_secs(5),
            retry(
                budget,
                || async {
                    Err(Attempt::Retry {
                        error: "429",
                        after: Some(Duration::from_secs(3600)),
                    })
                },
                |_, d| assert!(d <= Duration::from_millis(200), "{d:?}"),
            ),
        )
        .await
        .expect("the elapsed budget holds with Retry-After too");
        assert_eq!(out, Err("429"));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn honoured_delay_clamps_and_stops_when_the_budget_is_spent() {
        let p = RetryPolicy::default();
        let s = Duration::from_secs;
        assert_eq!(honoured_delay(&p, s(5), s(0)), Some(s(5)));
        assert_eq!(honoured_delay(&p, s(3600), s(0)), Some(s(32)));
        assert_eq!(honoured_delay(&p, s(3600), s(110)), Some(s(10)));
        assert_eq!(honoured_delay(&p, s(1), s(120)), None);
        assert_eq!(honoured_delay(&p, s(1), s(500)), None);
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
