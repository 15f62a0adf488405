//! Stored watch channels: our database is the only registry (Google has no list API).

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

pub async fn list(pool: &PgPool) -> Result<Vec<ChannelRow>, sqlx::Error> {
    sqlx::query_as!(
        ChannelRow,
        "SELECT id, calendar_id, resource_id, state, expiration, created_at, last_message_at
           FROM watch_channels ORDER BY calendar_id, created_at DESC"
    )
    .fetch_all(pool)
    .await
}
