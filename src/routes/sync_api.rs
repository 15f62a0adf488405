//! `POST /api/v1/calendar/sync`: sync now (the n8n 06:00 cron); answers with the counts.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::auth::Admin;
use crate::error::ApiError;
use crate::sync::{Outcome, Trigger};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncBody {
    /// One account's calendars (an account-scoped token: its own, always).
    pub account: Option<String>,
    pub calendar_id: Option<String>,
    pub casquette: Option<String>,
    #[serde(default)]
    pub full: bool,
}

pub async fn sync_now(
    caller: Admin,
    state: web::Data<AppState>,
    body: Option<web::Json<SyncBody>>,
) -> Result<HttpResponse, ApiError> {
    let syncer = state
        .syncer
        .as_ref()
        .ok_or_else(|| ApiError::Conflict("Google sync is disabled in the configuration".into()))?;
    let body = body.map(|b| b.into_inner()).unwrap_or_default();
    let account = caller.scope(body.account.as_deref())?;
    let active = crate::db::calendars::list_active(&state.pool, account).await?;
    let named = match &body.calendar_id {
        Some(id) => crate::db::calendars::named(&active, id),
        None => active.iter().collect(),
    };
    let calendars: Vec<_> = named
        .into_iter()
        .filter(|c| body.casquette.as_ref().is_none_or(|r| &c.casquette == r))
        .collect();
    if calendars.is_empty() {
        return Err(ApiError::NotFound("calendar".into()));
    }
    let mut results = Vec::new();
    let (mut created, mut updated, mut deleted, mut errors) = (0, 0, 0, 0);
    for cal in calendars {
        let outcome = syncer
            .sync_calendar(&cal.id, Trigger::Api, body.full)
            .await?;
        results.push(match outcome {
            Outcome::Done(r) => {
                created += r.counts.created;
                updated += r.counts.updated;
                deleted += r.counts.deleted;
                json!({"calendar_id": cal.id, "casquette": cal.casquette, "status": "ok",
                       "full": r.full, "pages": r.pages, "events_created": r.counts.created,
                       "events_updated": r.counts.updated, "events_deleted": r.counts.deleted,
                       "events_unchanged": r.counts.unchanged, "elapsed_ms": r.elapsed_ms})
            }
            Outcome::Busy => json!({"calendar_id": cal.id, "casquette": cal.casquette, "status": "in_progress"}),
            Outcome::Paused(reason) => {
                errors += 1;
                json!({"calendar_id": cal.id, "casquette": cal.casquette, "status": "paused", "error": reason})
            }
            Outcome::Failed(e) => {
                errors += 1;
                json!({"calendar_id": cal.id, "casquette": cal.casquette, "status": "failed", "error": e.to_string()})
            }
        });
    }
    let body = json!({
        "events_created": created, "events_updated": updated, "events_deleted": deleted,
        "errors_count": errors, "calendars": results,
    });
    Ok(if errors == 0 {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::BadGateway().json(body)
    })
}
