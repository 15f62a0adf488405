//! `Application`: builds the stores and the HTTP server on its own listener, then runs until the shutdown token fires.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::redis_health::RedisHealth;
use crate::routes::{self, AppState};
use crate::telemetry::RequestSpan;

/// Largest request body the API accepts (webhooks have none; events are small).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A built, bound, not yet running calsync server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    shutdown: CancellationToken,
}

/// How `build` should treat the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrations {
    Apply,
    Skip,
}

impl Application {
    /// Connects the stores (lazily), applies migrations if asked, mirrors the configured calendars,
    /// and binds `server.bind_address` (port 0 picks a free port).
    pub async fn build(
        settings: Settings,
        migrations: Migrations,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let pool = crate::db::pool(&settings.database)?;
        if migrations == Migrations::Apply {
            crate::db::migrate(&pool).await?;
        }
        crate::calendars::reconcile(&pool, &settings).await?;
        let redis = match RedisHealth::connect(&settings.redis) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(error.cause = %e, "redis client could not be built; health key disabled");
                None
            }
        };
        let listener = TcpListener::bind(&settings.server.bind_address)?;
        Self::with_parts(settings, pool, redis, listener, shutdown)
    }

    fn with_parts(
        settings: Settings,
        pool: PgPool,
        redis: Option<RedisHealth>,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let grace = settings.server.shutdown_grace_secs;
        let state = AppState {
            pool,
            redis,
            settings: Arc::new(settings),
            metrics: Metrics::new(),
        };
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(TracingLogger::<RequestSpan>::new())
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .app_data(web::JsonConfig::default().limit(MAX_BODY_BYTES))
                .configure(routes::configure)
        })
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(grace)
        .run();
        Ok(Self {
            port,
            server,
            state,
            shutdown,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until the shutdown token is cancelled, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let shutdown = self.shutdown.clone();
        let stopper = tokio::spawn(async move {
            shutdown.cancelled().await;
            handle.stop(true).await;
        });
        let result = self.server.await;
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(1), stopper).await;
        if let Some(redis) = &self.state.redis {
            redis.quit().await;
        }
        self.state.pool.close().await;
        Ok(result?)
    }
}
