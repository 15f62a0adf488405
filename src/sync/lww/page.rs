//! The sync's side of last-write-wins: a page from Google against the pending local changes of the
//! same events, each settled by [`decide`](super::decide).

use std::collections::HashMap;

use super::{Decision, Google, Local, Met, Sides};
use crate::db::conflicts::Winner;
use crate::db::events::GoogleVersion;
use crate::db::from_google::GoogleTx;
use crate::db::outbox;

/// Google changes that meet a pending local change of the same event: the newer side wins.
/// The rows are locked before their outbox entries are touched, the order a local write takes
/// (row, then the trigger's outbox upsert), so a concurrent local write waits instead of deadlocking.
/// A newer local change holds Google's version back (the writer pushes it and records the conflict);
/// a newer Google version replaces the local change, which is kept in `conflicts`.
/// Returns the rows to apply and how many were held back.
pub(crate) async fn last_write_wins(
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
        let sides = Sides {
            met: Met::Listed,
            local: Local::of(p),
            google: Google::of(&row),
        };
        match super::decide(&sides) {
            // Google did not change, or holds this very change: bookkeeping only.
            Decision::Unchanged | Decision::Echo => {}
            Decision::LocalWins => {
                held += 1;
                continue;
            }
            Decision::GoogleWins => {
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
            }
        }
        keep.push(row);
    }
    Ok((keep, held))
}
