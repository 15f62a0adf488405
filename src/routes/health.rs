//! `GET /healthz` (the process is alive) and `GET /readyz` (PostgreSQL, Redis and per-calendar state).

use std::time::Duration;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::AppState;

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

#[derive(Serialize)]
struct CalendarReadiness {
    id: String,
    casquette: String,
    pending: bool,
    last_success_at: Option<DateTime<Utc>>,
    consecutive_failures: i32,
    error: Option<String>,
}

/// 200 when PostgreSQL answers (`degraded` if Redis does not), 503 with a reason when PostgreSQL does not.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let calendars = tokio::time::timeout(PROBE_TIMEOUT, calendar_states(&state.pool)).await;
    let redis_up = match &state.redis {
        Some(r) => r.ping().await,
        None => false,
    };
    let redis = if redis_up { "up" } else { "down" };
    match calendars {
        Ok(Ok(calendars)) => {
            let status = if redis_up { "ready" } else { "degraded" };
            HttpResponse::Ok().json(json!({
                "status": status,
                "postgres": "up",
                "redis": redis,
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

async fn calendar_states(pool: &sqlx::PgPool) -> Result<Vec<CalendarReadiness>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT c.id, c.casquette,
                  COALESCE(s.pending, TRUE) AS "pending!",
                  s.last_success_at,
                  COALESCE(s.consecutive_failures, 0) AS "consecutive_failures!",
                  s.error_reason
             FROM calendars c LEFT JOIN sync_state s ON s.calendar_id = c.id
            WHERE c.active
            ORDER BY c.id"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| CalendarReadiness {
            id: r.id,
            casquette: r.casquette,
            pending: r.pending,
            last_success_at: r.last_success_at,
            consecutive_failures: r.consecutive_failures,
            error: r.error_reason,
        })
        .collect())
}
