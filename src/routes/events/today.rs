//! `GET /api/v1/events/today?casquette=…`: the seed's `get_todays_events`, in each calendar's time zone,
//! recurring series expanded with their exceptions and cancellations applied.
//!
//! Expansion runs off the async workers (`spawn_blocking`) under one work budget and deadline per
//! request; a series that is cut is listed under `truncated` with the reason.

use std::collections::HashSet;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::super::AppState;
use super::super::auth::Admin;
use crate::db::events::{EventRow, EventStatus};
use crate::db::{calendars, events};
use crate::error::ApiError;
use crate::recurrence::{Budget, Limits, Series, expand as expand_series, start_of_day};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TodayQuery {
    pub casquette: Option<String>,
    /// Another day than today (`YYYY-MM-DD`), mostly for planning and tests.
    pub date: Option<NaiveDate>,
}

pub async fn today(
    caller: Admin,
    state: web::Data<AppState>,
    q: web::Query<TodayQuery>,
) -> Result<HttpResponse, ApiError> {
    if let Some(casquette) = &q.casquette
        && !state
            .settings
            .google_calendar
            .casquettes
            .contains(casquette)
    {
        return Err(ApiError::BadRequest(format!(
            "unknown casquette {casquette:?}"
        )));
    }
    let mut days: Vec<Day> = Vec::new();
    // Each calendar's zone: the config's, else the one Google reported at the last sync.
    let calendars =
        calendars::active_zones(&state.pool, q.casquette.as_deref(), caller.account()).await?;
    for cal in calendars {
        let configured = state
            .settings
            .calendar_in(&cal.account, &cal.google_id)
            .and_then(|c| c.time_zone.clone());
        let tz: chrono_tz::Tz = configured
            .or(cal.time_zone.clone())
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::UTC);
        let day = q
            .date
            .unwrap_or_else(|| Utc::now().with_timezone(&tz).date_naive());
        let from = start_of_day(day, tz);
        let until = start_of_day(day.succ_opt().unwrap_or(day), tz);
        let rows = events::for_day(&state.pool, &cal.id, from, until, day).await?;
        days.push(Day {
            tz,
            day,
            from,
            until,
            rows,
        });
    }
    // Expansion is CPU work with a bounded cost: off the async workers, one budget for the request.
    let work = tokio::task::spawn_blocking(move || {
        let mut budget = Budget::new(EXPANSION_TIME, EXPANSION_STEPS);
        let mut out = Agenda::default();
        for d in &days {
            d.collect(&mut budget, &mut out);
        }
        out
    });
    let mut out = tokio::time::timeout(EXPANSION_TIME * 2, work)
        .await
        .map_err(|_| ApiError::Unavailable(anyhow::anyhow!("recurrence expansion timed out")))?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("expansion task: {e}")))?;
    out.items.sort_by_key(|(k, _)| *k);
    let items: Vec<Value> = out.items.into_iter().map(|(_, v)| v).collect();
    Ok(HttpResponse::Ok().json(json!({"items": items, "truncated": out.truncated})))
}

/// Time and steps one `/today` request may spend expanding series (well under a second in practice).
const EXPANSION_TIME: std::time::Duration = std::time::Duration::from_millis(1500);
const EXPANSION_STEPS: u64 = 2_000_000;

/// One calendar's day: its zone, the day's bounds and the rows that may fall in it.
struct Day {
    tz: chrono_tz::Tz,
    day: NaiveDate,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    rows: Vec<EventRow>,
}

/// What the day holds, and the series that could not be listed whole.
#[derive(Default)]
struct Agenda {
    items: Vec<(DateTime<Utc>, Value)>,
    truncated: Vec<Value>,
}

