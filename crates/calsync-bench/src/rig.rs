//! The rig every phase runs on: the emulator in a child process (this binary's hidden `emulator`
//! command), calsync in this process against `DATABASE_URL`, the run's sizes and the measures' helpers.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use serde_json::{Value, json};
use sqlx::{Connection, PgPool};
use tokio_util::sync::CancellationToken;

use calsync::config::{Secret, Settings};
use calsync::startup::{Application, Migrations};

/// Sizes of the run (`--quick` shrinks them for a smoke run).
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub changes: usize,
    pub pushes: usize,
    pub burst: usize,
    pub full_sync: usize,
    pub writes: usize,
    pub peer: usize,
    /// B's changes in each half of the accounts phase (quiet, A's 429 storm).
    pub accounts: usize,
    pub idle: Plan,
}

impl Sizes {
    pub fn full() -> Self {
        Self {
            changes: 200,
            pushes: 20_000,
            burst: 1_000,
            full_sync: 100_000,
            writes: 10_000,
            peer: 10_000,
            accounts: 100,
            idle: Plan::full(),
        }
    }
    pub fn quick() -> Self {
        Self {
            changes: 20,
            pushes: 2_000,
            burst: 200,
            full_sync: 5_000,
            writes: 500,
            peer: 1_000,
            accounts: 30,
            idle: Plan::quick(),
        }
    }
}

/// One mode of the idle day: how fast the clock runs and how many simulated days are counted.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub push: bool,
    /// Real intervals are divided by this (3600: one simulated day lasts 24 s).
    pub scale: u64,
    pub days: f64,
}

/// Both modes of a run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub push: Mode,
    pub poll: Mode,
}

impl Plan {
    /// Push at 1/3600 for `push_days` simulated days, poll-only at 1/1800 for `poll_days`.
    const fn of(push_days: f64, poll_days: f64) -> Self {
        Self {
            push: Mode {
                push: true,
                scale: 3600,
                days: push_days,
            },
            poll: Mode {
                push: false,
                scale: 1800,
                days: poll_days,
            },
        }
    }
    /// Push: 6 simulated days (one renewal per calendar inside), poll-only: 3; 144 s each.
    pub fn full() -> Self {
        Self::of(6.0, 3.0)
    }
    /// One simulated day of push (no renewal falls in it), half a day of poll-only; 24 s each.
    pub fn quick() -> Self {
        Self::of(1.0, 0.5)
    }
}

/// The running pieces a phase needs.
pub struct Rig {
    pub emulator_url: String,
    pub http: reqwest::Client,
    pub pool: PgPool,
    pub app_url: String,
    pub settings: Settings,
    pub syncer: calsync::sync::Syncer,
    child: tokio::process::Child,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub creds: PathBuf,
}

