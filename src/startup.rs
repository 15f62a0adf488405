//! `Application`: builds the stores, the Google client and the HTTP server on its own listener,
//! starts the background loops, and runs until the shutdown token fires.

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
use crate::metrics::Metrics;
use crate::notify::TelegramNotifier;
use crate::push::registry::ChannelManager;
use crate::push::renewal;
use crate::push::token::ChannelTokens;
use crate::redis_health::RedisHealth;
use crate::routes::{self, AppState};
use crate::sync::alerts::{AlertSink, LogAlerts};
use crate::sync::{Syncer, poll, worker};
use crate::telemetry::RequestSpan;

/// Largest request body the API accepts (webhooks have none; events are small).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// How long shutdown waits for the database connections still in use once the loops are stopped.
const POOL_CLOSE_TIMEOUT: Duration = Duration::from_secs(3);
/// Bound on re-marking the calendars whose runs shutdown cut short.
const INTERRUPTED_TIMEOUT: Duration = Duration::from_secs(2);

/// A built, bound, not yet running calsync server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    shutdown: CancellationToken,
    loops: Loops,
    /// Calendars the webhook made runnable, for the local sync worker.
    wake: Option<tokio::sync::mpsc::UnboundedReceiver<String>>,
}

/// How `build` should treat the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrations {
    Apply,
    Skip,
}

