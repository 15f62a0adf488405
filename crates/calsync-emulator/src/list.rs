//! events.list: full listings by a stable cursor, incremental listings from the change log, sync and page
//! tokens that are opaque, 410 for invalidated tokens, 400 for parameters Google forbids with a sync token.

use std::collections::HashMap;

use actix_web::HttpResponse;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::errors;
use super::recurrence;
use super::state::{State, bounds, now_rfc3339, tombstone};

const FORBIDDEN_WITH_SYNC_TOKEN: [&str; 8] = [
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
];

#[derive(Serialize, Deserialize)]
struct SyncToken {
    c: String,
    s: u64,
    g: u64,
    /// The user whose calendar it lists (two users may both have a calendar `c`).
    #[serde(default)]
    u: String,
}

#[derive(Serialize, Deserialize, Default)]
struct PageToken {
    /// "full", "inc" or "single".
    m: String,
    /// Last order/change seq returned, or the offset for "single".
    p: u64,
    /// The listing's snapshot seq (its nextSyncToken).
    n: u64,
    /// For "inc": the sync token's seq.
    s: u64,
}

fn encode<T: Serialize>(v: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap_or_default())
}

fn decode<T: for<'de> Deserialize<'de>>(s: &str) -> Option<T> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).ok()?).ok()
}

fn flag(q: &HashMap<String, String>, key: &str) -> Result<bool, HttpResponse> {
    match q.get(key).map(String::as_str) {
        None => Ok(false),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(errors::invalid(&format!(
            "Invalid boolean value for {key}."
        ))),
    }
}

fn instant(q: &HashMap<String, String>, key: &str) -> Result<Option<DateTime<Utc>>, HttpResponse> {
    q.get(key)
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| errors::bad_request(&format!("Bad Request: invalid {key}")))
        })
        .transpose()
}

