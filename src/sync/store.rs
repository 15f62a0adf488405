//! Applying a Google page: duplicates dropped, own inserts bound to their rows, last-write-wins
//! against pending local changes, then the data layer's batched upserts and tombstones.

use std::collections::HashMap;

use crate::db::events::GoogleVersion;
use crate::db::from_google::{self, GoogleTx};
pub use crate::db::sync_runs::Counts;

/// Upserts one page of Google events: one statement for live events, two for cancellations.
pub async fn apply_page(
    tx: &mut GoogleTx,
    calendar_id: &str,
    casquette: &str,
    rows: Vec<GoogleVersion>,
) -> Result<Counts, sqlx::Error> {
    // Google never repeats an id within a page, but a retried page must not trip
    // "ON CONFLICT cannot affect a row twice": the last occurrence wins.
    let mut last: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        last.insert(r.external_id.clone(), i);
    }
    let rows: Vec<GoogleVersion> = rows
        .into_iter()
        .enumerate()
        .filter(|(i, r)| last.get(&r.external_id) == Some(i))
        .map(|(_, r)| r)
        .collect();
    from_google::attach_own_inserts(tx, calendar_id, &rows).await?;
    let (rows, held) = super::lww::last_write_wins(tx, calendar_id, rows).await?;
    let (live, cancelled): (Vec<GoogleVersion>, Vec<GoogleVersion>) =
        rows.into_iter().partition(|r| !r.is_cancelled());
    let mut counts = from_google::upsert_live(tx, calendar_id, casquette, &live).await?;
    counts.unchanged += held;
    counts.add(from_google::apply_cancelled(tx, calendar_id, casquette, &cancelled).await?);
    Ok(counts)
}
