//! Convergence: a snapshot of both sides (Google's listing, PostgreSQL's live rows, the outbox) compared per
//! calendar on (google id, summary, start, end), against each other and against the model's expectations.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::google::{CALENDARS, Google};
use crate::model::{Fields, Model, tag_of};

/// One Google event: fields when live, None for a tombstone.
struct GoogleEvent {
    cal: String,
    id: String,
    tag: Option<String>,
    live: Option<Fields>,
}

struct LocalRow {
    cal: String,
    id: Uuid,
    external_id: Option<String>,
    fields: Fields,
}

struct OutboxRow {
    event_id: Uuid,
    parked: bool,
    attempts: i32,
    last_error: Option<String>,
    detail: String,
}

pub struct Snapshot {
    google: Vec<GoogleEvent>,
    local: Vec<LocalRow>,
    outbox: Vec<OutboxRow>,
}

/// What stands between the two sides and convergence; empty `problems` means converged.
pub struct Verdict {
    pub problems: Vec<String>,
    /// Only parked outbox rows remain: waiting longer changes nothing.
    pub stuck_on_parked: bool,
}

fn when(v: &Value) -> DateTime<Utc> {
    v["dateTime"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub async fn snapshot(model: &Model, google: &Google, pool: &PgPool) -> Result<Snapshot, String> {
    let mut events = Vec::new();
    for cal in CALENDARS {
        for item in google.list_all(cal).await? {
            let id = item["id"].as_str().unwrap_or_default().to_string();
            let live = (item["status"] != "cancelled").then(|| Fields {
                summary: item["summary"].as_str().unwrap_or_default().to_string(),
                start: when(&item["start"]),
                end: when(&item["end"]),
            });
            let mut tag = live.as_ref().map(|f| tag_of(&f.summary).to_string());
            if tag.is_none() {
                // A tombstone carries no summary: the model knows its ids, Google knows the others.
                tag = match model.events.iter().find(|e| e.google_id == id) {
                    Some(e) => Some(e.tag.clone()),
                    None => google
                        .peek(cal, &id)
                        .await
                        .and_then(|e| e["summary"].as_str().map(|s| tag_of(s).to_string())),
                };
            }
            events.push(GoogleEvent {
                cal: cal.to_string(),
                id,
                tag,
                live,
            });
        }
    }
    type Row = (
        String,
        Uuid,
        Option<String>,
        Option<String>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = sqlx::query_as(
            "SELECT calendar_id, id, external_id, summary, start_at, end_at FROM events WHERE deleted_at IS NULL",
        )
        .fetch_all(pool)
        .await
        .map_err(|e| format!("local rows: {e}"))?;
    let local = rows
        .into_iter()
        .map(|(cal, id, external_id, summary, start, end)| LocalRow {
            cal,
            id,
            external_id,
            fields: Fields {
                summary: summary.unwrap_or_default(),
                start: start.unwrap_or(DateTime::<Utc>::MIN_UTC),
                end: end.unwrap_or(DateTime::<Utc>::MIN_UTC),
            },
        })
        .collect();
    let queued: Vec<(Uuid, bool, i32, Option<String>, String)> = sqlx::query_as(
        "SELECT event_id, parked_at IS NOT NULL, attempts, last_error,
                format('generation %s, next attempt %s, lease until %s', generation,
                       to_char(next_attempt_at, 'HH24:MI:SS.MS'), COALESCE(to_char(lease_until, 'HH24:MI:SS.MS'), '-'))
           FROM outbox ORDER BY enqueued_at",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| format!("outbox: {e}"))?;
    let outbox = queued
        .into_iter()
        .map(
            |(event_id, parked, attempts, last_error, detail)| OutboxRow {
                event_id,
                parked,
                attempts,
                last_error,
                detail,
            },
        )
        .collect();
    Ok(Snapshot {
        google: events,
        local,
        outbox,
    })
}

fn show(f: Option<&Fields>) -> String {
    f.map_or_else(|| "absent".to_string(), Fields::to_string)
}

/// Compares the sides with each other and with the model.
pub fn verdict(model: &Model, snap: &Snapshot) -> Verdict {
    let mut problems = Vec::new();
    for cal in CALENDARS {
        let google: BTreeMap<&str, &Fields> = snap
            .google
            .iter()
            .filter(|g| g.cal == cal)
            .filter_map(|g| g.live.as_ref().map(|f| (g.id.as_str(), f)))
            .collect();
        let mut local: BTreeMap<&str, Vec<&LocalRow>> = BTreeMap::new();
        for row in snap.local.iter().filter(|r| r.cal == cal) {
            match &row.external_id {
                Some(ext) => local.entry(ext.as_str()).or_default().push(row),
                None => problems.push(format!(
                    "{cal}: live local row {} has no Google id: {}",
                    row.id, row.fields
                )),
            }
        }
        let expected: BTreeMap<&str, &Fields> = model
            .events
            .iter()
            .filter(|e| e.cal == cal)
            .filter_map(|e| e.state.as_ref().map(|f| (e.google_id.as_str(), f)))
            .collect();
        let ids: BTreeSet<&str> = google
            .keys()
            .chain(local.keys())
            .chain(expected.keys())
            .copied()
            .collect();
        for id in ids {
            let g = google.get(id).copied();
            let rows = local.get(id).map(Vec::as_slice).unwrap_or_default();
            let e = expected.get(id).copied();
            if rows.len() > 1 {
                problems.push(format!(
                    "{cal} {id}: {} live local rows share this Google id",
                    rows.len()
                ));
            }
            let l = rows.first().map(|r| &r.fields);
            if g == e && l == e {
                continue;
            }
            let which = if g == l {
                "both sides agree, not on the last write"
            } else if l.is_none() {
                "missing in PostgreSQL"
            } else if g.is_none() {
                "extra in PostgreSQL (absent at Google)"
            } else {
                "mismatched between the sides"
            };
            let tag = g
                .or(l)
                .or(e)
                .map(|f| tag_of(&f.summary).to_string())
                .or_else(|| {
                    model
                        .events
                        .iter()
                        .find(|m| m.google_id == id)
                        .map(|m| m.tag.clone())
                })
                .unwrap_or_default();
            let history = model
                .by_tag(&tag)
                .map(|m| m.history.join("; "))
                .unwrap_or_else(|| "not an event of the model".into());
            problems.push(format!(
                "{cal} {id} [{tag}] {which}: expected {}, Google {}, PostgreSQL {}\n      ops: {history}",
                show(e),
                show(g),
                show(l)
            ));
        }
    }
    let mut by_tag: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for g in &snap.google {
        by_tag
            .entry(g.tag.as_deref().unwrap_or("<untagged>"))
            .or_default()
            .insert(g.id.as_str());
    }
    for (tag, ids) in by_tag.iter().filter(|(_, ids)| ids.len() > 1) {
        problems.push(format!(
            "duplicate at Google: {tag} has {} events {ids:?}",
            ids.len()
        ));
    }
    let mut stuck_on_parked = !snap.outbox.is_empty();
    for o in &snap.outbox {
        let state = if o.parked { "PARKED" } else { "pending" };
        stuck_on_parked &= o.parked;
        problems.push(format!(
            "outbox: event {} {state} after {} attempts ({}), last error: {}",
            o.event_id,
            o.attempts,
            o.detail,
            o.last_error.as_deref().unwrap_or("-")
        ));
    }
    let outbox_only = problems.len() == snap.outbox.len();
    Verdict {
        problems,
        stuck_on_parked: stuck_on_parked && outbox_only,
    }
}

/// calsync's lease lengths (src/sync/engine.rs `LEASE`, src/writer/mod.rs `LEASE`): a lease's claim time is
/// its `lease_until` minus these.
const SYNC_LEASE_SECS: i64 = 120;
const OUTBOX_LEASE_SECS: i64 = 300;

/// When the chaos happened, to tell who held a lease that is still there.
pub struct Chaos {
    pub kill: Option<DateTime<Utc>>,
    pub pg_restart: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Chaos {
    fn blame(&self, claimed: DateTime<Utc>) -> String {
        if let Some(k) = self.kill
            && claimed < k
        {
            return format!(
                " <- taken before the SIGKILL at {}: the killed process can never release it",
                k.format("%H:%M:%S%.3f")
            );
        }
        if let Some((from, to)) = self.pg_restart
            && claimed < to
        {
            return format!(
                " <- taken before the PostgreSQL restart ({}..{}): left behind when the restart cut its work",
                from.format("%H:%M:%S%.3f"),
                to.format("%H:%M:%S%.3f")
            );
        }
        String::new()
    }
}

/// Per-calendar sync state, leases still held (with who most likely left them) and conflicts, printed
/// with a failure: what was calsync waiting for?
pub async fn diagnostics(pool: &PgPool, chaos: &Chaos) -> Vec<String> {
    type SyncRow = (
        String,
        bool,
        Option<DateTime<Utc>>,
        i32,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<String>,
    );
    let t = |d: Option<DateTime<Utc>>| {
        d.map_or("-".to_string(), |d| d.format("%H:%M:%S%.3f").to_string())
    };
    let mut out = Vec::new();
    let rows: Result<Vec<SyncRow>, _> = sqlx::query_as(
        "SELECT calendar_id, pending, lease_until, consecutive_failures, retry_at, last_success_at, error_reason
           FROM sync_state ORDER BY calendar_id",
    )
    .fetch_all(pool)
    .await;
    match rows {
        Ok(rows) => {
            for (cal, pending, lease, failures, retry, success, error) in rows {
                let held = match lease {
                    Some(until) if until > Utc::now() => {
                        let claimed = until - chrono::Duration::seconds(SYNC_LEASE_SECS);
                        format!(
                            "LEASE HELD since {} until {}{}",
                            t(Some(claimed)),
                            t(Some(until)),
                            chaos.blame(claimed)
                        )
                    }
                    _ => "no lease".to_string(),
                };
                out.push(format!(
                    "sync {cal}: pending {pending}, {held}, failures {failures}, retry at {}, last success {}, error {}",
                    t(retry),
                    t(success),
                    error.as_deref().unwrap_or("-")
                ));
            }
        }
        Err(e) => out.push(format!("sync_state not readable: {e}")),
    }
    let leased: Result<Vec<(Uuid, DateTime<Utc>)>, _> = sqlx::query_as(
        "SELECT event_id, lease_until FROM outbox WHERE lease_until > now() ORDER BY lease_until",
    )
    .fetch_all(pool)
    .await;
    for (event, until) in leased.unwrap_or_default() {
        let claimed = until - chrono::Duration::seconds(OUTBOX_LEASE_SECS);
        out.push(format!(
            "outbox {event}: LEASE HELD since {} until {}{}",
            t(Some(claimed)),
            t(Some(until)),
            chaos.blame(claimed)
        ));
    }
    let conflicts: Result<(i64, i64), _> = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE winner = 'local'), count(*) FILTER (WHERE winner = 'google') FROM conflicts",
    )
    .fetch_one(pool)
    .await;
    if let Ok((l, g)) = conflicts {
        out.push(format!(
            "conflicts settled: {l} won by local, {g} won by Google"
        ));
    }
    out.push(format!("now {}", t(Some(Utc::now()))));
    out
}
