//! `/api/v1/events`: list, get, create, patch, delete local events; writes reach Google through the outbox.

pub mod model;
mod reminders;
mod today;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::AppState;
use super::auth::Admin;
use super::input;
use crate::db::{calendars, events};
use crate::error::ApiError;
use model::{EventRow, EventTime, NewEvent, Span};

pub use today::today;

const MAX_PAGE: i64 = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub account: Option<String>,
    pub calendar: Option<String>,
    pub casquette: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// The event, if the caller may see it: another account's event is "not found" to an
/// account-scoped caller, as a missing one is, so ids do not leak.
async fn fetch(pool: &sqlx::PgPool, caller: &Admin, id: Uuid) -> Result<EventRow, ApiError> {
    let row = events::fetch(pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("event".into()))?;
    caller
        .may_see_calendar(pool, &row.calendar_id, "event")
        .await?;
    Ok(row)
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound("event".into()))
}

/// The calendar a write targets, among those the caller may write: `calendar_id` (the calendar
/// key, or a Google id that names one calendar), else the role's calendar (refused when several
/// accounts have that role: give `calendar_id`).
async fn target(
    state: &AppState,
    caller: &Admin,
    calendar_id: Option<&str>,
    casquette: Option<&str>,
) -> Result<String, ApiError> {
    let cals = calendars::list_active(&state.pool, caller.account()).await?;
    match (calendar_id, casquette) {
        (Some(id), _) => {
            let found: Vec<_> = calendars::named(&cals, id)
                .into_iter()
                .filter(|c| casquette.is_none_or(|r| r == c.casquette))
                .collect();
            match found.as_slice() {
                [one] => Ok(one.id.clone()),
                [] => Err(ApiError::BadRequest(format!(
                    "calendar_id {id:?} is not a configured calendar of that casquette"
                ))),
                _ => Err(ApiError::BadRequest(format!(
                    "calendar_id {id:?} names a calendar of several accounts: give its key (account:id)"
                ))),
            }
        }
        (None, Some(casquette)) => {
            let found: Vec<_> = cals.iter().filter(|c| c.casquette == casquette).collect();
            let first = found
                .first()
                .ok_or_else(|| ApiError::BadRequest(format!("unknown casquette {casquette:?}")))?;
            if found.iter().any(|c| c.account != first.account) {
                return Err(ApiError::BadRequest(format!(
                    "casquette {casquette:?} is used by several accounts: give calendar_id"
                )));
            }
            Ok(first.id.clone())
        }
        (None, None) => Err(ApiError::BadRequest("give casquette or calendar_id".into())),
    }
}

pub async fn list(
    caller: Admin,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    input::opt_text("calendar", q.calendar.as_deref())?;
    if let Some(role) = &q.casquette
        && !state.settings.google_calendar.casquettes.contains(role)
    {
        return Err(ApiError::BadRequest(format!("unknown casquette {role:?}")));
    }
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let offset = q.offset.unwrap_or(0).max(0);
    let rows = events::list(
        &state.pool,
        &events::ListFilter {
            account: caller.scope(q.account.as_deref())?,
            calendar: q.calendar.as_deref(),
            casquette: q.casquette.as_deref(),
            from: q.from,
            to: q.to,
            limit: limit + 1,
            offset,
        },
    )
    .await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<Value> = rows
        .iter()
        .take(limit as usize)
        .map(EventRow::to_json)
        .collect();
    let mut body = json!({"items": items});
    if more {
        body["nextOffset"] = json!(offset + limit);
    }
    Ok(HttpResponse::Ok().json(body))
}

pub async fn get(
    caller: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let record = fetch(&state.pool, &caller, parse_id(&path)?).await?;
    Ok(HttpResponse::Ok().json(record.to_json()))
}

