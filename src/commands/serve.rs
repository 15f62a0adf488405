//! `calsync serve` (the [`Services`] behind the HTTP server and the workers) and `calsync migrate`.

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::Failure;
use crate::config::Settings;
use crate::services::{Migrations, Services};
use crate::startup::Application;

pub async fn serve(settings: Settings, migrate: bool) -> Result<(), Failure> {
    crate::config::require_credentials(&settings)?;
    crate::telemetry::init(settings.telemetry.log_format, false);
    let shutdown = CancellationToken::new();
    crate::shutdown::cancel_on_signal(shutdown.clone());
    let migrations = if migrate {
        Migrations::Apply
    } else {
        Migrations::Skip
    };
    let listener =
        std::net::TcpListener::bind(&settings.server.bind_address).context("startup failed")?;
    let services = Services::builder(settings)
        .migrations(migrations)
        .shutdown(shutdown)
        .build()
        .await
        .map_err(startup_failure)?;
    let app = Application::serve(services, listener).context("startup failed")?;
    tracing::info!(port = app.port(), "calsync listening");
    app.run_until_stopped().await?;
    tracing::info!("calsync stopped");
    Ok(())
}

/// Credentials that cannot be opened (an account not connected, a wrong key, a tampered value) are
/// a configuration problem (exit code 2), like a bad token file; anything else is a runtime failure.
fn startup_failure(e: anyhow::Error) -> Failure {
    let refused = e.chain().find_map(|c| match c.downcast_ref() {
        Some(crate::google::GoogleError::Credentials(why)) => Some(why.clone()),
        _ => None,
    });
    match refused {
        Some(why) => Failure::Config(crate::config::ConfigError::new("credentials", why)),
        None => Failure::Runtime(e.context("startup failed")),
    }
}

pub async fn migrate(settings: Settings) -> Result<(), Failure> {
    crate::telemetry::init(settings.telemetry.log_format, true);
    let pool = crate::db::pool(&settings.database).context("bad database settings")?;
    crate::db::reach::wait_until_reachable(&settings.database, std::time::Duration::ZERO).await?;
    crate::db::migrate(&pool)
        .await
        .context("migrations failed")?;
    let applied = crate::db::MIGRATOR.iter().count();
    println!("migrations applied ({applied} known)");
    pool.close().await;
    Ok(())
}
