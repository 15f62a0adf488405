//! Read models across tables (calendars, sync_state, watch_channels, sync_runs, outbox, conflicts):
//! the operational snapshot behind the status page, `/readyz` and the scrape-time gauges.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::conflicts::Winner;

/// Bound on every snapshot query: a slow database must not hang a scrape or a page.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// One calendar as an operator sees it.
#[derive(Debug, Clone)]
pub struct CalendarStatus {
    pub id: String,
    pub account: String,
    pub name: String,
    pub casquette: String,
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
    /// Channel health (`calendar_push_health`): `live`, `degraded` or `none`.
    pub push_health: String,
    /// Why it is not live, as shown ([`sync_mode`]).
    pub push_reason: Option<String>,
}

/// An open last-write-wins conflict.
#[derive(Debug, Clone)]
pub struct OpenConflict {
    pub id: uuid::Uuid,
    pub calendar_id: String,
    pub winner: Winner,
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

/// Calendars, channels, outbox and conflicts (cheap: for every scrape); `push_enabled` as configured.
pub async fn gauges(pool: &PgPool, push_enabled: bool) -> Result<Snapshot, sqlx::Error> {
    gauges_of(pool, push_enabled, None).await
}

/// [`gauges`], of one account's calendars when given (an account-scoped caller).
pub async fn gauges_of(
    pool: &PgPool,
    push_enabled: bool,
    account: Option<&str>,
) -> Result<Snapshot, sqlx::Error> {
    let calendars = bounded(
        sqlx::query!(
            r#"SELECT c.id, c.account, c.name, c.casquette, c.color,
                      ch.state AS "channel_state?", ch.expiration AS "channel_expires?",
                      s.last_success_at, s.consecutive_failures AS "consecutive_failures?",
                      COALESCE(s.error_reason, a.paused_reason) AS error_reason,
                      COALESCE(h.health, 'none') AS "push_health!",
                      h.reason AS "push_reason?",
                      (SELECT r.error FROM sync_runs r WHERE r.calendar_id = c.id AND r.status = 'failed'
                         AND r.started_at > COALESCE(s.last_success_at, '-infinity')
                       ORDER BY r.id DESC LIMIT 1) AS last_error,
                      (SELECT EXTRACT(EPOCH FROM (r.finished_at - r.pending_since)) * 1000
                         FROM sync_runs r WHERE r.calendar_id = c.id AND r.status = 'success'
                          AND r.pending_since IS NOT NULL
                       ORDER BY r.id DESC LIMIT 1)::float8 AS last_delay_ms
                 FROM calendars c
                 LEFT JOIN sync_state s ON s.calendar_id = c.id
                 LEFT JOIN calendar_push_health h ON h.calendar_id = c.id
                 LEFT JOIN account_state a ON a.account = c.account
                 LEFT JOIN LATERAL (
                      SELECT w.state, w.expiration FROM watch_channels w
                       WHERE w.calendar_id = c.id AND w.state IN ('active', 'pending')
                       ORDER BY w.expiration DESC NULLS LAST LIMIT 1) ch ON TRUE
                WHERE c.active AND ($1::text IS NULL OR c.account = $1)
                ORDER BY c.casquette, c.id"#,
            account
        )
        .fetch_all(pool),
    )
    .await?;
    let outbox = bounded(
        sqlx::query!(
            r#"SELECT count(*) FILTER (WHERE parked_at IS NULL) AS "ready!",
                      count(*) FILTER (WHERE parked_at IS NOT NULL) AS "parked!"
                 FROM outbox
                WHERE $1::text IS NULL
                   OR calendar_id IN (SELECT id FROM calendars WHERE account = $1)"#,
            account
        )
        .fetch_one(pool),
    )
    .await?;
    let conflicts = bounded(
        sqlx::query!(
            r#"SELECT id, calendar_id, winner AS "winner: Winner", detected_at FROM conflicts
                WHERE resolved_at IS NULL
                  AND ($1::text IS NULL OR calendar_id IN (SELECT id FROM calendars WHERE account = $1))
                ORDER BY detected_at DESC LIMIT 200"#,
            account
        )
        .fetch_all(pool),
    )
    .await?;
    Ok(Snapshot {
        calendars: calendars
            .into_iter()
            .map(|r| {
                let (_, push_reason) =
                    sync_mode(&r.push_health, r.push_reason.as_deref(), push_enabled);
                CalendarStatus {
                    id: r.id,
                    account: r.account,
                    name: r.name,
                    casquette: r.casquette,
                    color: r.color,
                    channel_state: r.channel_state,
                    channel_expires: r.channel_expires,
                    last_success: r.last_success_at,
                    last_delay_ms: r.last_delay_ms,
                    consecutive_failures: r.consecutive_failures.unwrap_or(0),
                    paused_reason: r.error_reason,
                    last_error: r.last_error,
                    push_health: r.push_health,
                    push_reason,
                }
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
pub async fn full(
    pool: &PgPool,
    push_enabled: bool,
    account: Option<&str>,
) -> Result<Snapshot, sqlx::Error> {
    let mut snap = gauges_of(pool, push_enabled, account).await?;
    let rows = bounded(
        sqlx::query!(
            r#"SELECT finished_at AS "at!",
                      (EXTRACT(EPOCH FROM (finished_at - pending_since)) * 1000)::float8 AS "delay_ms!"
                 FROM sync_runs
                WHERE status = 'success' AND finished_at > now() - interval '1 day'
                  AND pending_since IS NOT NULL
                  AND ($1::text IS NULL OR calendar_id IN (SELECT id FROM calendars WHERE account = $1))
                ORDER BY finished_at DESC LIMIT 2000"#,
            account
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

/// How a calendar is kept in sync, from its channel health (`calendar_push_health`): `push` (a live
/// channel) or `poll` (the fallback poll), and why, as the status page, `/readyz` and the
/// `calsync_calendar_on_poll` gauge say it.
pub fn sync_mode(
    health: &str,
    reason: Option<&str>,
    push_enabled: bool,
) -> (&'static str, Option<String>) {
    match (health, reason) {
        ("live", _) => ("push", None),
        _ if !push_enabled => ("poll", Some("push disabled".into())),
        (_, Some("watch refused: pushNotSupportedForRequestedResource")) => {
            ("poll", Some("push not supported".into()))
        }
        ("degraded", Some(reason)) => ("poll", Some(format!("degraded: {reason}"))),
        (_, reason) => (
            "poll",
            Some(reason.unwrap_or("no live channel").to_string()),
        ),
    }
}

/// One calendar as `/readyz` reports it.
#[derive(Serialize)]
pub struct CalendarReadiness {
    pub id: String,
    pub account: String,
    /// The calendar's id at Google (`id` is calsync's key: `<account>:<id>` for a named account).
    pub google_id: String,
    pub casquette: String,
    pub pending: bool,
    pub last_success_at: Option<DateTime<Utc>>,
    pub consecutive_failures: i32,
    pub error: Option<String>,
    /// `push` or `poll` ([`sync_mode`]).
    pub sync_mode: &'static str,
    /// `live`, `degraded` or `none` (`calendar_push_health`).
    pub push_health: String,
    /// Why a calendar is on the poll (`push not supported`, `no live channel`, …).
    pub push_reason: Option<String>,
}

pub async fn calendar_states(
    pool: &PgPool,
    push_enabled: bool,
) -> Result<Vec<CalendarReadiness>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT c.id, c.account, c.google_id, c.casquette,
                  COALESCE(s.pending, TRUE) AS "pending!",
                  s.last_success_at,
                  COALESCE(s.consecutive_failures, 0) AS "consecutive_failures!",
                  COALESCE(s.error_reason, a.paused_reason) AS error_reason,
                  COALESCE(h.health, 'none') AS "push_health!",
                  h.reason AS "push_reason?"
             FROM calendars c LEFT JOIN sync_state s ON s.calendar_id = c.id
             LEFT JOIN calendar_push_health h ON h.calendar_id = c.id
             LEFT JOIN account_state a ON a.account = c.account
            WHERE c.active
            ORDER BY c.id"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (sync_mode, push_reason) =
                sync_mode(&r.push_health, r.push_reason.as_deref(), push_enabled);
            CalendarReadiness {
                id: r.id,
                account: r.account,
                google_id: r.google_id,
                casquette: r.casquette,
                pending: r.pending,
                last_success_at: r.last_success_at,
                consecutive_failures: r.consecutive_failures,
                error: r.error_reason,
                sync_mode,
                push_health: r.push_health,
                push_reason,
            }
        })
        .collect())
}