pub fn list(
    state: &State,
    user: &str,
    cal: &str,
    q: &HashMap<String, String>,
) -> Result<Value, HttpResponse> {
    let cal_id = state.resolve(user, cal).ok_or_else(errors::not_found)?;
    let calendar = state.cal(user, &cal_id).ok_or_else(errors::not_found)?;
    let max = match q.get("maxResults") {
        None => 250,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(2500),
            _ => return Err(errors::invalid("Invalid value for maxResults")),
        },
    };
    let show_deleted = flag(q, "showDeleted")?;
    let single = flag(q, "singleEvents")?;
    match q.get("orderBy").map(String::as_str) {
        None | Some("updated") => {}
        Some("startTime") if single => {}
        Some("startTime") => return Err(errors::bad_ordering()),
        Some(_) => return Err(errors::invalid("Invalid value for orderBy")),
    }
    if let (Some(from), Some(until)) = (instant(q, "timeMin")?, instant(q, "timeMax")?)
        && until <= from
    {
        return Err(errors::time_range_empty());
    }
    let page: Option<PageToken> = match q.get("pageToken") {
        Some(t) => Some(decode(t).ok_or_else(|| errors::invalid("Invalid page token value."))?),
        None => None,
    };
    let mut items = Vec::new();
    let mut next_page = None;
    let snapshot;
    if let Some(token) = q.get("syncToken") {
        if let Some(bad) = FORBIDDEN_WITH_SYNC_TOKEN
            .iter()
            .find(|k| q.contains_key(**k))
        {
            return Err(errors::bad_request(&format!(
                "The parameter {bad} is not allowed with syncToken."
            )));
        }
        if q.get("showDeleted").map(String::as_str) == Some("false") {
            return Err(errors::bad_request(
                "showDeleted=false is not allowed with syncToken.",
            ));
        }
        let t: SyncToken = decode(token).ok_or_else(errors::full_sync_required)?;
        if t.g != state.token_generation || t.c != cal_id || t.u != user {
            return Err(errors::full_sync_required());
        }
        let p = page.unwrap_or(PageToken {
            m: "inc".into(),
            p: t.s,
            n: state.seq,
            s: t.s,
        });
        snapshot = p.n;
        let mut last = p.p;
        for (seq, id) in calendar.changes.range(span(p.p, p.n)) {
            if items.len() == max {
                next_page = Some(PageToken {
                    m: "inc".into(),
                    p: last,
                    n: p.n,
                    s: p.s,
                });
                break;
            }
            last = *seq;
            if let Some(e) = calendar.events.get(id) {
                let cancelled = e.get("status").and_then(Value::as_str) == Some("cancelled");
                items.push(if cancelled { tombstone(e) } else { e.clone() });
            }
        }
    } else if single {
        let from = instant(q, "timeMin")?;
        let until = instant(q, "timeMax")?;
        let mut all: Vec<Value> = Vec::new();
        for id in calendar.order.values() {
            let Some(e) = calendar.events.get(id) else {
                continue;
            };
            if e.get("recurrence").is_some() {
                if e.get("status").and_then(Value::as_str) != Some("cancelled") {
                    all.extend(recurrence::instances(
                        calendar,
                        e,
                        from,
                        until,
                        show_deleted,
                    ));
                }
            } else if e.get("recurringEventId").is_none() && visible(e, show_deleted, from, until) {
                all.push(e.clone());
            }
        }
        all.sort_by_key(|e| bounds(e).map(|b| b.0));
        let p = page.unwrap_or(PageToken {
            m: "single".into(),
            p: 0,
            n: state.seq,
            s: 0,
        });
        snapshot = p.n;
        let start = p.p as usize;
        items = all.iter().skip(start).take(max).cloned().collect();
        if start + max < all.len() {
            next_page = Some(PageToken {
                m: "single".into(),
                p: (start + max) as u64,
                n: p.n,
                s: 0,
            });
        }
    } else {
        let from = instant(q, "timeMin")?;
        let until = instant(q, "timeMax")?;
        let updated_min = instant(q, "updatedMin")?;
        let p = page.unwrap_or(PageToken {
            m: "full".into(),
            p: 0,
            n: state.seq,
            s: 0,
        });
        snapshot = p.n;
        let mut last = p.p;
        for (seq, id) in calendar.order.range(span(p.p, p.n)) {
            if items.len() == max {
                next_page = Some(PageToken {
                    m: "full".into(),
                    p: last,
                    n: p.n,
                    s: 0,
                });
                break;
            }
            last = *seq;
            let Some(e) = calendar.events.get(id) else {
                continue;
            };
            let cancelled = e.get("status").and_then(Value::as_str) == Some("cancelled");
            // Cancelled exceptions of a series come back even without showDeleted (singleEvents=false).
            let keep = if cancelled {
                show_deleted || e.get("recurringEventId").is_some()
            } else {
                visible(e, true, from, until)
            };
            let fresh = updated_min.is_none_or(|m| {
                e.get("updated")
                    .and_then(Value::as_str)
                    .and_then(|u| DateTime::parse_from_rfc3339(u).ok())
                    .is_some_and(|u| u >= m)
            });
            if keep && fresh {
                items.push(if cancelled { tombstone(e) } else { e.clone() });
            }
        }
    }
    let mut body = json!({
        "kind": "calendar#events",
        "etag": format!("\"p{}\"", state.seq),
        "summary": calendar.summary,
        "description": "",
        "updated": now_rfc3339(),
        "timeZone": calendar.time_zone,
        "accessRole": "owner",
        "defaultReminders": [{"method": "popup", "minutes": 30}],
        "items": items,
    });
    match next_page {
        Some(p) => body["nextPageToken"] = json!(encode(&p)),
        None => {
            body["nextSyncToken"] = json!(encode(&SyncToken {
                c: cal_id,
                s: snapshot,
                g: state.token_generation,
                u: user.to_string(),
            }))
        }
    }
    Ok(body)
}

fn visible(
    e: &Value,
    show_deleted: bool,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> bool {
    if !show_deleted && e.get("status").and_then(Value::as_str) == Some("cancelled") {
        return false;
    }
    if e.get("recurrence").is_some() {
        // A series may have occurrences anywhere after its first one.
        return until.is_none_or(|u| bounds(e).is_none_or(|(s, _)| s < u));
    }
    match bounds(e) {
        Some((s, end)) => from.is_none_or(|f| end > f) && until.is_none_or(|u| s < u),
        None => true,
    }
}

/// The seqs after `after` up to `upto` (empty when there are none; `BTreeMap::range` panics on reversed bounds).
fn span(after: u64, upto: u64) -> (std::ops::Bound<u64>, std::ops::Bound<u64>) {
    use std::ops::Bound::{Excluded, Included};
    (Excluded(after), Included(upto.max(after)))
}
