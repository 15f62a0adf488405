//! Waiting until something holds: the polling loops tests used to write by hand.
//!
//! The probes are `FnMut() -> impl Future` (write them `|| async { .. }`) rather than async
//! closures: the futures of those are not `Send` for every lifetime, so a wait inside a
//! `tokio::spawn`ed task (the convergence suite's seeds) would not compile.

use std::fmt::Debug;
use std::time::{Duration, Instant};

/// How often [`wait_for`] checks.
pub const POLL_EVERY: Duration = Duration::from_millis(50);

/// Runs `probe` every `every` until `done` holds for its value or `timeout` has passed (it runs at
/// least once); returns the last value, so the caller asserts on what it saw.
pub async fn poll_until<T, F, Fut>(
    timeout: Duration,
    every: Duration,
    mut probe: F,
    done: impl Fn(&T) -> bool,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let start = Instant::now();
    loop {
        let value = probe().await;
        if done(&value) || start.elapsed() >= timeout {
            return value;
        }
        tokio::time::sleep(every).await;
    }
}

/// Checks `check` every `every` until it holds; whether it did within `timeout`.
pub async fn poll<F, Fut>(timeout: Duration, every: Duration, check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    poll_until(timeout, every, check, |held| *held).await
}

/// Polls `check` every 50 ms until it holds; panics naming `what` after `timeout`.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    if !poll(timeout, POLL_EVERY, check).await {
        panic!("timed out waiting for {what}");
    }
}

/// Polls `probe` every `every` until it yields `Ok`, and returns that value; after `timeout`, panics
/// naming `what` and the last `Err` (the state that was seen, or why the attempt failed).
pub async fn wait_ok<T, E, F, Fut>(what: &str, timeout: Duration, every: Duration, probe: F) -> T
where
    E: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    match poll_until(timeout, every, probe, Result::is_ok).await {
        Ok(value) => value,
        Err(last) => panic!("timed out after {timeout:?} waiting for {what}; last: {last:?}"),
    }
}
