//! The renewal loop: once per cluster (advisory lock), keeps a live channel on every calendar and renews
//! each one `renew_margin_secs` before it expires, plus a jitter of up to one more margin drawn from
//! the channel id (halfway through a life shorter than twice that); woken by `NOTIFY calsync_renew`
//! when a safety sync finds a channel degraded, so the calendar gets a new channel at once.

use std::time::Duration;

use sqlx::Connection;
use sqlx::pool::PoolConnection;
use sqlx::postgres::Postgres;
use tokio_util::sync::CancellationToken;

use super::registry::ChannelManager;

/// Advisory lock key held by the cluster's renewal leader ("calsync-renew").
pub const RENEWAL_LOCK_KEY: i64 = 0x6361_6c72_656e_6577;
/// Longest sleep between checks (also the retry delay after a failed renewal).
const MAX_SLEEP: Duration = Duration::from_secs(300);
/// Channel a safety sync notifies when it finds a calendar's channel degraded (`mark_push_degraded`).
pub const RENEW_CHANNEL: &str = "calsync_renew";

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
    let led = crate::db::locks::lead(&manager.pool, RENEWAL_LOCK_KEY, async |conn| {
        renew_while_leader(manager, shutdown, conn).await
    })
    .await?;
    if led.is_none() {
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
    Ok(())
}

/// The leader's loop: reconcile, sleep until the next renewal is due; ends at shutdown or on a database error.
async fn renew_while_leader(
    manager: &ChannelManager,
    shutdown: &CancellationToken,
    lock_conn: &mut PoolConnection<Postgres>,
) -> Result<(), sqlx::Error> {
    // Without LISTEN (it failed), a degraded channel is renewed at the next timed pass.
    let mut listener = match crate::db::listen(&manager.pool, RENEW_CHANNEL).await {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(error.cause = %e, "renewal: LISTEN failed; degraded channels wait for the next pass");
            None
        }
    };
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
            _ = shutdown.cancelled() => return Ok(()),
            _ = crate::db::wait_notification(&mut listener, sleep) => {}
        }
        // The lock lives on this connection: if it died, leadership is gone.
        lock_conn.ping().await?;
    }
}
