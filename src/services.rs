//! `Services`: the composition root. Everything calsync is made of (the pool, the Redis health writer,
//! the Google client, the syncer, the channel manager, the outbox writer, the Telegram notifier, the
//! metrics and the shutdown token) is built here once from `Settings`, then handed to the HTTP server
//! (`startup::Application`), the background workers and the CLI commands. Building binds no listener
//! and starts no worker (the Redis client connects in the background, the pool lazily).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::notify::TelegramNotifier;
use crate::push::registry::ChannelManager;
use crate::push::token::ChannelTokens;
use crate::redis_health::RedisHealth;
use crate::sync::Syncer;
use crate::sync::alerts::{AlertSink, LogAlerts};
use crate::writer::Writer;

/// Entries the outbox writer claims per pass.
const WRITER_BATCH: i64 = 16;
/// How long `close` waits for the database connections still in use.
const POOL_CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// How `build` should treat the database schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrations {
    Apply,
    Skip,
}

/// What the caller does with the services once built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A long-running process (`serve`, `channels`, the demo, the bench, the tests): PostgreSQL is
    /// waited for at startup, the health key is written, Telegram is built when configured, and
    /// Google only when `google_calendar.enabled`.
    Server,
    /// One run, then exit (`calsync sync`): PostgreSQL is not waited for, the health key written, no Telegram
    /// (no sender would run; alerts go to the log), no channel manager, and Google is built whatever
    /// `google_calendar.enabled` says.
    OneShot,
}

/// The parts of calsync, built once (cheap to clone: every part is a handle).
#[derive(Clone)]
pub struct Services {
    pub settings: Arc<Settings>,
    pub pool: PgPool,
    /// Writes `calendar:last_sync`; None when the client could not be built (or for one-shot commands).
    pub redis: Option<RedisHealth>,
    pub metrics: Arc<Metrics>,
    /// Telegram notifications; None when not configured.
    pub notifier: Option<TelegramNotifier>,
    /// Where sync and channel alerts go: Telegram when configured, else the log.
    pub alerts: Arc<dyn AlertSink>,
    /// Signs and verifies channel tokens; None when `CHANNEL_TOKEN_SECRET` is unset.
    pub channel_tokens: Option<ChannelTokens>,
    /// The Google client (with metrics) and the sync runs; None when Google sync is off.
    pub syncer: Option<Syncer>,
    /// Channel lifecycle (the registry); None when push is not configured.
    pub channels: Option<ChannelManager>,
    /// Cancelled to stop everything started from these services.
    pub shutdown: CancellationToken,
}

/// Options of [`Services::build`]; see [`Services::builder`].
pub struct ServicesBuilder {
    settings: Settings,
    migrations: Migrations,
    role: Role,
    shutdown: CancellationToken,
    database_wait: Duration,
}

impl ServicesBuilder {
    pub fn migrations(mut self, migrations: Migrations) -> Self {
        self.migrations = migrations;
        self
    }

    pub fn role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    pub fn shutdown(mut self, shutdown: CancellationToken) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// How long a server waits for PostgreSQL to answer at startup ([`crate::db::STARTUP_WAIT`]
    /// unless set; the demo waits a few seconds). A one-shot command tries once.
    pub fn database_wait(mut self, wait: Duration) -> Self {
        self.database_wait = wait;
        self
    }