pub async fn create(
    caller: Admin,
    state: web::Data<AppState>,
    body: web::Json<NewEvent>,
) -> Result<HttpResponse, ApiError> {
    let e = body.into_inner();
    let calendar = target(
        &state,
        &caller,
        e.calendar_id.as_deref(),
        e.casquette.as_deref(),
    )
    .await?;
    input::opt_text("summary", e.summary.as_deref())?;
    input::opt_text("description", e.description.as_deref())?;
    input::opt_text("location", e.location.as_deref())?;
    if let Some(r) = &e.reminders {
        reminders::check(r)?;
        input::json("reminders", r)?;
    }
    let span = Span::parse(&e.start, &e.end)?;
    let status = model::status(e.status.as_deref())?;
    if let Some(r) = &e.recurrence {
        input::lines("recurrence", r)?;
        model::recurrence(r)?;
        if span.time_zone.is_none() && matches!(span.start, model::When::At(_)) {
            return Err(ApiError::BadRequest(
                "recurring events need start.timeZone".into(),
            ));
        }
    }
    let (start_at, end_at, start_date, end_date) = span.columns();
    // `target` checked that the caller may write this calendar; the row is answered as stored.
    let record = events::insert_local(
        &state.pool,
        &calendar,
        &events::LocalColumns {
            summary: e.summary.as_deref(),
            description: e.description.as_deref(),
            location: e.location.as_deref(),
            start_at,
            end_at,
            start_date,
            end_date,
            time_zone: span.time_zone.as_deref(),
            recurrence: e.recurrence.as_deref(),
            reminders: e.reminders.as_ref(),
            status,
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(record.to_json()))
}

fn text_field(patch: &Map<String, Value>, key: &str) -> Result<(bool, Option<String>), ApiError> {
    match patch.get(key) {
        None => Ok((false, None)),
        Some(Value::Null) => Ok((true, None)),
        Some(Value::String(s)) => {
            input::text(key, s)?;
            Ok((true, Some(s.clone())))
        }
        Some(_) => Err(ApiError::BadRequest(format!(
            "{key} must be a string or null"
        ))),
    }
}

pub async fn patch(
    caller: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    const FIELDS: [&str; 8] = [
        "summary",
        "description",
        "location",
        "start",
        "end",
        "recurrence",
        "reminders",
        "status",
    ];
    let id = parse_id(&path)?;
    let patch = body.into_inner();
    if let Some(k) = patch.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(ApiError::BadRequest(format!("{k} cannot be patched")));
    }
    let current = fetch(&state.pool, &caller, id).await?;
    let (set_summary, summary) = text_field(&patch, "summary")?;
    let (set_description, description) = text_field(&patch, "description")?;
    let (set_location, location) = text_field(&patch, "location")?;
    let time = |key: &str, current: Value| -> Result<EventTime, ApiError> {
        let v = patch.get(key).cloned().unwrap_or(current);
        serde_json::from_value(v).map_err(|e| ApiError::BadRequest(format!("{key}: {e}")))
    };
    let current_json = current.to_json();
    let span = Span::parse(
        &time("start", current_json["start"].clone())?,
        &time("end", current_json["end"].clone())?,
    )?;
    let (start_at, end_at, start_date, end_date) = span.columns();
    let set_recurrence = patch.contains_key("recurrence");
    let recurrence: Option<Vec<String>> = match patch.get("recurrence") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let lines: Vec<String> = serde_json::from_value(v.clone())
                .map_err(|_| ApiError::BadRequest("recurrence must be a list of strings".into()))?;
            input::lines("recurrence", &lines)?;
            model::recurrence(&lines)?;
            Some(lines)
        }
    };
    // A timed series needs its zone, whichever of the two the patch changes (POST refuses it too).
    let recurring = if set_recurrence {
        recurrence.as_ref().is_some_and(|r| !r.is_empty())
    } else {
        current.recurrence.as_ref().is_some_and(|r| !r.is_empty())
    };
    if recurring && span.time_zone.is_none() && matches!(span.start, model::When::At(_)) {
        return Err(ApiError::BadRequest(
            "recurring events need start.timeZone".into(),
        ));
    }
    let set_reminders = patch.contains_key("reminders");
    let reminders = patch.get("reminders").cloned().filter(|v| !v.is_null());
    if let Some(r) = &reminders {
        reminders::check(r)?;
        input::json("reminders", r)?;
    }
    let status = match patch.get("status") {
        None => current.status,
        Some(v) => model::patched_status(v)?,
    };
    // The scope was checked on the row read above; the answer is the row as the update left it.
    let updated = events::patch_local(
        &state.pool,
        id,
        &events::LocalPatch {
            summary: set_summary.then_some(summary.as_deref()),
            description: set_description.then_some(description.as_deref()),
            location: set_location.then_some(location.as_deref()),
            start_at,
            end_at,
            start_date,
            end_date,
            time_zone: span.time_zone.as_deref(),
            recurrence: set_recurrence.then_some(recurrence.as_deref()),
            reminders: set_reminders.then_some(reminders.as_ref()),
            status,
        },
    )
    .await?
    .ok_or_else(|| ApiError::NotFound("event".into()))?;
    Ok(HttpResponse::Ok().json(updated.to_json()))
}

pub async fn delete(
    caller: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    if caller.account().is_some() {
        fetch(&state.pool, &caller, id).await?;
    }
    let deleted = events::delete_local(&state.pool, id).await?;
    if deleted == 0 {
        return Err(ApiError::NotFound("event".into()));
    }
    Ok(HttpResponse::NoContent().finish())
}
