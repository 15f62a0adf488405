//! Convergence, account by account: both sides compared per calendar on (google id, summary, start, end),
//! against each other and against the model's expectations; no event crossed accounts (every event of
//! account X is at X's calendar at Google and one row on X's calendar key, nothing of X anywhere else);
//! no duplicate at Google; nothing left in the outbox; no account or calendar left paused.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Fields, Model, tag_of};
use crate::snapshot::{LocalRow, Snapshot};
use crate::world::{ACCOUNTS, CALS, by_key};

/// What stands between the two sides and convergence; empty `problems` means converged.
pub struct Verdict {
    pub problems: Vec<String>,
    /// Per account (index into `ACCOUNTS`): whether any problem concerns it.
    pub unsettled: [bool; ACCOUNTS.len()],
    /// Only parked outbox rows remain: waiting longer changes nothing.
    pub stuck_on_parked: bool,
}

impl Verdict {
    /// Records a problem of `accounts` (none: of the whole world).
    fn push(&mut self, accounts: &[usize], problem: String) {
        if accounts.is_empty() {
            self.unsettled = [true; ACCOUNTS.len()];
        }
        for a in accounts {
            self.unsettled[*a] = true;
        }
        self.problems.push(problem);
    }
}

fn show(f: Option<&Fields>) -> String {
    f.map_or_else(|| "absent".to_string(), Fields::to_string)
}

/// Compares the sides with each other and with the model.
pub fn verdict(model: &Model, snap: &Snapshot) -> Verdict {
    let mut v = Verdict {
        problems: Vec::new(),
        unsettled: [false; ACCOUNTS.len()],
        stuck_on_parked: false,
    };
    for cal in &CALS {
        let google: BTreeMap<&str, &Fields> = snap
            .google
            .iter()
            .filter(|g| g.cal == cal)
            .filter_map(|g| g.live.as_ref().map(|f| (g.id.as_str(), f)))
            .collect();
        let mut local: BTreeMap<&str, Vec<&LocalRow>> = BTreeMap::new();
        for row in snap.local.iter().filter(|r| r.cal == cal.key) {
            match &row.external_id {
                Some(ext) => local.entry(ext.as_str()).or_default().push(row),
                None => v.push(
                    &[cal.account],
                    format!(
                        "{}: live local row {} has no Google id: {}",
                        cal.key, row.id, row.fields
                    ),
                ),
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
                v.push(
                    &[cal.account],
                    format!(
                        "{} {id}: {} live local rows share this Google id",
                        cal.key,
                        rows.len()
                    ),
                );
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
            v.push(
                &[cal.account],
                format!(
                    "{} {id} [{tag}] {which}: expected {}, Google {}, PostgreSQL {}\n      ops: {history}",
                    cal.key,
                    show(e),
                    show(g),
                    show(l)
                ),
            );
        }
    }
    crossings(model, snap, &mut v);
    let mut by_tag: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
    for g in &snap.google {
        by_tag
            .entry(g.tag.as_deref().unwrap_or("<untagged>"))
            .or_default()
            .insert((g.cal.key, g.id.as_str()));
    }
    for (tag, copies) in by_tag.iter().filter(|(_, ids)| ids.len() > 1) {
        let accounts: BTreeSet<usize> = copies
            .iter()
            .filter_map(|(key, _)| by_key(key).map(|c| c.account))
            .collect();
        v.push(
            &accounts.into_iter().collect::<Vec<_>>(),
            format!(
                "duplicate at Google: {tag} has {} events {copies:?}",
                copies.len()
            ),
        );
    }
    for (account, reason) in &snap.paused_accounts {
        let a: Vec<usize> = ACCOUNTS
            .iter()
            .position(|x| x.name == account)
            .into_iter()
            .collect();
        v.push(&a, format!("account {account} still paused: {reason}"));
    }
    for (key, reason) in &snap.paused_calendars {
        let a: Vec<usize> = by_key(key).map(|c| c.account).into_iter().collect();
        v.push(&a, format!("calendar {key} paused: {reason}"));
    }
    let before_outbox = v.problems.len();
    let mut stuck_on_parked = !snap.outbox.is_empty();
    for o in &snap.outbox {
        let state = if o.parked { "PARKED" } else { "pending" };
        stuck_on_parked &= o.parked;
        let a: Vec<usize> = by_key(&o.cal).map(|c| c.account).into_iter().collect();
        v.push(
            &a,
            format!(
                "outbox: event {} of {} {state} after {} attempts ({}), last error: {}",
                o.event_id,
                o.cal,
                o.attempts,
                o.detail,
                o.last_error.as_deref().unwrap_or("-")
            ),
        );
    }
    v.stuck_on_parked = stuck_on_parked && before_outbox == 0;
    v
}

/// No event crossed accounts: each Google copy (tombstones too: a write that went to the wrong account
/// and was undone still crossed) and each live row of an event of the model is at that event's calendar.
fn crossings(model: &Model, snap: &Snapshot, v: &mut Verdict) {
    for g in &snap.google {
        let Some(m) = g.tag.as_deref().and_then(|t| model.by_tag(t)) else {
            continue;
        };
        if m.cal != g.cal {
            let what = if g.live.is_some() {
                "live"
            } else {
                "tombstone"
            };
            v.push(
                &[m.cal.account, g.cal.account],
                format!(
                    "CROSSED at Google: [{}], an event of {}, is at {}'s {} ({what}, id {})\n      ops: {}",
                    m.tag,
                    m.cal.key,
                    g.cal.account().email,
                    g.cal.id,
                    g.id,
                    m.history.join("; ")
                ),
            );
        }
    }
    for row in &snap.local {
        let Some(cal) = by_key(&row.cal) else {
            v.push(
                &[],
                format!(
                    "live local row {} on {}, a calendar of no account of the world: {}",
                    row.id, row.cal, row.fields
                ),
            );
            continue;
        };
        let Some(m) = model.by_tag(tag_of(&row.fields.summary)) else {
            continue;
        };
        if m.cal != cal {
            v.push(
                &[m.cal.account, cal.account],
                format!(
                    "CROSSED in PostgreSQL: [{}], an event of {}, has row {} on {}\n      ops: {}",
                    m.tag,
                    m.cal.key,
                    row.id,
                    row.cal,
                    m.history.join("; ")
                ),
            );
        }
    }
}
