//! Test harness: each test gets its own PostgreSQL database, its own Redis key prefix and a server on a random port.
#![allow(dead_code)] // helpers serve several test modules; not every test uses every field

use std::sync::LazyLock;

use calsync::config::{Settings, load_from_str};
use calsync::startup::{Application, Migrations};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The sample config shipped in the repository: tests start from what users start from.
pub const SAMPLE_CONFIG: &str = include_str!("../../config/calendar_config.yaml");

/// Where test databases are created (`TEST_DATABASE_URL`, default the local server).
pub static ADMIN_URL: LazyLock<String> = LazyLock::new(|| {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
});

pub static REDIS_URL: LazyLock<String> = LazyLock::new(|| {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
});

/// Logs are shown only with `TEST_LOG=1`.
static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        calsync::telemetry::init(calsync::config::LogFormat::Pretty, false);
    }
});

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub pool: PgPool,
    pub db_name: String,
    pub settings: Settings,
    pub shutdown: CancellationToken,
    pub client: reqwest::Client,
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.address, path))
            .send()
            .await
            .expect("request failed")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Creates an empty database with a unique name and returns its URL and name.
pub async fn create_database() -> (String, String) {
    let name = format!("calsync_test_{}", Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&ADMIN_URL)
        .await
        .expect("PostgreSQL must be running (see README)");
    conn.execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
        .await
        .expect("create test database");
    (database_url(&name), name)
}

/// The URL of the test database `name` (e.g. to look at it after its server stopped).
pub fn database_url(name: &str) -> String {
    let mut url = url::Url::parse(&ADMIN_URL).expect("TEST_DATABASE_URL");
    url.set_path(name);
    url.to_string()
}

/// Settings for a test: the sample config with its own database, a random port and a Redis prefix.
pub fn test_settings(database_url: &str, extra: &[(&str, &str)]) -> Settings {
    let prefix = format!("test:{}:", Uuid::new_v4().simple());
    let mut vars: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), database_url.into()),
        ("REDIS_URL".into(), REDIS_URL.clone()),
        ("BIND_ADDRESS".into(), "127.0.0.1:0".into()),
        ("CALSYNC__REDIS__KEY_PREFIX".into(), prefix),
        (
            "ADMIN_JWT_SECRET".into(),
            "test-admin-secret-0123456789abcdef".into(),
        ),
        (
            "CHANNEL_TOKEN_SECRET".into(),
            "test-channel-secret-0123456789abcdef".into(),
        ),
        ("CALSYNC__SERVER__SHUTDOWN_GRACE_SECS".into(), "1".into()),
        ("CALSYNC__SERVER__WORKERS_ENABLED".into(), "false".into()),
        // No Google unless a test brings the emulator (tests/api/google_env.rs).
        ("CALSYNC__GOOGLE_CALENDAR__ENABLED".into(), "false".into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    load_from_str(SAMPLE_CONFIG, &vars).expect("test settings must be valid")
}

/// Starts calsync on a fresh database and returns once it accepts requests.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    LazyLock::force(&TRACING);
    let (db_url, db_name) = create_database().await;
    let settings = test_settings(&db_url, extra);
    let shutdown = CancellationToken::new();
    let app = Application::build(settings.clone(), Migrations::Apply, shutdown.clone())
        .await
        .expect("application builds");
    let port = app.port();
    let pool = app.state().pool.clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        pool,
        db_name,
        settings,
        shutdown,
        client: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("http client"),
    }
}

/// Runs `sql` against the admin database (e.g. to cut a test database off and bring it back).
pub async fn admin_exec(sql: &str) {
    let mut conn = PgConnection::connect(&ADMIN_URL)
        .await
        .expect("admin connection");
    conn.execute(sqlx::AssertSqlSafe(sql.to_string()))
        .await
        .expect("admin statement");
}

/// Polls `check` every 50 ms until it holds; panics naming `what` after `timeout`.
pub async fn wait_for<F, Fut>(what: &str, timeout: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    while start.elapsed() < timeout {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}
