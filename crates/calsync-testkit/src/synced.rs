//! calsync wired to an emulated Google: the shortcuts for a synced app, a replica on an existing
//! database, and a `Syncer` for tests that drive runs themselves.

use tokio::task::JoinHandle;

use crate::app::TestApp;
use crate::google::Google;

/// calsync wired to `google`, on its own database; push points back at its own port.
pub async fn spawn_synced_app(google: &Google, extra: &[(&str, &str)]) -> TestApp {
    TestApp::builder()
        .synced_to(google)
        .with_env(extra)
        .spawn()
        .await
}

/// Like [`spawn_synced_app`], with the server's task (to see when it has stopped).
pub async fn start_synced_app(
    google: &Google,
    extra: &[(&str, &str)],
) -> (TestApp, JoinHandle<anyhow::Result<()>>) {
    TestApp::builder()
        .synced_to(google)
        .with_env(extra)
        .start()
        .await
}

/// A second replica (or a restart) on an existing database.
pub async fn spawn_on_database(
    google: &Google,
    db_url: &str,
    db_name: &str,
    extra: &[(&str, &str)],
) -> TestApp {
    TestApp::builder()
        .synced_to(google)
        .on_database(db_url, db_name)
        .with_env(extra)
        .spawn()
        .await
}

/// A `Syncer` for `app` (tests that drive runs themselves, with the workers off).
pub async fn syncer(app: &TestApp) -> calsync::sync::Syncer {
    calsync::startup::build_syncer(
        std::sync::Arc::new(app.settings.clone()),
        app.pool.clone(),
        None,
        calsync::metrics::Metrics::new(),
        std::sync::Arc::new(calsync::sync::alerts::LogAlerts),
    )
    .await
    .expect("syncer")
}