    /// Connects the stores (lazily), applies migrations if asked, mirrors the configured calendars
    /// and builds the Google client, the syncer and the channel manager.
    pub async fn build(self) -> anyhow::Result<Services> {
        let Self {
            settings,
            migrations,
            role,
            shutdown,
            database_wait,
        } = self;
        let settings = Arc::new(settings);
        let pool = crate::db::pool(&settings.database).context("bad database settings")?;
        let wait = match role {
            Role::Server => database_wait,
            Role::OneShot => Duration::ZERO,
        };
        crate::db::reach::wait_until_reachable(&settings.database, wait).await?;
        prepare_database(&pool, &settings, migrations, role).await?;
        let metrics = Metrics::new();
        let (redis, notifier) = match role {
            Role::Server => (
                health_writer(&settings),
                TelegramNotifier::from_settings(&settings.telegram),
            ),
            // A manual sync counts as a sync: the seed's healthcheck reads its `calendar:last_sync`.
            Role::OneShot => (health_writer(&settings), None),
        };
        if let Some(n) = &notifier {
            n.attach_metrics(metrics.clone());
        }
        let alerts: Arc<dyn AlertSink> = match &notifier {
            Some(n) => Arc::new(n.clone()),
            None => Arc::new(LogAlerts),
        };
        let channel_tokens = settings
            .admin
            .channel_token_secret
            .as_ref()
            .map(|s| ChannelTokens::new(s.expose()));
        let (syncer, channels) = if settings.google_calendar.enabled || role == Role::OneShot {
            let mut syncer = build_syncer_until(
                settings.clone(),
                pool.clone(),
                redis.clone(),
                metrics.clone(),
                alerts.clone(),
                Some(shutdown.clone()),
            )
            .await
            .context("google client")?;
            // "Event modified" messages for Google-side changes come from the sync engine.
            syncer.notifier = notifier.clone();
            let channels = match role {
                Role::Server => {
                    channel_manager(&settings, &syncer, channel_tokens.clone(), alerts.clone())
                }
                Role::OneShot => None,
            };
            (Some(syncer), channels)
        } else {
            (None, None)
        };
        Ok(Services {
            settings,
            pool,
            redis,
            metrics,
            notifier,
            alerts,
            channel_tokens,
            syncer,
            channels,
            shutdown,
        })
    }
}

impl Services {
    /// Everything a server needs, migrations applied, on a fresh shutdown token.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::builder(settings).build().await
    }

    /// Like [`Services::build`], with options.
    pub fn builder(settings: Settings) -> ServicesBuilder {
        ServicesBuilder {
            settings,
            migrations: Migrations::Apply,
            role: Role::Server,
            shutdown: CancellationToken::new(),
            database_wait: crate::db::STARTUP_WAIT,
        }
    }

    /// The outbox writer (PostgreSQL → Google), sharing the syncer's Google client and owner id;
    /// None when Google sync is off.
    pub fn writer(&self) -> Option<Writer> {
        let syncer = self.syncer.as_ref()?;
        Some(Writer {
            pool: self.pool.clone(),
            google: syncer.google.clone(),
            default_reminders: Arc::new(self.settings.google_calendar.default_reminders.clone()),
            owner: syncer.owner,
            batch: WRITER_BATCH,
            notifier: self.notifier.clone(),
            metrics: Some(self.metrics.clone()),
        })
    }

    /// The channel manager, or the error a command shows when push is not configured.
    pub fn channel_manager(&self) -> anyhow::Result<&ChannelManager> {
        self.channels.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "push is not configured: set WEBHOOK_PUBLIC_URL and CHANNEL_TOKEN_SECRET"
            )
        })
    }

    /// Closes the stores: the Redis client, then the database connections (given
    /// [`POOL_CLOSE_TIMEOUT`], after which they are left to close with the process).
    pub async fn close(&self) {
        if let Some(redis) = &self.redis {
            redis.quit().await;
        }
        if tokio::time::timeout(POOL_CLOSE_TIMEOUT, self.pool.close())
            .await
            .is_err()
        {
            tracing::warn!(
                "database connections still in use at exit; left to close with the process"
            );
        }
    }
}

