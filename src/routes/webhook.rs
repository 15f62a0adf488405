//! `POST /webhooks/google`: hands the push to the [`PushInbox`](crate::push::inbox::PushInbox) and
//! maps its verdict to a status code and `calsync_webhook_notifications_total{verdict}`; the sync runs later.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::AppState;
use crate::push::inbox::Verdict;

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

fn reject(status: StatusCode, code: &str, message: String) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": {"code": code, "message": message}}))
}

pub async fn receive(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let verdict = state.inbox.receive(req.headers()).await;
    count(&state, verdict.label());
    match verdict {
        // Unknown or ended channels: 2xx so Google stops retrying.
        Verdict::Accepted | Verdict::Sync | Verdict::UnknownChannel => HttpResponse::Ok().finish(),
        Verdict::Malformed(e) => reject(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
        Verdict::BadToken => reject(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "bad channel token".into(),
        ),
        Verdict::ResourceMismatch => reject(
            StatusCode::FORBIDDEN,
            "forbidden",
            "resource id does not match the channel".into(),
        ),
        Verdict::Unavailable => HttpResponse::ServiceUnavailable().finish(),
    }
}
