//! The suite's own SQL under PostgreSQL restarts: a statement is run again while the server cannot be
//! reached (up to 20 s), its closure told whether this is a repeat (an answer may have been lost).

use std::future::Future;
use std::time::{Duration, Instant};

/// Runs a statement, again while PostgreSQL is unreachable (up to 20 s); `retry` tells a repeat apart.
pub async fn sql<T, F, Fut>(mut run: F) -> Result<T, String>
where
    F: FnMut(bool) -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let start = Instant::now();
    let mut retry = false;
    loop {
        match run(retry).await {
            Ok(v) => return Ok(v),
            Err(e) if transient(&e) && start.elapsed() < Duration::from_secs(20) => {
                retry = true;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
        _ => false,
    }
}
