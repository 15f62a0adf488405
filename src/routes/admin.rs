//! Channel admin: `GET /admin/channels`, `POST /admin/channels/renew`, `POST /admin/channels/{id}/stop`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::auth::{AccountQuery, Admin};
use crate::db::calendars;
use crate::db::watch_channels as channels;
use crate::error::ApiError;
use crate::push::registry::{ChannelError, ChannelManager};

fn manager(state: &AppState) -> Result<&ChannelManager, ApiError> {
    state.channels.as_ref().ok_or_else(|| {
        ApiError::Conflict(
            "push is not configured (WEBHOOK_PUBLIC_URL, CHANNEL_TOKEN_SECRET, Google sync)".into(),
        )
    })
}

impl From<ChannelError> for ApiError {
    fn from(e: ChannelError) -> Self {
        match e {
            ChannelError::UnknownChannel => ApiError::NotFound("channel".into()),
            ChannelError::UnknownCalendar => ApiError::NotFound("calendar".into()),
            ChannelError::Database(db) => db.into(),
            ChannelError::Google(g) => ApiError::Unavailable(anyhow::anyhow!("google: {g}")),
        }
    }
}

pub async fn list(
    caller: Admin,
    state: web::Data<AppState>,
    q: web::Query<AccountQuery>,
) -> Result<HttpResponse, ApiError> {
    let rows = channels::list(&state.pool, caller.scope(q.account.as_deref())?).await?;
    Ok(HttpResponse::Ok().json(json!({"channels": rows})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewBody {
    pub calendar_id: Option<String>,
}

pub async fn renew(
    caller: Admin,
    state: web::Data<AppState>,
    body: Option<web::Json<RenewBody>>,
) -> Result<HttpResponse, ApiError> {
    let manager = manager(&state)?;
    let wanted = body.and_then(|b| b.into_inner().calendar_id);
    let active = calendars::list_active(&state.pool, caller.account()).await?;
    let calendars: Vec<String> = match wanted {
        Some(id) => {
            let found: Vec<String> = calendars::named(&active, &id)
                .into_iter()
                .map(|c| c.id.clone())
                .collect();
            if found.is_empty() {
                return Err(ApiError::NotFound(format!("calendar {id:?}")));
            }
            found
        }
        None => active.into_iter().map(|c| c.id).collect(),
    };
    let mut renewed = Vec::new();
    let mut failed = Vec::new();
    for id in calendars {
        match manager.renew(&id).await {
            Ok(created) => renewed.push(created),
            Err(e) => {
                tracing::warn!(calendar = %id, error.cause = %e, "admin renewal failed");
                failed.push(json!({"calendar_id": id, "error": "renewal failed"}));
            }
        }
    }
    let status = if failed.is_empty() { 200 } else { 502 };
    Ok(
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default())
            .json(json!({"renewed": renewed, "failed": failed})),
    )
}

pub async fn stop(
    caller: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    if caller.account().is_some() {
        let row = channels::lookup(&state.pool, &id)
            .await?
            .ok_or_else(|| ApiError::NotFound("channel".into()))?;
        caller
            .may_see_calendar(&state.pool, &row.calendar_id, "channel")
            .await?;
    }
    manager(&state)?.stop(&id).await?;
    state.channel_cache.forget(&id);
    Ok(HttpResponse::Ok().json(json!({"stopped": true})))
}
