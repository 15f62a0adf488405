//! `POST /webhooks/google`: verify the push, mark the calendar dirty durably, answer at once; the sync runs later.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::AppState;
use crate::db::watch_channels as channels;
use crate::push::headers::{Notification, ResourceState};

fn count(state: &AppState, verdict: &'static str) {
    state
        .metrics
        .counter(
            "calsync_webhook_notifications_total",
            "Push notifications received, by verdict.",
            vec![("verdict", verdict.into())],
        )
        .inc();
}

fn reject(status: actix_web::http::StatusCode, code: &str, message: String) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": {"code": code, "message": message}}))
}

pub async fn receive(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let note = match Notification::from_headers(req.headers()) {
        Ok(n) => n,
        Err(e) => {
            count(&state, "malformed");
            return reject(
                actix_web::http::StatusCode::BAD_REQUEST,
                "bad_request",
                e.to_string(),
            );
        }
    };
    let channel = match state
        .channel_cache
        .lookup(&state.pool, &note.channel_id)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            count(&state, "unavailable");
            tracing::warn!(error.cause = %e, "webhook: database unavailable, asking Google to retry");
            return HttpResponse::ServiceUnavailable().finish();
        }
    };
    // Unknown or ended channels: 2xx so Google stops retrying, and no work.
    let Some(channel) = channel.filter(|c| c.is_live()) else {
        count(&state, "unknown_channel");
        tracing::debug!(channel = %note.channel_id, "webhook: unknown or stopped channel ignored");
        return HttpResponse::Ok().finish();
    };
    let Some(tokens) = state.channel_tokens.as_ref() else {
        count(&state, "unavailable");
        return HttpResponse::ServiceUnavailable().finish();
    };
    let token_ok = note
        .token
        .as_deref()
        .is_some_and(|t| tokens.verify(t, &channel.id, &channel.calendar_id));
    if !token_ok {
        count(&state, "bad_token");
        tracing::warn!(channel = %channel.id, calendar = %channel.calendar_id, "webhook: bad channel token");
        return reject(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "unauthorized",
            "bad channel token".into(),
        );
    }
    if channel
        .resource_id
        .as_deref()
        .is_some_and(|r| r != note.resource_id)
    {
        count(&state, "mismatch");
        tracing::warn!(channel = %channel.id, calendar = %channel.calendar_id, "webhook: resource id mismatch");
        return reject(
            actix_web::http::StatusCode::FORBIDDEN,
            "forbidden",
            "resource id does not match the channel".into(),
        );
    }
    if note.resource_state != ResourceState::Sync {
        if state.marker.mark(&channel.calendar_id).await.is_err() {
            count(&state, "unavailable");
            tracing::warn!(calendar = %channel.calendar_id, "webhook: calendar not marked, asking Google to retry");
            return HttpResponse::ServiceUnavailable().finish();
        }
        count(&state, "accepted");
    } else {
        count(&state, "sync");
        if let Err(e) = channels::touch(&state.pool, &channel.id, note.message_number).await {
            tracing::debug!(error.cause = %e, "webhook: sync message not recorded");
        }
    }
    HttpResponse::Ok().finish()
}
