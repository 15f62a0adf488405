//! A full listing's end: the window Google was asked to list (`sync_range`), and the rows it no
//! longer holds, soft-deleted (a full list carries no tombstones).

use chrono::{DateTime, Utc};

use crate::config::SyncRange;
use crate::db::from_google::{self, GoogleTx};

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

/// After a full listing: rows Google no longer has are soft-deleted (see
/// [`from_google::soft_delete_unlisted`] for which rows a windowed listing spares).
pub async fn reconcile_full(
    tx: &mut GoogleTx,
    calendar_id: &str,
    seen: &[String],
    listing_started: DateTime<Utc>,
    window: Option<Window>,
) -> Result<u64, sqlx::Error> {
    let bounds = window.map(|w| (w.from, w.until));
    from_google::soft_delete_unlisted(tx, calendar_id, seen, listing_started, bounds).await
}
