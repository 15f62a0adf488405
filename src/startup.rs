//! `Application`: the HTTP server over built [`Services`] on its own listener, with the push marker
//! and the background workers; runs until the shutdown token fires.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use sqlx::PgPool;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing_actix_web::TracingLogger;

use crate::background::Loops;
use crate::config::Settings;
use crate::push::cache::ChannelCache;
use crate::push::inbox::PushInbox;
use crate::push::renewal;
use crate::routes::{self, AppState};
use crate::sync::{poll, worker};
use crate::telemetry::RequestSpan;

pub use crate::services::{Migrations, Services, build_syncer};

/// Largest request body the API accepts (webhooks have none; events are small).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Bound on re-marking the calendars whose runs shutdown cut short.
const INTERRUPTED_TIMEOUT: Duration = Duration::from_secs(2);

/// A built, bound, not yet running calsync server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    services: Services,
    loops: Loops,
    /// Calendars the webhook made runnable, for the local sync worker.
    wake: Option<tokio::sync::mpsc::UnboundedReceiver<String>>,
}

impl Application {
    /// Builds the [`Services`] (migrations applied if asked), binds `server.bind_address` (port 0
    /// picks a free port) and starts the workers when enabled.
    pub async fn build(
        settings: Settings,
        migrations: Migrations,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.server.bind_address)?;
        Self::build_on(settings, migrations, shutdown, listener).await
    }

    /// Like `build`, on a listener bound by the caller (tests that need the port before building).
    pub async fn build_on(
        settings: Settings,
        migrations: Migrations,
        shutdown: CancellationToken,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let services = Services::builder(settings)
            .migrations(migrations)
            .shutdown(shutdown)
            .build()
            .await?;
        Self::serve(services, listener)
    }

    /// The HTTP server over already built services, on `listener`, with the push marker and (when
    /// `server.workers_enabled`) the background workers started on the services' shutdown token.
    pub fn serve(services: Services, listener: TcpListener) -> anyhow::Result<Self> {
        let shutdown = services.shutdown.clone();
        let (wake_tx, wake_rx) = tokio::sync::mpsc::unbounded_channel();
        let (marker, marker_task) = crate::push::marker::PendingMarker::start(
            services.pool.clone(),
            Some(wake_tx),
            shutdown.clone(),
        );
        let channel_cache = Arc::<ChannelCache>::default();
        let inbox = PushInbox::new(
            services.pool.clone(),
            services.channel_tokens.clone(),
            channel_cache.clone(),
            marker,
        );
        let state = AppState {
            pool: services.pool.clone(),
            redis: services.redis.clone(),
            settings: services.settings.clone(),
            metrics: services.metrics.clone(),
            channels: services.channels.clone(),
            syncer: services.syncer.clone(),
            notifier: services.notifier.clone(),
            channel_cache,
            inbox,
            signins: Arc::default(),
        };
        let (port, server) = http_server(state.clone(), listener)?;
        let mut app = Self {
            port,
            server,
            state,
            services,
            loops: Loops::new(shutdown),
            wake: Some(wake_rx),
        };
        app.loops.adopt("push marker", marker_task);
        if app.services.settings.server.workers_enabled {
            spawn_workers(&app.services, &mut app.loops, app.wake.take());
        }
        Ok(app)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Serves until the shutdown token is cancelled (a background loop that ends meanwhile is logged),
    /// then drains in-flight requests and stops the loops: together, within
    /// `server.shutdown_grace_secs` of the cancellation, after which the loops still running are
    /// aborted (a sync run or an outbox write cut short is redone: its lease lapses, its open
    /// transaction rolls back, and its calendar is marked pending again); then the database
    /// connections get `Services::close`'s bound.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            server,
            services,
            mut loops,
            ..
        } = self;
        let shutdown = services.shutdown.clone();
        let handle = server.handle();
        let stopper = {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                shutdown.cancelled().await;
                let asked = Instant::now();
                handle.stop(true).await;
                asked
            })
        };
        tokio::pin!(server);
        let result = loop {
            tokio::select! {
                r = &mut server => break r,
                // Logged there; the others keep running.
                _ = loops.next_exit() => {}
            }
        };
        shutdown.cancel();
        let asked = match tokio::time::timeout(Duration::from_secs(1), stopper).await {
            Ok(Ok(asked)) => asked,
            _ => Instant::now(),
        };
        let grace = Duration::from_secs(services.settings.server.shutdown_grace_secs);
        loops.stop(asked + grace).await;
        if let Some(syncer) = &services.syncer {
            mark_interrupted(&services.pool, syncer.owner).await;
        }
        services.close().await;
        Ok(result?)
    }
}

