//! The events table, as local writers (the HTTP API, a manual conflict choice) and readers use it.
//! Rows written because Google changed go through `db::from_google` instead.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

/// Soft-deletes an event (the trigger queues the delete for Google).
pub async fn soft_delete(
    tx: &mut Transaction<'_, Postgres>,
    event_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
            "UPDATE events SET deleted_at = now(), status = 'cancelled' WHERE id = $1",
            event_id
        )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A version of an event chosen to be kept (a conflict's manual resolution).
pub struct KeptVersion {
    pub event_id: Uuid,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub location: Option<String>,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub time_zone: Option<String>,
    pub recurrence: Option<Vec<String>>,
    pub reminders: Option<Value>,
    pub status: &'static str,
}

/// Writes `v` over the event as a fresh local change (it reaches Google through the outbox).
pub async fn restore_version(
    tx: &mut Transaction<'_, Postgres>,
    v: &KeptVersion,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
            "UPDATE events SET summary = $2, description = $3, location = $4, start_at = $5, end_at = $6,
                    start_date = $7, end_date = $8, time_zone = COALESCE($9, time_zone), recurrence = $10,
                    reminders = COALESCE($11, reminders), status = $12, deleted_at = NULL, updated_at = now()
              WHERE id = $1",
            v.event_id,
            v.summary,
            v.description,
            v.location,
            v.start_at,
            v.end_at,
            v.start_date,
            v.end_date,
            v.time_zone,
            v.recurrence.as_deref(),
            v.reminders,
            v.status,
        )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
