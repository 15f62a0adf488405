//! `GET /api/v1/conflicts` and `POST /api/v1/conflicts/{id}/resolve {"keep": "local"|"google"}`:
//! the manual choice re-applies the kept version as a fresh local write, which reaches Google through the outbox.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::auth::Admin;
use super::events::model::Span;
use crate::db::conflicts::{self, Winner};
use crate::db::events::{self, EventStatus};
use crate::error::ApiError;
use crate::google::{Event, EventTime};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    pub all: bool,
    pub account: Option<String>,
}

pub async fn list(
    caller: Admin,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let account = caller.scope(q.account.as_deref())?;
    let rows = conflicts::list(&state.pool, q.all, account).await?;
    let items: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            json!({"id": r.id, "event_id": r.event_id, "calendar_id": r.calendar_id, "googleId": r.external_id,
                   "winner": r.winner, "local": r.local_version, "google": r.google_version,
                   "local_updated_at": r.local_updated_at, "google_updated": r.google_updated,
                   "detected_at": r.detected_at, "resolved_at": r.resolved_at, "resolution": r.resolution})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"items": items})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolve {
    pub keep: String,
}

/// A kept version's start or end, as the events API would take it.
fn time(t: &Option<EventTime>, key: &str) -> Result<EventTime, ApiError> {
    let unusable = || ApiError::Conflict(format!("the kept version has no usable {key}"));
    let mut t = t
        .clone()
        .filter(|t| t.extra.is_empty())
        .ok_or_else(unusable)?;
    // Stored versions may carry `+00:00` date-times from PostgreSQL; both are RFC 3339.
    if let Some(dt) = &t.date_time
        && let Ok(parsed) = DateTime::parse_from_rfc3339(dt)
    {
        t.date_time = Some(parsed.with_timezone(&Utc).to_rfc3339());
    }
    Ok(t)
}

pub async fn resolve(
    caller: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<Resolve>,
) -> Result<HttpResponse, ApiError> {
    let id: Uuid = path
        .parse()
        .map_err(|_| ApiError::NotFound("conflict".into()))?;
    if caller.account().is_some() {
        let calendar = conflicts::calendar_of(&state.pool, id)
            .await?
            .ok_or_else(|| ApiError::NotFound("conflict".into()))?;
        caller
            .may_see_calendar(&state.pool, &calendar, "conflict")
            .await?;
    }
    let keep = body.into_inner().keep;
    let event_id = apply(&state.pool, id, &keep).await?;
    Ok(HttpResponse::Ok().json(json!({"resolved": id, "kept": keep, "event_id": event_id})))
}

/// Re-applies the kept version of conflict `id` as a fresh local write; returns the event's id.
pub async fn apply(pool: &sqlx::PgPool, id: Uuid, keep: &str) -> Result<Uuid, ApiError> {
    let keep = match keep {
        "local" => Winner::Local,
        "google" => Winner::Google,
        _ => {
            return Err(ApiError::BadRequest(
                "keep must be \"local\" or \"google\"".into(),
            ));
        }
    };
    // The conflict row is claimed first, in the transaction that applies the choice: concurrent
    // callers wait on its lock, then find it resolved (409). Exactly one of them writes.
    let mut tx = pool.begin().await?;
    let Some(c) = conflicts::claim(&mut tx, id, keep).await? else {
        return Err(match conflicts::exists(&mut tx, id).await? {
            true => ApiError::Conflict("this conflict is already resolved".into()),
            false => ApiError::NotFound("conflict".into()),
        });
    };
    let event_id = c
        .event_id
        .ok_or_else(|| ApiError::Conflict("the event no longer exists".into()))?;
    let v = match keep {
        Winner::Local => c.local_version,
        Winner::Google => c.google_version,
    };
    // Both versions are in Google's Event shape; the local one adds `deleted` (and its own id).
    let kept = Event::read(&v).map(|r| r.event).unwrap_or_default();
    let deleted = v.get("deleted").and_then(Value::as_bool).unwrap_or(false) || kept.is_cancelled();
    if deleted {
        events::soft_delete(&mut tx, event_id).await?;
    } else {
        let span = Span::parse(&time(&kept.start, "start")?, &time(&kept.end, "end")?)?;
        let (start_at, end_at, start_date, end_date) = span.columns();
        let status = match kept.status.as_deref() {
            Some("tentative") => EventStatus::Tentative,
            _ => EventStatus::Confirmed,
        };
        events::restore_version(
            &mut tx,
            event_id,
            &events::LocalColumns {
                summary: kept.summary.as_deref(),
                description: kept.description.as_deref(),
                location: kept.location.as_deref(),
                start_at,
                end_at,
                start_date,
                end_date,
                time_zone: span.time_zone.as_deref(),
                recurrence: kept.recurrence.as_deref(),
                reminders: kept.reminders.as_ref().filter(|r| !r.is_null()),
                status,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(event_id)
}
