//! `events.instances`: the occurrences of one series, exceptions applied (edited instances as stored,
//! cancelled ones only with `showDeleted`), each with `recurringEventId` and `originalStartTime`,
//! filtered by `timeMin`/`timeMax`/`originalStart`, paged by its own `maxResults`/`pageToken`.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::state::{State, bounds, now_rfc3339};
use super::users::Caller;
use super::{Shared, errors, fields, recurrence};

fn instant(q: &HashMap<String, String>, key: &str) -> Result<Option<DateTime<Utc>>, HttpResponse> {
    q.get(key)
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| errors::bad_request(&format!("Bad Request: invalid {key}")))
        })
        .transpose()
}

/// The instances page for `id` in `cal`.
pub fn instances(
    state: &State,
    user: &str,
    cal: &str,
    id: &str,
    q: &HashMap<String, String>,
) -> Result<Value, HttpResponse> {
    let cal_id = state.resolve(user, cal).ok_or_else(errors::not_found)?;
    let calendar = state.cal(user, &cal_id).ok_or_else(errors::not_found)?;
    let master = calendar.events.get(id).ok_or_else(errors::not_found)?;
    if master.get("status").and_then(Value::as_str) == Some("cancelled") {
        return Err(errors::deleted());
    }
    let max = match q.get("maxResults") {
        None => 250,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(2500),
            _ => return Err(errors::invalid("Invalid value for maxResults")),
        },
    };
    let show_deleted = match q.get("showDeleted").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(errors::invalid("Invalid boolean value for showDeleted.")),
    };
    let from = instant(q, "timeMin")?;
    let until = instant(q, "timeMax")?;
    if let (Some(f), Some(u)) = (from, until)
        && u <= f
    {
        return Err(errors::time_range_empty());
    }
    let original = instant(q, "originalStart")?;
    let mut all: Vec<Value> = if master.get("recurrence").is_some() {
        let (first, _) = bounds(master).ok_or_else(errors::not_found)?;
        // Unbounded: from the first occurrence, two years of it (an endless series has no last page).
        let from = from.or(Some(first - Duration::days(1)));
        let until = until.or(Some(first.max(Utc::now()) + Duration::days(730)));
        recurrence::instances(calendar, master, from, until, show_deleted)
    } else {
        // Google answers a single event's instances with the event itself.
        vec![master.clone()]
    };
    if let Some(o) = original {
        all.retain(|e| {
            e.get("originalStartTime")
                .and_then(super::validate::instant)
                .is_some_and(|t| t == o)
        });
    }
    let start = match q.get("pageToken") {
        None => 0,
        Some(t) => URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("i").and_then(|n| n.parse::<usize>().ok()))
            .ok_or_else(|| errors::invalid("Invalid page token value."))?,
    };
    let items: Vec<Value> = all.iter().skip(start).take(max).cloned().collect();
    let mut body = json!({
        "kind": "calendar#events", "etag": format!("\"p{}\"", state.seq),
        "summary": calendar.summary, "description": "", "updated": now_rfc3339(),
        "timeZone": calendar.time_zone, "accessRole": "owner",
        "defaultReminders": [{"method": "popup", "minutes": 30}], "items": items,
    });
    if start + max < all.len() {
        body["nextPageToken"] = json!(URL_SAFE_NO_PAD.encode(format!("i{}", start + max)));
    }
    Ok(body)
}

/// `GET /calendars/{cal}/events/{id}/instances`.
pub async fn handler(
    s: web::Data<Shared>,
    who: Caller,
    path: web::Path<(String, String)>,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let (cal, id) = path.into_inner();
    let state = s.lock();
    match instances(&state, &who.0, &cal, &id, &q).and_then(|v| fields::apply(v, &q)) {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => e,
    }
}
