//! `GET /healthz` (the process is alive) and `GET /readyz` (PostgreSQL, Redis, per-calendar state and
//! paused accounts).

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AppState;

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// 200 when PostgreSQL answers (`degraded` if Redis does not), 503 with a reason when PostgreSQL does not.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let calendars = tokio::time::timeout(
        PROBE_TIMEOUT,
        crate::db::status::calendar_states(&state.pool, state.settings.push.enabled),
    )
    .await;
    let redis_up = match &state.redis {
        Some(r) => r.ping().await,
        None => false,
    };
    let redis = if redis_up { "up" } else { "down" };
    match calendars {
        Ok(Ok(calendars)) => {
            let status = if redis_up { "ready" } else { "degraded" };
            // Accounts Google refused (each paused until new credentials or an explicit sync).
            let paused: Vec<String> =
                tokio::time::timeout(PROBE_TIMEOUT, crate::db::account_state::paused(&state.pool))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| p.account)
                    .collect();
            HttpResponse::Ok().json(json!({
                "status": status,
                "postgres": "up",
                "redis": redis,
                "paused_accounts": paused,
                "calendars": calendars,
            }))
        }
        Ok(Err(e)) => {
            tracing::warn!(error.cause = %e, "readiness: postgres query failed");
            unavailable("postgres is unreachable", redis)
        }
        Err(_) => unavailable("postgres did not answer in time", redis),
    }
}

fn unavailable(reason: &str, redis: &str) -> HttpResponse {
    HttpResponse::ServiceUnavailable().json(json!({
        "status": "unavailable",
        "postgres": "down",
        "redis": redis,
        "reason": reason,
    }))
}