/// Applies migrations if asked and mirrors the configured calendars; a server waits for PostgreSQL
/// (`db::retry_startup`), a one-shot command fails at once.
async fn prepare_database(
    pool: &PgPool,
    settings: &Settings,
    migrations: Migrations,
    role: Role,
) -> anyhow::Result<()> {
    if role == Role::OneShot {
        if migrations == Migrations::Apply {
            crate::db::migrate(pool)
                .await
                .context("migrations failed")?;
        }
        crate::db::calendars::reconcile(pool, settings)
            .await
            .context("calendars not stored")?;
        return Ok(());
    }
    if migrations == Migrations::Apply {
        crate::db::retry_startup("migrate", || async {
            // A migration runs in its own transaction: one cut by a restart rolls back and is retried.
            crate::db::migrate(pool).await.map_err(|e| match e {
                sqlx::migrate::MigrateError::Execute(e)
                | sqlx::migrate::MigrateError::ExecuteMigration(e, _) => e,
                other => sqlx::Error::Migrate(Box::new(other)),
            })
        })
        .await?;
    }
    crate::db::retry_startup("calendars", || {
        crate::db::calendars::reconcile(pool, settings)
    })
    .await?;
    Ok(())
}

/// The Redis health writer; None (with a warning) when the client cannot be built.
fn health_writer(settings: &Settings) -> Option<RedisHealth> {
    match RedisHealth::connect(&settings.redis) {
        Ok(r) => Some(r.with_poll_interval(settings.google_calendar.poll_interval())),
        Err(e) => {
            tracing::warn!(error.cause = %e, "redis client could not be built; health key disabled");
            None
        }
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
    build_syncer_until(settings, pool, redis, metrics, alerts, None).await
}

/// [`build_syncer`], with Google calls (and their retry waits) ended at `shutdown`.
async fn build_syncer_until(
    settings: Arc<Settings>,
    pool: PgPool,
    redis: Option<RedisHealth>,
    metrics: Arc<Metrics>,
    alerts: Arc<dyn AlertSink>,
    shutdown: Option<CancellationToken>,
) -> anyhow::Result<Syncer> {
    // Every configured account's credentials are opened here (a connected account's are sealed
    // in PostgreSQL), so one that cannot be opened stops startup.
    let google = crate::accounts::GoogleAccounts::build(
        settings.clone(),
        pool.clone(),
        Some(metrics.clone()),
        shutdown,
    )
    .await?;
    Ok(Syncer {
        pool,
        google,
        settings,
        redis,
        alerts,
        metrics,
        owner: uuid::Uuid::new_v4(),
        notifier: None,
    })
}

/// What keeps push off, naming exactly the missing variable(s), so the operator sets the right one.
fn push_missing(public_url_set: bool, token_secret_set: bool) -> &'static str {
    match (public_url_set, token_secret_set) {
        (false, false) => "WEBHOOK_PUBLIC_URL and CHANNEL_TOKEN_SECRET are not set",
        (false, true) => "WEBHOOK_PUBLIC_URL is not set",
        _ => "CHANNEL_TOKEN_SECRET is not set",
    }
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
    let (public, tokens) = match (&settings.server.public_url, tokens) {
        (Some(public), Some(tokens)) => (public, tokens),
        (public, tokens) => {
            let missing = push_missing(public.is_some(), tokens.is_some());
            tracing::warn!(
                missing,
                "push disabled: {missing}; the fallback poll alone keeps calendars in sync"
            );
            return None;
        }
    };
    Some(ChannelManager {
        pool: syncer.pool.clone(),
        google: syncer.google.clone(),
        tokens,
        address: format!("{}/webhooks/google", public.trim_end_matches('/')),
        ttl: Duration::from_secs(settings.push.channel_ttl_secs),
        margin: Duration::from_secs(settings.push.renew_margin_secs),
        alerts,
    })
}

#[cfg(test)]
mod tests {
    use super::push_missing;

    #[test]
    fn the_push_warning_names_only_what_is_missing() {
        assert_eq!(push_missing(true, false), "CHANNEL_TOKEN_SECRET is not set");
        assert_eq!(push_missing(false, true), "WEBHOOK_PUBLIC_URL is not set");
        assert_eq!(
            push_missing(false, false),
            "WEBHOOK_PUBLIC_URL and CHANNEL_TOKEN_SECRET are not set"
        );
    }
}