impl Rig {
    pub fn control(&self, path: &str) -> String {
        format!("{}/emulator{path}", self.emulator_url)
    }

    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let resp = self
            .http
            .post(self.control(path))
            .json(&body)
            .send()
            .await?;
        Ok(resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn count(&self, method: &str) -> anyhow::Result<u64> {
        let v: Value = self
            .http
            .get(self.control("/stats"))
            .send()
            .await?
            .json()
            .await?;
        Ok(v["counts"][method].as_u64().unwrap_or(0))
    }

    /// The emulator's log of the Calendar API requests it served, oldest first.
    pub async fn requests(&self) -> anyhow::Result<Vec<Value>> {
        let mut v: Value = self
            .http
            .get(self.control("/requests"))
            .send()
            .await?
            .json()
            .await?;
        match v["requests"].take() {
            Value::Array(log) => Ok(log),
            _ => Err(anyhow!("the emulator's request log is not a list")),
        }
    }
}

/// Resident set size of this process now and at its peak, in MB (Linux).
pub fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Percentile of sorted milliseconds.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The emulator in a child process of its own (this executable's `emulator` command), its
/// credentials written for the default user.
pub struct Emulator {
    pub url: String,
    pub http: reqwest::Client,
    /// Where its `token.json` and `client_secret.json` are (other users' token files may join them).
    pub creds: PathBuf,
    child: tokio::process::Child,
}

impl Emulator {
    /// The token endpoint, for the token files of other users.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.url)
    }
}

/// Starts the emulator, in its own process so that this process's RSS is calsync's and the
/// harness's. `tag` names its credentials directory, so that rigs can run side by side.
pub async fn emulator(tag: &str) -> anyhow::Result<Emulator> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let creds = std::env::temp_dir().join(format!("calsync-bench-{}-{tag}", std::process::id()));
    let exe = std::env::current_exe()?;
    let child = tokio::process::Command::new(exe)
        .args([
            "emulator",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--write-credentials",
        ])
        .arg(&creds)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting the emulator")?;
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(64)
        .build()?;
    let started = Instant::now();
    while http
        .get(format!("{url}/emulator/stats"))
        .send()
        .await
        .is_err()
        || !creds.join("token.json").exists()
    {
        if started.elapsed() > Duration::from_secs(20) {
            return Err(anyhow!("the emulator did not start"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Emulator {
        url,
        http,
        creds,
        child,
    })
}

/// Starts the emulator and calsync on it (see [`start_on`]).
pub async fn start(settings: Settings, tag: &str) -> anyhow::Result<Rig> {
    start_on(emulator(tag).await?, settings, tag).await
}

/// Starts calsync in this process on `emu`, after creating at the default user the calendars of the
/// implicit account (those of named accounts are the caller's to create). `tag` names the Redis
/// prefix.
pub async fn start_on(emu: Emulator, mut settings: Settings, tag: &str) -> anyhow::Result<Rig> {
    let Emulator {
        url: emulator_url,
        http,
        creds,
        child,
    } = emu;
    for cal in &settings.google_calendar.calendars {
        if cal.account.is_some() {
            continue;
        }
        http.post(format!("{emulator_url}/emulator/calendars"))
            .json(&json!({"id": cal.id, "timeZone": "Europe/Paris"}))
            .send()
            .await?;
    }
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let app_port = listener.local_addr()?.port();
    settings.google.api_base_url = format!("{emulator_url}/calendar/v3");
    settings.google.token_url = Some(format!("{emulator_url}/token"));
    settings.google.token_path = Some(creds.join("token.json"));
    settings.google.client_secret_path = Some(creds.join("client_secret.json"));
    settings.google.service_account_key_path = None;
    // Neither client-side bucket may pace a phase: each account's, nor the project's every account
    // shares (10,000/min by default, which held the write path to ~180 events/s).
    settings.google.requests_per_minute = 1_000_000;
    settings.google.project_requests_per_minute = 1_000_000;
    settings.google_calendar.enabled = true;
    settings.server.workers_enabled = true;
    settings.server.public_url = Some(format!("http://127.0.0.1:{app_port}"));
    settings.admin.channel_token_secret =
        Some(Secret::new("bench-channel-secret-0123456789abcdef"));
    settings.redis.key_prefix = format!("bench:{}:{tag}:", std::process::id());
    let shutdown = CancellationToken::new();
    let app = Application::build_on(
        settings.clone(),
        Migrations::Apply,
        shutdown.clone(),
        listener,
    )
    .await?;
    let pool = app.state().pool.clone();
    let syncer = app
        .state()
        .syncer
        .clone()
        .ok_or_else(|| anyhow!("no syncer"))?;
    let server = tokio::spawn(app.run_until_stopped());
    Ok(Rig {
        emulator_url,
        http,
        pool,
        app_url: format!("http://127.0.0.1:{app_port}"),
        settings,
        syncer,
        child,
        shutdown,
        server,
        creds,
    })
}

impl Rig {
    /// Stops calsync and the emulator, and removes the emulator's credentials.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.server.await;
        let mut child = self.child;
        let _ = child.kill().await;
        let _ = std::fs::remove_dir_all(&self.creds);
    }
}

/// Creates `<base database>_<tag>` (dropped first if a previous run left it); returns its URL and name.
pub async fn fresh_database(base_url: &str, tag: &str) -> anyhow::Result<(String, String)> {
    let mut url = url::Url::parse(base_url).context("DATABASE_URL")?;
    let base = match url.path().trim_start_matches('/') {
        "" => "postgres".to_string(),
        name => name.to_string(),
    };
    let mut name = format!("{base}_{}", tag.replace('-', "_"));
    name.truncate(63);
    drop_database(base_url, &name).await?;
    let mut conn = sqlx::PgConnection::connect(base_url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {}",
        quoted(&name)
    )))
    .execute(&mut conn)
    .await
    .with_context(|| format!("creating the database {name}"))?;
    conn.close().await?;
    url.set_path(&name);
    Ok((url.to_string(), name))
}

pub async fn drop_database(base_url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(base_url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quoted(name)
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(())
}

fn quoted(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}
