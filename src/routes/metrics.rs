//! `GET /metrics`: OpenMetrics text; counters and histograms from the registry, gauges read from the
//! database at scrape time (channels, outbox, conflicts).

use actix_web::{HttpResponse, web};

use super::AppState;

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    match crate::status::gauges(&state.pool, state.settings.push.enabled).await {
        Ok(snap) => crate::status::record_gauges(&snap, chrono::Utc::now(), &state.metrics),
        Err(e) => {
            tracing::warn!(error.cause = %e, "metrics: database gauges unavailable");
            state.metrics.clear_gauges();
        }
    }
    HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(state.metrics.render())
}
