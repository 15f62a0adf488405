//! The fallback poll and the safety sync: once per cluster (advisory lock), marks pending the calendars
//! with no recent successful sync (after `poll` without a live channel, after `safety` with one: push
//! first), sleeping until the next one is due, at most a minute, so a channel going bad is seen soon.

use std::time::Duration;

use sqlx::{Connection, PgPool};
use tokio_util::sync::CancellationToken;

use crate::db::sync_state as state;

/// Advisory lock key held by the cluster's poll leader ("calsync-poll").
pub const POLL_LOCK_KEY: i64 = 0x6361_6c73_706f_6c6c;
/// The longest the leader sleeps, and the longest a follower waits before it tries to lead again.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How often calendars are synced without a push.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    /// Without a live channel (`sync_interval_minutes`).
    pub poll: Duration,
    /// With one (`push.safety_sync_hours`).
    pub safety: Duration,
}

/// Runs until `shutdown`.
pub async fn run(pool: PgPool, interval: Intervals, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        // A follower's wait is `lead`'s; only an error waits here too.
        if let Err(e) = lead(&pool, interval, &shutdown).await {
            tracing::warn!(error.cause = %e, "poll scheduler: database error; retrying");
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    }
}

/// Holds the leader lock on its own connection while scheduling; returns when it is not leader or on error.
async fn lead(
    pool: &PgPool,
    interval: Intervals,
    shutdown: &CancellationToken,
) -> Result<(), sqlx::Error> {
    let led = crate::db::locks::lead(pool, POLL_LOCK_KEY, async |conn| {
        tracing::debug!("poll scheduler: leader");
        schedule(pool, interval, shutdown, conn).await
    })
    .await?;
    if led.is_none() {
        // A follower tries again as often as the leader looks, so a dead leader's place is taken
        // within one interval (it waited a whole minute, whatever the interval).
        let retry = interval
            .poll
            .min(interval.safety)
            .clamp(Duration::from_secs(1), MAX_SLEEP);
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(retry) => {}
        }
    }
    Ok(())
}

async fn schedule(
    pool: &PgPool,
    interval: Intervals,
    shutdown: &CancellationToken,
    lock_conn: &mut sqlx::pool::PoolConnection<sqlx::Postgres>,
) -> Result<(), sqlx::Error> {
    loop {
        let due = state::mark_due_for_poll(pool, interval.poll, interval.safety).await?;
        if !due.is_empty() {
            tracing::info!(calendars = due.len(), "fallback poll: calendars due");
        }
        let sleep = match state::next_poll_due(pool, interval.poll, interval.safety).await? {
            Some(at) => (at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO),
            // Nothing synced yet: look again after the shorter interval.
            None => interval.poll.min(interval.safety),
        }
        // A calendar just marked (or still running) has no due time yet: it is due one interval after
        // its run ends, so never sleep longer than the shorter interval.
        .min(interval.poll.min(interval.safety))
        .clamp(Duration::from_millis(200), MAX_SLEEP);
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(sleep) => {}
        }
        // The lock lives on this connection: if it died, leadership is gone.
        lock_conn.ping().await?;
    }
}
