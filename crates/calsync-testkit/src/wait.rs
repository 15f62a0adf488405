//! Waiting until something holds: the polling loops tests used to write by hand.

use std::fmt::Debug;
use std::time::{Duration, Instant};

/// How often [`wait_for`] checks.
pub const POLL_EVERY: Duration = Duration::from_millis(50);

/// Checks `check` every `every` until it holds; whether it did within `timeout` (checked at least once).
pub async fn poll(
    timeout: Duration,
    every: Duration,
    mut check: impl AsyncFnMut() -> bool,
) -> bool {
    let start = Instant::now();
    loop {
        if check().await {
            return true;
        }
        if start.elapsed() >= timeout {
            return false;
        }
        tokio::time::sleep(every).await;
    }
}

/// Polls `check` every 50 ms until it holds; panics naming `what` after `timeout`.
pub async fn wait_for(what: &str, timeout: Duration, check: impl AsyncFnMut() -> bool) {
    if !poll(timeout, POLL_EVERY, check).await {
        panic!("timed out waiting for {what}");
    }
}

/// Polls `probe` every `every` until it yields `Ok`, and returns that value; after `timeout`, panics
/// naming `what` and the last `Err` (the state that was seen, or why the attempt failed).
pub async fn wait_ok<T, E: Debug>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut probe: impl AsyncFnMut() -> Result<T, E>,
) -> T {
    let start = Instant::now();
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(last) if start.elapsed() >= timeout => {
                panic!("timed out after {timeout:?} waiting for {what}; last: {last:?}")
            }
            Err(_) => tokio::time::sleep(every).await,
        }
    }
}
