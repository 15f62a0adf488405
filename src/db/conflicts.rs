//! The conflicts table: the loser of every last-write-wins decision, kept for a manual choice.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// A side of a last-write-wins decision: the one that won (`conflicts.winner`) or the one a manual
/// choice kept (`conflicts.resolution`); both columns CHECK the same two values. The API shows it
/// as the same lowercase string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, serde::Serialize)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Winner {
    /// calsync's row (a local write: the API or plain SQL).
    Local,
    /// Google's version of the event.
    Google,
}

impl Winner {
    /// The stored value (`local`, `google`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Google => "google",
        }
    }
}

/// Both versions of one event at the moment of the decision.
pub struct Conflict<'a> {
    pub event_id: Uuid,
    pub calendar_id: &'a str,
    pub external_id: Option<&'a str>,
    pub winner: Winner,
    pub local_version: Value,
    pub google_version: Value,
    pub local_updated_at: Option<DateTime<Utc>>,
    pub google_updated: Option<DateTime<Utc>>,
}

pub async fn record(pool: &PgPool, c: &Conflict<'_>) -> Result<Uuid, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let id = record_in(&mut tx, c).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn record_in(
    tx: &mut Transaction<'_, Postgres>,
    c: &Conflict<'_>,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO conflicts (event_id, calendar_id, external_id, winner, local_version, google_version,
                                local_updated_at, google_updated)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        c.event_id,
        c.calendar_id,
        c.external_id,
        c.winner as Winner,
        c.local_version,
        c.google_version,
        c.local_updated_at,
        c.google_updated,
    )
    .fetch_one(&mut **tx)
    .await
}

/// One stored conflict, as the API lists it.
pub struct ConflictRow {
    pub id: Uuid,
    pub event_id: Option<Uuid>,
    pub calendar_id: String,
    pub external_id: Option<String>,
    pub winner: Winner,
    pub local_version: Value,
    pub google_version: Value,
    pub local_updated_at: Option<DateTime<Utc>>,
    pub google_updated: Option<DateTime<Utc>>,
    pub detected_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The side a manual choice kept, once resolved.
    pub resolution: Option<Winner>,
}

/// Open conflicts (all of them with `all`), of one account's calendars when given, newest first,
/// at most 500.
pub async fn list(
    pool: &PgPool,
    all: bool,
    account: Option<&str>,
) -> Result<Vec<ConflictRow>, sqlx::Error> {
    sqlx::query_as!(
        ConflictRow,
        r#"SELECT id, event_id, calendar_id, external_id, winner AS "winner: Winner", local_version,
                  google_version, local_updated_at, google_updated, detected_at, resolved_at,
                  resolution AS "resolution: Winner"
             FROM conflicts
            WHERE ($1 OR resolved_at IS NULL)
              AND ($2::text IS NULL OR calendar_id IN (SELECT id FROM calendars WHERE account = $2))
            ORDER BY detected_at DESC LIMIT 500"#,
        all,
        account
    )
    .fetch_all(pool)
    .await
}

/// What a resolution claimed: the event and both versions.
pub struct Claimed {
    pub event_id: Option<Uuid>,
    pub local_version: Value,
    pub google_version: Value,
}

/// Marks conflict `id` resolved with `keep`, if it is still open (the row lock makes concurrent
/// callers wait, then find it resolved).
pub async fn claim(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    keep: Winner,
) -> Result<Option<Claimed>, sqlx::Error> {
    sqlx::query_as!(
        Claimed,
        "UPDATE conflicts SET resolved_at = now(), resolution = $2
          WHERE id = $1 AND resolved_at IS NULL
      RETURNING event_id, local_version, google_version",
        id,
        keep as Winner
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn exists(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query_scalar!("SELECT 1 AS one FROM conflicts WHERE id = $1", id)
            .fetch_optional(&mut **tx)
            .await?
            .is_some(),
    )
}

/// The calendar of conflict `id` (None: no such conflict).
pub async fn calendar_of(pool: &PgPool, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!("SELECT calendar_id FROM conflicts WHERE id = $1", id)
        .fetch_optional(pool)
        .await
}