impl Day {
    fn collect(&self, budget: &mut Budget, out: &mut Agenda) {
        // Instances that replace an occurrence of a series (moved or cancelled), by series.
        let replaced: HashSet<(String, String)> = self
            .rows
            .iter()
            .filter_map(|r| {
                Some((
                    r.recurring_event_id.clone()?,
                    normalise(r.original_start.as_deref()?),
                ))
            })
            .collect();
        for r in &self.rows {
            let live = r.status != EventStatus::Cancelled && r.deleted_at.is_none();
            if r.recurrence.is_some() {
                if live {
                    expand(r, self, budget, &replaced, out);
                }
            } else if live && overlaps(r, self.from, self.until, self.day) {
                out.items.push((sort_key(r, self.from), r.to_json()));
            }
        }
    }
}

fn overlaps(r: &EventRow, from: DateTime<Utc>, until: DateTime<Utc>, day: NaiveDate) -> bool {
    match (r.start_at, r.end_at, r.start_date, r.end_date) {
        (Some(s), Some(e), _, _) => s < until && e > from,
        (_, _, Some(s), Some(e)) => s <= day && e > day,
        _ => false,
    }
}

fn sort_key(r: &EventRow, from: DateTime<Utc>) -> DateTime<Utc> {
    r.start_at.unwrap_or(from)
}

/// `originalStartTime` as the instance-id style key (UTC instant or date), so both spellings match.
fn normalise(original: &str) -> String {
    DateTime::parse_from_rfc3339(original)
        .map(|t| t.with_timezone(&Utc).format("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|_| original.replace('-', ""))
}

/// Adds the occurrences of series `r` within [from, until) to `out`, skipping replaced ones.
fn expand(
    r: &EventRow,
    day: &Day,
    budget: &mut Budget,
    replaced: &HashSet<(String, String)>,
    out: &mut Agenda,
) {
    let (cal_tz, from, until) = (day.tz, day.from, day.until);
    // A series not at Google yet has no exceptions; its occurrences carry an empty series id.
    let series = r.external_id.as_deref().unwrap_or_default();
    let tz: chrono_tz::Tz = r
        .time_zone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(cal_tz);
    let lines = r.recurrence.clone().unwrap_or_default();
    let (first, duration, all_day) = match (r.start_at, r.end_at, r.start_date, r.end_date) {
        (Some(s), Some(e), _, _) => (s, e - s, false),
        (_, _, Some(s), Some(e)) => (
            start_of_day(s, tz),
            chrono::Duration::days((e - s).num_days()),
            true,
        ),
        _ => return,
    };
    let shape = Series {
        first,
        duration,
        tz,
        lines: &lines,
    };
    let expansion = match expand_series(shape, from, until, Limits::DAY, budget) {
        Ok(x) => x,
        Err(e) => {
            tracing::warn!(event = %r.id, line = ?e.index, "unreadable recurrence rule; series skipped");
            out.truncated
                .push(json!({"id": r.id, "reason": "unreadable_rule"}));
            return;
        }
    };
    if let Some(cut) = expansion.cut {
        tracing::warn!(event = %r.id, reason = cut.as_str(), "recurring series cut short");
        out.truncated
            .push(json!({"id": r.id, "reason": cut.as_str()}));
    }
    for start in expansion.starts {
        let key = if all_day {
            start.with_timezone(&tz).format("%Y%m%d").to_string()
        } else {
            start.format("%Y%m%dT%H%M%SZ").to_string()
        };
        if replaced.contains(&(series.to_string(), key)) {
            continue;
        }
        let mut v = r.to_json();
        if let Some(obj) = v.as_object_mut() {
            obj.remove("recurrence");
            obj.insert("recurringEventId".into(), json!(series));
            if all_day {
                let d = start.with_timezone(&tz).date_naive();
                let end = d + chrono::Duration::days(duration.num_days().max(1));
                obj.insert("start".into(), json!({"date": d.to_string()}));
                obj.insert("end".into(), json!({"date": end.to_string()}));
            } else {
                let fmt = |t: DateTime<Utc>| t.with_timezone(&tz).to_rfc3339();
                obj.insert(
                    "start".into(),
                    json!({"dateTime": fmt(start), "timeZone": tz.name()}),
                );
                obj.insert(
                    "end".into(),
                    json!({"dateTime": fmt(start + duration), "timeZone": tz.name()}),
                );
            }
        }
        out.items.push((start, v));
    }
}
