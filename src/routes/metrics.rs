//! `GET /metrics`: Prometheus text format; counters and histograms from the registry, gauges read
//! from the database at scrape time (channels, outbox, conflicts).

use actix_web::{HttpResponse, web};

use super::AppState;

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut body = state.metrics.render();
    match crate::status::gauges(&state.pool).await {
        Ok(snap) => body.push_str(&crate::status::render_gauges(&snap, chrono::Utc::now())),
        Err(e) => {
            tracing::warn!(error.cause = %e, "metrics: database gauges unavailable");
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
