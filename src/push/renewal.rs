//! The renewal loop: once per cluster (advisory lock), keeps a live channel on every calendar and renews
//! each one `renew_margin_secs` before it expires.

use std::time::Duration;

use sqlx::Connection;
use tokio_util::sync::CancellationToken;

use super::registry::ChannelManager;

/// Advisory lock key held by the cluster's renewal leader ("calsync-renew").
pub const RENEWAL_LOCK_KEY: i64 = 0x6361_6c72_656e_6577;
/// Longest sleep between checks (also the retry delay after a failed renewal).
const MAX_SLEEP: Duration = Duration::from_secs(300);

/// Runs until `shutdown`.
pub async fn run(manager: ChannelManager, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        if let Err(e) = lead(&manager, &shutdown).await {
            tracing::warn!(error.cause = %e, "renewal: database error; retrying");
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

async fn lead(manager: &ChannelManager, shutdown: &CancellationToken) -> Result<(), sqlx::Error> {
    let mut conn = manager.pool.acquire().await?;
    let leader: bool = sqlx::query_scalar!(
        "SELECT pg_try_advisory_lock($1) AS \"l!\"",
        RENEWAL_LOCK_KEY
    )
    .fetch_one(&mut *conn)
    .await?;
    if !leader {
        drop(conn);
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
        return Ok(());
    }
    loop {
        let sleep = match manager.reconcile().await {
            Ok(_) => match manager.next_renewal().await? {
                Some(at) => (at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO),
                None => MAX_SLEEP,
            },
            Err(e) => {
                tracing::warn!(error.cause = %e, "renewal pass failed; retrying");
                Duration::from_secs(30)
            }
        }
        .clamp(Duration::from_secs(1), MAX_SLEEP);
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(sleep) => {}
        }
        conn.ping().await?;
    }
    let _ = sqlx::query_scalar!("SELECT pg_advisory_unlock($1) AS \"u!\"", RENEWAL_LOCK_KEY)
        .fetch_one(&mut *conn)
        .await;
    Ok(())
}
