//! HTTP routes and the state they share.

mod health;
mod metrics;

use std::sync::Arc;

use actix_web::web;
use sqlx::PgPool;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::redis_health::RedisHealth;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub redis: Option<RedisHealth>,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
}

/// Mounts every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics::metrics));
}
