//! The app under test: calsync on a fresh database, its own Redis key prefix and a port of its own.
//!
//! ```ignore
//! let app = TestApp::builder()
//!     .with_settings(|s: &mut calsync::config::Settings| s.push.channel_ttl_secs = 20)
//!     .spawn()
//!     .await;
//! ```

use std::net::TcpListener;
use std::sync::LazyLock;
use std::time::Duration;

use calsync::config::{Settings, load_from_str};
use calsync::startup::{Application, Migrations};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::database::{REDIS_URL, create_database};
use crate::google::Google;

/// The sample config shipped in the repository: tests start from what users start from.
pub const SAMPLE_CONFIG: &str = include_str!("../../../config/calendar_config.yaml");

/// Logs are shown only with `TEST_LOG=1`.
static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        calsync::telemetry::init(calsync::config::LogFormat::Pretty, false);
    }
});

/// A running calsync; dropping it asks the server to stop.
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
    /// A builder: typed settings edits, environment overrides, the emulated Google, an existing database.
    pub fn builder<'a>() -> TestAppBuilder<'a> {
        TestAppBuilder::default()
    }

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
        // No Google unless a test brings the emulator (`TestAppBuilder::synced_to`).
        ("CALSYNC__GOOGLE_CALENDAR__ENABLED".into(), "false".into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    load_from_str(SAMPLE_CONFIG, &vars).expect("test settings must be valid")
}

/// Starts calsync on a fresh database and returns once it accepts requests.
pub async fn spawn_app() -> TestApp {
    TestApp::builder().spawn().await
}

/// Like [`spawn_app`], with environment overrides (`CALSYNC__SECTION__KEY` or a fixed name).
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    TestApp::builder().with_env(extra).spawn().await
}

type Edit<'a> = Box<dyn FnOnce(&mut Settings) + 'a>;

/// How a [`TestApp`] is made. Environment overrides apply first (as a user's would, over the sample
/// config), then the typed edits in order; the result is validated as loading validates.
/// `server.bind_address` is not used: the app always listens on a free port of 127.0.0.1.
#[must_use]
#[derive(Default)]
pub struct TestAppBuilder<'a> {
    env: Vec<(String, String)>,
    edits: Vec<Edit<'a>>,
    google: Option<&'a Google>,
    database: Option<(String, String)>,
}

impl<'a> TestAppBuilder<'a> {
    /// Edits the typed settings, e.g. `|s| s.push.channel_ttl_secs = 20`.
    pub fn with_settings(mut self, edit: impl FnOnce(&mut Settings) + 'a) -> Self {
        self.edits.push(Box::new(edit));
        self
    }

    /// Environment overrides, as the process environment would give them.
    pub fn with_env(mut self, vars: &[(&str, &str)]) -> Self {
        self.env
            .extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    /// Wires the app to this emulated Google: credentials, API and token URLs, the workers on, and
    /// push pointed back at the app's own port.
    pub fn synced_to(mut self, google: &'a Google) -> Self {
        self.google = Some(google);
        self
    }

    /// Runs on an existing database (a second replica, or a restart) instead of a fresh one.
    pub fn on_database(mut self, url: &str, name: &str) -> Self {
        self.database = Some((url.to_string(), name.to_string()));
        self
    }

    /// Starts the app and returns once it accepts requests.
    pub async fn spawn(self) -> TestApp {
        self.start().await.0
    }

    /// Like [`spawn`](Self::spawn), with the server's task (to see when it has stopped).
    pub async fn start(self) -> (TestApp, JoinHandle<anyhow::Result<()>>) {
        LazyLock::force(&TRACING);
        let (db_url, db_name) = match self.database {
            Some(existing) => existing,
            None => create_database().await,
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port for the app");
        let port = listener.local_addr().expect("the app's address").port();
        let address = format!("http://127.0.0.1:{port}");
        let mut vars: Vec<(String, String)> = Vec::new();
        if let Some(google) = self.google {
            vars.extend(google.env());
            vars.push(("WEBHOOK_PUBLIC_URL".into(), address.clone()));
            vars.push(("CALSYNC__SERVER__WORKERS_ENABLED".into(), "true".into()));
            vars.push(("CALSYNC__GOOGLE_CALENDAR__ENABLED".into(), "true".into()));
        }
        vars.extend(self.env);
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut settings = test_settings(&db_url, &refs);
        for edit in self.edits {
            edit(&mut settings);
        }
        if let Err(e) = settings.validate() {
            panic!("the test's settings edits are invalid: {e}");
        }
        let shutdown = CancellationToken::new();
        let app = Application::build_on(
            settings.clone(),
            Migrations::Apply,
            shutdown.clone(),
            listener,
        )
        .await
        .expect("application builds");
        let pool = app.state().pool.clone();
        let server = tokio::spawn(app.run_until_stopped());
        // Synced apps wait on Google (and its injected faults) more than plain ones.
        let timeout = Duration::from_secs(if self.google.is_some() { 30 } else { 10 });
        let app = TestApp {
            address,
            port,
            pool,
            db_name,
            settings,
            shutdown,
            client: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("http client"),
        };
        (app, server)
    }
}