/// Puts the calendars whose runs were cut short (aborted loops, dropped requests) back in the queue.
async fn mark_interrupted(pool: &PgPool, owner: uuid::Uuid) {
    let marked = tokio::time::timeout(
        INTERRUPTED_TIMEOUT,
        crate::db::sync_state::mark_interrupted(pool, owner),
    )
    .await;
    match marked {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => tracing::info!(calendars = n, "interrupted sync runs marked pending again"),
        Ok(Err(e)) => {
            tracing::warn!(error.cause = %e, "interrupted sync runs not marked pending (the poll will catch up)")
        }
        Err(_) => tracing::warn!(
            "interrupted sync runs not marked pending in time (the poll will catch up)"
        ),
    }
}

fn http_server(state: AppState, listener: TcpListener) -> anyhow::Result<(u16, Server)> {
    let port = listener.local_addr()?.port();
    let grace = state.settings.server.shutdown_grace_secs;
    let head_timeout = Duration::from_secs(state.settings.server.header_read_timeout_secs);
    let body_timeout = Duration::from_secs(state.settings.server.body_read_timeout_secs);
    let data = web::Data::new(state.clone());
    let server = HttpServer::new(move || {
        App::new()
            // Every body is read under a deadline: a trickling client gets 408, not a connection.
            .wrap_fn(move |mut req, srv| {
                use actix_web::HttpMessage as _;
                let payload = req.take_payload();
                req.set_payload(routes::with_deadline(payload, body_timeout));
                actix_web::dev::Service::call(srv, req)
            })
            .wrap(TracingLogger::<RequestSpan>::new())
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .app_data(
                web::JsonConfig::default()
                    .limit(MAX_BODY_BYTES)
                    .error_handler(|e, _| match &e {
                        actix_web::error::JsonPayloadError::Payload(p)
                            if routes::is_body_timeout(p) =>
                        {
                            crate::error::ApiError::RequestTimeout.into()
                        }
                        _ => crate::error::ApiError::BadRequest(format!("invalid JSON body: {e}"))
                            .into(),
                    }),
            )
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                crate::error::ApiError::BadRequest(format!("invalid query: {e}")).into()
            }))
            .configure(routes::configure)
    })
    .client_request_timeout(head_timeout)
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(grace)
    .run();
    Ok((port, server))
}

/// Starts the sync worker, the outbox writer, the fallback poll, the Telegram sender and the
/// channel renewal, each on a child of the shutdown token.
fn spawn_workers(
    services: &Services,
    loops: &mut Loops,
    wake: Option<tokio::sync::mpsc::UnboundedReceiver<String>>,
) {
    if let (Some(syncer), Some(writer)) = (&services.syncer, services.writer()) {
        let worker_syncer = syncer.clone();
        loops.spawn("sync worker", |token| {
            worker::run(worker_syncer, worker::WorkerConfig::default(), wake, token)
        });
        loops.spawn("outbox writer", |token| writer.run(token));
        let interval = poll::Intervals {
            poll: services.settings.google_calendar.poll_interval(),
            safety: services.settings.push.safety_interval(),
        };
        let pool = services.pool.clone();
        loops.spawn("fallback poll", |token| poll::run(pool, interval, token));
    }
    if let Some(n) = &services.notifier {
        loops.adopt("telegram sender", n.start(services.shutdown.child_token()));
    }
    if let Some(channels) = &services.channels {
        let channels = channels.clone();
        loops.spawn("channel renewal", |token| renewal::run(channels, token));
    }
}
