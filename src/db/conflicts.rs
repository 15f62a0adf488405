//! The conflicts table: the loser of every last-write-wins decision, kept for a manual choice.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// Which side won.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Winner {
    Local,
    Google,
}

impl Winner {
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
        c.winner.as_str(),
        c.local_version,
        c.google_version,
        c.local_updated_at,
        c.google_updated,
    )
    .fetch_one(&mut **tx)
    .await
}