impl Application {
    /// Connects the stores (lazily), applies migrations if asked, mirrors the configured calendars,
    /// builds the Google client, binds `server.bind_address` (port 0 picks a free port) and starts
    /// the workers when enabled.
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
        let settings = Arc::new(settings);
        let pool = crate::db::pool(&settings.database)?;
        if migrations == Migrations::Apply {
            crate::db::retry_startup("migrate", || async {
                // A migration runs in its own transaction: one cut by a restart rolls back and is retried.
                crate::db::migrate(&pool).await.map_err(|e| match e {
                    sqlx::migrate::MigrateError::Execute(e)
                    | sqlx::migrate::MigrateError::ExecuteMigration(e, _) => e,
                    other => sqlx::Error::Migrate(Box::new(other)),
                })
            })
            .await?;
        }
        crate::db::retry_startup("calendars", || {
            crate::db::calendars::reconcile(&pool, &settings)
        })
        .await?;
        let redis = match RedisHealth::connect(&settings.redis) {
            Ok(r) => Some(r.with_poll_interval(settings.google_calendar.poll_interval())),
            Err(e) => {
                tracing::warn!(error.cause = %e, "redis client could not be built; health key disabled");
                None
            }
        };
        let metrics = Metrics::new();
        let notifier = TelegramNotifier::from_settings(&settings.telegram);
        if let Some(n) = &notifier {
            n.attach_metrics(metrics.clone());
        }
        let alerts: Arc<dyn AlertSink> = match &notifier {
            Some(n) => Arc::new(n.clone()),
            None => Arc::new(LogAlerts),
        };
        let tokens = settings
            .admin
            .channel_token_secret
            .as_ref()
            .map(|s| ChannelTokens::new(s.expose()));
        let (syncer, channels) = if settings.google_calendar.enabled {
            let mut syncer = build_syncer(
                settings.clone(),
                pool.clone(),
                redis.clone(),
                metrics.clone(),
                alerts.clone(),
            )
            .await?;
            // "Event modified" messages for Google-side changes come from the sync engine.
            syncer.notifier = notifier.clone();
            let channels = channel_manager(&settings, &syncer, tokens.clone(), alerts.clone());
            (Some(syncer), channels)
        } else {
            (None, None)
        };
        let (wake_tx, wake_rx) = tokio::sync::mpsc::unbounded_channel();
        let (marker, marker_task) = crate::push::marker::PendingMarker::start(
            pool.clone(),
            Some(wake_tx),
            shutdown.clone(),
        );
        let state = AppState {
            pool,
            redis,
            settings,
            metrics,
            channel_tokens: tokens,
            channels,
            syncer,
            notifier,
            channel_cache: Arc::default(),
            marker,
            signins: Arc::default(),
        };
        let mut app = Self::with_state(state, listener, shutdown)?;
        app.loops.adopt("push marker", marker_task);
        app.wake = Some(wake_rx);
        app.spawn_workers();
        Ok(app)
    }

    fn with_state(
        state: AppState,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
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
                            _ => crate::error::ApiError::BadRequest(format!(
                                "invalid JSON body: {e}"
                            ))
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
        Ok(Self {
            port,
            server,
            state,
            loops: Loops::new(shutdown.clone()),
            shutdown,
            wake: None,
        })
    }

    /// Starts the sync worker, the outbox writer, the fallback poll, the Telegram sender and the
    /// channel renewal, each on a child of the shutdown token.
    fn spawn_workers(&mut self) {
        let settings = self.state.settings.clone();
        if !settings.server.workers_enabled {
            return;
        }
        if let Some(syncer) = &self.state.syncer {
            let wake = self.wake.take();
            let worker_syncer = syncer.clone();
            self.loops.spawn("sync worker", |token| {
                worker::run(worker_syncer, worker::WorkerConfig::default(), wake, token)
            });
            let writer = crate::writer::Writer {
                pool: self.state.pool.clone(),
                client: syncer.client.clone(),
                default_reminders: Arc::new(settings.google_calendar.default_reminders.clone()),
                owner: syncer.owner,
                batch: 16,
                notifier: self.state.notifier.clone(),
                metrics: Some(self.state.metrics.clone()),
            };
            self.loops.spawn("outbox writer", |token| writer.run(token));
            let interval = settings.google_calendar.poll_interval();
            let pool = self.state.pool.clone();
            self.loops
                .spawn("fallback poll", |token| poll::run(pool, interval, token));
        }
        if let Some(n) = &self.state.notifier {
            self.loops
                .adopt("telegram sender", n.start(self.shutdown.child_token()));
        }
        if let Some(channels) = &self.state.channels {
            let channels = channels.clone();
            self.loops
                .spawn("channel renewal", |token| renewal::run(channels, token));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until the shutdown token is cancelled (a background loop that ends meanwhile is logged),
    /// then drains in-flight requests and stops the loops: together, within
    /// `server.shutdown_grace_secs` of the cancellation, after which the loops still running are
    /// aborted (a sync run or an outbox write cut short is redone: its lease lapses, its open
    /// transaction rolls back, and its calendar is marked pending again); then the database
    /// connections get [`POOL_CLOSE_TIMEOUT`].
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            server,
            state,
            shutdown,
            mut loops,
            ..
        } = self;
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
        let grace = Duration::from_secs(state.settings.server.shutdown_grace_secs);
        loops.stop(asked + grace).await;
        if let Some(syncer) = &state.syncer {
            mark_interrupted(&state.pool, syncer.owner).await;
        }
        if let Some(redis) = &state.redis {
            redis.quit().await;
        }
        if tokio::time::timeout(POOL_CLOSE_TIMEOUT, state.pool.close())
            .await
            .is_err()
        {
            tracing::warn!(
                "database connections still in use at exit; left to close with the process"
            );
        }
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

/// The Google client and the syncer from the settings (credentials are read here).
pub async fn build_syncer(
    settings: Arc<Settings>,
    pool: PgPool,
    redis: Option<RedisHealth>,
    metrics: Arc<Metrics>,
    alerts: Arc<dyn AlertSink>,
) -> anyhow::Result<Syncer> {
    let client = crate::google::GoogleClient::from_settings(&settings.google)
        .await?
        .with_metrics(metrics.clone());
    Ok(Syncer {
        pool,
        client: Arc::new(client),
        settings,
        redis,
        alerts,
        metrics,
        owner: uuid::Uuid::new_v4(),
        notifier: None,
    })
}

/// The channel manager, when push can work: a public URL, a token secret, and push enabled.
fn channel_manager(
    settings: &Settings,
    syncer: &Syncer,
    tokens: Option<ChannelTokens>,
    alerts: Arc<dyn AlertSink>,
) -> Option<ChannelManager> {
    if !settings.push.enabled {
        return None;
    }
    let (Some(public), Some(tokens)) = (&settings.server.public_url, tokens) else {
        tracing::warn!(
            "push disabled: WEBHOOK_PUBLIC_URL or CHANNEL_TOKEN_SECRET is not set; the fallback poll alone keeps calendars in sync"
        );
        return None;
    };
    Some(ChannelManager {
        pool: syncer.pool.clone(),
        client: syncer.client.clone(),
        tokens,
        address: format!("{}/webhooks/google", public.trim_end_matches('/')),
        ttl: Duration::from_secs(settings.push.channel_ttl_secs),
        margin: Duration::from_secs(settings.push.renew_margin_secs),
        alerts,
    })
}
