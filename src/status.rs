//! The operational snapshot behind the status page and the scrape-time gauges of `/metrics`:
//! per-calendar channel and sync state, outbox depth, open conflicts, the last day's sync delays.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Bound on every snapshot query: a slow database must not hang a scrape or a page.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// One calendar as an operator sees it.
#[derive(Debug, Clone)]
pub struct CalendarStatus {
    pub id: String,
    pub name: String,
    pub role: String,
    pub color: Option<String>,
    pub channel_state: Option<String>,
    pub channel_expires: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    /// Change-to-database delay of the last successful run that answered a change.
    pub last_delay_ms: Option<f64>,
    pub consecutive_failures: i32,
    /// Permanent error that paused syncing (invalid_grant, calendar gone).
    pub paused_reason: Option<String>,
    pub last_error: Option<String>,
}

/// An open last-write-wins conflict.
#[derive(Debug, Clone)]
pub struct OpenConflict {
    pub id: uuid::Uuid,
    pub calendar_id: String,
    pub winner: String,
    pub detected_at: DateTime<Utc>,
}

/// One successful run's delay, for the chart.
#[derive(Debug, Clone, Copy)]
pub struct DelayPoint {
    pub at: DateTime<Utc>,
    pub delay_ms: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub calendars: Vec<CalendarStatus>,
    pub outbox_depth: i64,
    pub outbox_parked: i64,
    pub conflicts: Vec<OpenConflict>,
    pub delays: Vec<DelayPoint>,
}

async fn bounded<T>(
    f: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    tokio::time::timeout(QUERY_TIMEOUT, f)
        .await
        .unwrap_or(Err(sqlx::Error::PoolTimedOut))
}

/// Calendars, channels, outbox and conflicts (cheap: for every scrape).
pub async fn gauges(pool: &PgPool) -> Result<Snapshot, sqlx::Error> {
    let calendars = bounded(
        sqlx::query!(
            r#"SELECT c.id, c.name, c.casquette, c.color,
                      ch.state AS "channel_state?", ch.expiration AS "channel_expires?",
                      s.last_success_at, s.consecutive_failures AS "consecutive_failures?",
                      s.error_reason,
                      (SELECT r.error FROM sync_runs r WHERE r.calendar_id = c.id AND r.status = 'failed'
                         AND r.started_at > COALESCE(s.last_success_at, '-infinity')
                       ORDER BY r.id DESC LIMIT 1) AS last_error,
                      (SELECT EXTRACT(EPOCH FROM (r.finished_at - r.pending_since)) * 1000
                         FROM sync_runs r WHERE r.calendar_id = c.id AND r.status = 'success'
                          AND r.pending_since IS NOT NULL
                       ORDER BY r.id DESC LIMIT 1)::float8 AS last_delay_ms
                 FROM calendars c
                 LEFT JOIN sync_state s ON s.calendar_id = c.id
                 LEFT JOIN LATERAL (
                      SELECT w.state, w.expiration FROM watch_channels w
                       WHERE w.calendar_id = c.id AND w.state IN ('active', 'pending')
                       ORDER BY w.expiration DESC NULLS LAST LIMIT 1) ch ON TRUE
                WHERE c.active
                ORDER BY c.casquette, c.id"#
        )
        .fetch_all(pool),
    )
    .await?;
    let outbox = bounded(
        sqlx::query!(
            r#"SELECT count(*) FILTER (WHERE parked_at IS NULL) AS "ready!",
                      count(*) FILTER (WHERE parked_at IS NOT NULL) AS "parked!"
                 FROM outbox"#
        )
        .fetch_one(pool),
    )
    .await?;
    let conflicts = bounded(
        sqlx::query!(
            "SELECT id, calendar_id, winner, detected_at FROM conflicts
              WHERE resolved_at IS NULL ORDER BY detected_at DESC LIMIT 200"
        )
        .fetch_all(pool),
    )
    .await?;
    Ok(Snapshot {
        calendars: calendars
            .into_iter()
            .map(|r| CalendarStatus {
                id: r.id,
                name: r.name,
                role: r.casquette,
                color: r.color,
                channel_state: r.channel_state,
                channel_expires: r.channel_expires,
                last_success: r.last_success_at,
                last_delay_ms: r.last_delay_ms,
                consecutive_failures: r.consecutive_failures.unwrap_or(0),
                paused_reason: r.error_reason,
                last_error: r.last_error,
            })
            .collect(),
        outbox_depth: outbox.ready,
        outbox_parked: outbox.parked,
        conflicts: conflicts
            .into_iter()
            .map(|r| OpenConflict {
                id: r.id,
                calendar_id: r.calendar_id,
                winner: r.winner,
                detected_at: r.detected_at,
            })
            .collect(),
        delays: Vec::new(),
    })
}

/// Everything the status page shows, including the last day's delays.
pub async fn full(pool: &PgPool) -> Result<Snapshot, sqlx::Error> {
    let mut snap = gauges(pool).await?;
    let rows = bounded(
        sqlx::query!(
            r#"SELECT finished_at AS "at!",
                      (EXTRACT(EPOCH FROM (finished_at - pending_since)) * 1000)::float8 AS "delay_ms!"
                 FROM sync_runs
                WHERE status = 'success' AND finished_at > now() - interval '1 day'
                  AND pending_since IS NOT NULL
                ORDER BY finished_at DESC LIMIT 2000"#
        )
        .fetch_all(pool),
    )
    .await?;
    snap.delays = rows
        .into_iter()
        .rev()
        .map(|r| DelayPoint {
            at: r.at,
            delay_ms: r.delay_ms,
        })
        .collect();
    Ok(snap)
}

/// Sets the gauges read from the database (channels, outbox, conflicts) in `metrics`.
pub fn record_gauges(snap: &Snapshot, now: DateTime<Utc>, metrics: &crate::metrics::Metrics) {
    let live: Vec<&CalendarStatus> = snap
        .calendars
        .iter()
        .filter(|c| {
            c.channel_state.as_deref() == Some("active")
                && c.channel_expires.is_some_and(|e| e > now)
        })
        .collect();
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    metrics.set_gauges(
        "calsync_channels_live",
        "Calendars with a live watch channel.",
        &[(vec![], count(live.len()))],
    );
    let expiries: Vec<_> = live
        .iter()
        .filter_map(|c| {
            let exp = c.channel_expires?;
            let labels = vec![("calendar", c.id.clone()), ("role", c.role.clone())];
            Some((labels, (exp - now).num_seconds()))
        })
        .collect();
    metrics.set_gauges(
        "calsync_channel_expiry_seconds",
        "Seconds until each calendar's live channel expires.",
        &expiries,
    );
    metrics.set_gauges(
        "calsync_outbox_depth",
        "Local changes waiting to reach Google (parked ones excluded).",
        &[(vec![], snap.outbox_depth)],
    );
    metrics.set_gauges(
        "calsync_outbox_parked",
        "Local changes Google refused (400), kept for an operator.",
        &[(vec![], snap.outbox_parked)],
    );
    metrics.set_gauges(
        "calsync_conflicts_open",
        "Last-write-wins conflicts waiting for a choice.",
        &[(vec![], count(snap.conflicts.len()))],
    );
}
