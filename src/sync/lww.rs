//! Last-write-wins: the one rule both sides apply ([`decide`]: the newer of the local `updated_at`
//! and Google's version, timed by calsync's write stamp when the content is calsync's own), and the
//! sync's side of it: a page from Google against the pending local changes of the same events. A
//! local change that loses is kept in `conflicts`. The writer applies the same rule after a 412.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::db::conflicts::Winner;
use crate::db::events::GoogleVersion;
use crate::db::from_google::GoogleTx;
use crate::db::outbox;

/// Who wins between a local change made at `local_updated_at` and Google's version, timed as
/// last-write-wins sees it (`GoogleVersion::google_lww_at`: Google's `updated`, or the local time a
/// calsync stamp carries). A version without a time never wins over a local change.
pub fn decide(local_updated_at: DateTime<Utc>, google_effective: Option<DateTime<Utc>>) -> Winner {
    if google_effective.is_none_or(|g| local_updated_at > g) {
        Winner::Local
    } else {
        Winner::Google
    }
}

/// Google changes that meet a pending local change of the same event: the newer side wins.
/// The rows are locked before their outbox entries are touched, the order a local write takes
/// (row, then the trigger's outbox upsert), so a concurrent local write waits instead of deadlocking.
/// A newer local change holds Google's version back (the writer pushes it and records the conflict);
/// a newer Google version replaces the local change, which is kept in `conflicts`.
/// Returns the rows to apply and how many were held back.
pub(super) async fn last_write_wins(
    tx: &mut GoogleTx,
    calendar_id: &str,
    rows: Vec<GoogleVersion>,
) -> Result<(Vec<GoogleVersion>, u64), sqlx::Error> {
    let ids: Vec<String> = rows.iter().map(|r| r.external_id.clone()).collect();
    let pending = crate::db::events::pending_local_changes(tx, calendar_id, &ids).await?;
    if pending.is_empty() {
        return Ok((rows, 0));
    }
    let by_id: HashMap<&str, usize> = pending
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((p.external_id.as_deref()?, i)))
        .collect();
    let mut keep = Vec::with_capacity(rows.len());
    let mut held = 0;
    for row in rows {
        let Some(p) = by_id.get(row.external_id.as_str()).map(|i| &pending[*i]) else {
            keep.push(row);
            continue;
        };
        if p.etag.is_some() && p.etag == row.etag {
            keep.push(row);
            continue;
        }
        let same_content = p.content() == row.content();
        if same_content {
            // calsync's own write coming back before its etag was stored: bookkeeping only.
            keep.push(row);
            continue;
        }
        if decide(p.updated_at, row.google_lww_at) == Winner::Local {
            held += 1;
            continue;
        }
        let local_version = crate::db::events::local_version(tx, p.id).await?;
        crate::db::conflicts::record_in(
            tx.transaction(),
            &crate::db::conflicts::Conflict {
                event_id: p.id,
                calendar_id,
                external_id: p.external_id.as_deref(),
                winner: Winner::Google,
                local_version,
                google_version: row.raw.clone(),
                local_updated_at: Some(p.updated_at),
                google_updated: row.google_updated,
            },
        )
        .await?;
        outbox::drop_for_event(tx.conn(), p.id).await?;
        tracing::info!(calendar = %calendar_id, event = %p.id, winner = "google", "conflict settled");
        keep.push(row);
    }
    Ok((keep, held))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newer_side_wins_and_a_tie_goes_to_google() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let local = t("2026-12-01T10:00:00Z");
        assert_eq!(
            decide(local, Some(t("2026-12-01T09:59:59Z"))),
            Winner::Local
        );
        assert_eq!(
            decide(local, Some(t("2026-12-01T10:00:01Z"))),
            Winner::Google
        );
        assert_eq!(decide(local, Some(local)), Winner::Google);
        assert_eq!(decide(local, None), Winner::Local);
    }
}
