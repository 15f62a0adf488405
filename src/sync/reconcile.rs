//! A full listing's end: the window Google was asked to list (`sync_range`), and the rows it no
//! longer holds, soft-deleted (a full list carries no tombstones).

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};

use crate::config::SyncRange;

/// The `timeMin`/`timeMax` of a full listing under `sync_range`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: chrono::DateTime<Utc>,
    pub until: chrono::DateTime<Utc>,
}

impl Window {
    pub(super) fn around(now: chrono::DateTime<Utc>, range: SyncRange) -> Self {
        Self {
            from: now - chrono::Duration::days(i64::from(range.past_days)),
            until: now + chrono::Duration::days(i64::from(range.future_days)),
        }
    }
}

/// After a full listing: rows Google no longer has are soft-deleted (a full list carries no tombstones).
/// Rows that reached Google after the listing began are spared, and so, when the listing was limited
/// to a `window`, is every row Google would not have listed (it lists what overlaps the window; a
/// day's margin for all-day dates, whose zone is the calendar's): its absence says nothing. A series
/// that began before the window keeps its row here; an incremental run's tombstone deletes it.
pub async fn reconcile_full(
    tx: &mut Transaction<'_, Postgres>,
    calendar_id: &str,
    seen: &[String],
    listing_started: DateTime<Utc>,
    window: Option<Window>,
) -> Result<u64, sqlx::Error> {
    let (from, until) = (window.map(|w| w.from), window.map(|w| w.until));
    let gone = sqlx::query!(
        r#"UPDATE events SET status = 'cancelled', deleted_at = now()
            WHERE calendar_id = $1 AND external_id IS NOT NULL AND deleted_at IS NULL
              AND NOT (external_id = ANY($2))
              AND (google_updated IS NULL OR google_updated < $3)
              AND ($4::timestamptz IS NULL
                   OR (end_at > $4 AND start_at < $5)
                   OR (end_date > ($4 AT TIME ZONE 'UTC')::date + 1
                       AND start_date < ($5 AT TIME ZONE 'UTC')::date - 1))"#,
        calendar_id,
        seen,
        listing_started,
        from,
        until,
    )
    .execute(&mut **tx)
    .await?;
    Ok(gone.rows_affected())
}
