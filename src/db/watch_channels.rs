//! Stored watch channels: our database is the only registry (Google has no list API).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// What the webhook needs to know about a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    pub id: String,
    pub calendar_id: String,
    pub resource_id: Option<String>,
    pub state: String,
}

impl ChannelInfo {
    /// Pending channels (watch in flight) and active ones deliver work; stopped/expired ones do not.
    pub fn is_live(&self) -> bool {
        matches!(self.state.as_str(), "pending" | "active")
    }
}

pub async fn lookup(pool: &PgPool, channel_id: &str) -> Result<Option<ChannelInfo>, sqlx::Error> {
    sqlx::query_as!(
        ChannelInfo,
        "SELECT id, calendar_id, resource_id, state FROM watch_channels WHERE id = $1",
        channel_id
    )
    .fetch_optional(pool)
    .await
}

/// Records the newest message number seen on a channel (for observability; numbers are not contiguous).
pub async fn touch(
    pool: &PgPool,
    channel_id: &str,
    message_number: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE watch_channels SET last_message_number = GREATEST(COALESCE(last_message_number, 0), $2),
                last_message_at = now()
          WHERE id = $1",
        channel_id,
        message_number
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Stores a channel before asking Google for it, so an early `sync` message finds it.
pub async fn insert_pending(
    pool: &PgPool,
    channel_id: &str,
    calendar_id: &str,
    address: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO watch_channels (id, calendar_id, address, state) VALUES ($1, $2, $3, 'pending')",
        channel_id,
        calendar_id,
        address
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Records Google's answer to `events.watch`.
pub async fn activate(
    pool: &PgPool,
    channel_id: &str,
    resource_id: &str,
    resource_uri: Option<&str>,
    expiration: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE watch_channels SET state = 'active', resource_id = $2, resource_uri = $3, expiration = $4
          WHERE id = $1",
        channel_id,
        resource_id,
        resource_uri,
        expiration
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks a channel as ended (`stopped`, `expired` or `failed`).
pub async fn end(pool: &PgPool, channel_id: &str, state: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE watch_channels SET state = $2, stopped_at = COALESCE(stopped_at, now()) WHERE id = $1",
        channel_id,
        state
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// A stored channel with everything the admin API shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChannelRow {
    pub id: String,
    pub calendar_id: String,
    pub resource_id: Option<String>,
    pub state: String,
    pub expiration: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_message_at: Option<DateTime<Utc>>,
}

pub async fn list(pool: &PgPool, account: Option<&str>) -> Result<Vec<ChannelRow>, sqlx::Error> {
    sqlx::query_as!(
        ChannelRow,
        "SELECT id, calendar_id, resource_id, state, expiration, created_at, last_message_at
           FROM watch_channels
          WHERE $1::text IS NULL OR calendar_id IN (SELECT id FROM calendars WHERE account = $1)
          ORDER BY calendar_id, created_at DESC",
        account
    )
    .fetch_all(pool)
    .await
}

/// When the next calendar's renewal is due: the earliest, over active calendars, of their newest
/// channel's due time (`calsync_renewal_due`: `margin` before it expires plus a jitter of up to one
/// more margin drawn from the channel id, or halfway through a life shorter than twice that, and
/// never sooner than `min_after` after it was created); now for a calendar whose channel a safety
/// sync found degraded, until a newer channel exists (30 s after a failed attempt).
pub async fn next_renewal(
    pool: &PgPool,
    margin: Duration,
    min_after: Duration,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT MIN(due) FROM (
             SELECT CASE WHEN bool_or(s.push_degraded_at > w.created_at)
                          AND NOT bool_or(w.created_at > s.push_degraded_at)
                         -- (after a failed attempt, again in 30 s, not on every pass)
                         THEN GREATEST(now(), MAX(s.renewal_failed_at) + interval '30 seconds')
                         ELSE MAX(calsync_renewal_due(w.id, w.created_at, w.expiration, $1, $2)) END AS due
               FROM watch_channels w JOIN calendars c ON c.id = w.calendar_id
               LEFT JOIN sync_state s ON s.calendar_id = w.calendar_id
              WHERE w.state = 'active' AND c.active
                AND NOT EXISTS (SELECT 1 FROM account_state a
                                 WHERE a.account = c.account AND a.paused_reason IS NOT NULL)
              GROUP BY w.calendar_id
             HAVING bool_and(w.expiration IS NOT NULL)) newest"#,
        margin.as_secs_f64(),
        min_after.as_secs_f64(),
    )
    .fetch_one(pool)
    .await
}

pub async fn live_channels(pool: &PgPool, calendar_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM watch_channels WHERE calendar_id = $1 AND state = 'active'",
        calendar_id
    )
    .fetch_all(pool)
    .await
}

/// Active channels whose calendar is no longer active in the config.
pub async fn orphan_channels(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT w.id FROM watch_channels w JOIN calendars c ON c.id = w.calendar_id
          WHERE w.state = 'active' AND NOT c.active"
    )
    .fetch_all(pool)
    .await
}

/// Channels past their expiration are expired (Google stopped delivering).
pub async fn expire_past(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE watch_channels SET state = 'expired', stopped_at = now()
          WHERE state = 'active' AND expiration IS NOT NULL AND expiration <= now()"
    )
    .execute(pool)
    .await?;
    sqlx::query!(
        "UPDATE watch_channels SET state = 'failed', stopped_at = now()
          WHERE state = 'pending' AND created_at < now() - interval '10 minutes'"
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub struct NeedsChannel {
    pub id: String,
    pub casquette: String,
    /// A live channel delivers to this address now (a renewal); false when none does, or only to
    /// another address: notifications may have been missed, so a catch-up sync follows.
    pub delivering: bool,
}

/// Active calendars with no live channel that is not yet due for renewal (the rule of
/// [`next_renewal`]; a channel without expiration never is), those whose channels all predate
/// the safety sync that found them degraded, and those whose channels deliver to another address
/// than `address` (the public URL changed: Google would keep calling the old one until expiry).
pub async fn calendars_needing_channel(
    pool: &PgPool,
    margin: Duration,
    min_after: Duration,
    address: &str,
) -> Result<Vec<NeedsChannel>, sqlx::Error> {
    sqlx::query_as!(
        NeedsChannel,
        r#"SELECT c.id, c.casquette,
                  EXISTS (SELECT 1 FROM watch_channels w
                           WHERE w.calendar_id = c.id AND w.state = 'active' AND w.address = $3)
                    AS "delivering!"
             FROM calendars c
             LEFT JOIN sync_state s ON s.calendar_id = c.id
            WHERE c.active
              -- A calendar Google refused to watch is asked again once a day, not on every pass.
              AND (s.watch_refused_at IS NULL OR s.watch_refused_at <= now() - interval '1 day')
              -- An account whose credentials Google refused waits for new ones (no call, no alert).
              AND NOT EXISTS (SELECT 1 FROM account_state a
                               WHERE a.account = c.account AND a.paused_reason IS NOT NULL)
              AND NOT EXISTS (SELECT 1 FROM watch_channels w
                               WHERE w.calendar_id = c.id AND w.state = 'active' AND w.address = $3
                                 AND (w.expiration IS NULL
                                      OR calsync_renewal_due(w.id, w.created_at, w.expiration, $1, $2) > now())
                                 AND (s.push_degraded_at IS NULL OR w.created_at > s.push_degraded_at))
            ORDER BY c.id"#,
        margin.as_secs_f64(),
        min_after.as_secs_f64(),
        address,
    )
    .fetch_all(pool)
    .await
}
