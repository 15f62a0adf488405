//! calsync as a real child process (`calsync serve`): a clean environment, its own port, logs appended to a
//! file, SIGKILL and restart.

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

pub use calsync_testkit::free_port;

/// The admin JWT secret every process of a seed shares (the explicit sync mints its tokens with it).
pub const ADMIN_SECRET: &str = "convergence-admin-secret-0123456789abcdef";

/// Environment every calsync process of a seed shares (each adds its own BIND_ADDRESS); `google_env` points
/// at the emulator and at the world's config (`CALENDAR_CONFIG_PATH`).
pub fn shared_env(
    database_url: &str,
    public_url: &str,
    google_env: Vec<(String, String)>,
    seed: u64,
) -> Vec<(String, String)> {
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string());
    let log = std::env::var("CONVERGENCE_RUST_LOG").unwrap_or_else(|_| "warn".to_string());
    let mut env: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), database_url.into()),
        ("REDIS_URL".into(), redis),
        (
            "CALSYNC__REDIS__KEY_PREFIX".into(),
            format!("convergence:{seed}:{}:", uuid::Uuid::new_v4().simple()),
        ),
        ("WEBHOOK_PUBLIC_URL".into(), public_url.into()),
        ("ADMIN_JWT_SECRET".into(), ADMIN_SECRET.into()),
        (
            "CHANNEL_TOKEN_SECRET".into(),
            "convergence-channel-secret-0123456789abcdef".into(),
        ),
        // The fallback poll every 2 s (calendars without a live channel: expired ones) and the safety
        // sync every 2 s (calendars with one): what catches up after dropped pushes.
        (
            "CALSYNC__GOOGLE_CALENDAR__SYNC_INTERVAL_SECONDS".into(),
            "2".into(),
        ),
        ("CALSYNC__PUSH__SAFETY_SYNC_SECONDS".into(), "2".into()),
        ("CALSYNC__SERVER__SHUTDOWN_GRACE_SECS".into(), "1".into()),
        ("RUST_LOG".into(), log),
    ];
    env.extend(google_env);
    env
}

/// One calsync process (and the way to start it again).
pub struct Calsync {
    pub name: String,
    pub port: u16,
    pub log: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Calsync {
    /// Starts `calsync serve` on `port`; its output goes to `log` (truncated now, appended on restarts).
    pub fn spawn(name: &str, port: u16, env: &[(String, String)], log: PathBuf) -> Self {
        std::fs::write(&log, b"").expect("log file");
        let mut env = env.to_vec();
        env.push(("BIND_ADDRESS".into(), format!("127.0.0.1:{port}")));
        let mut me = Self {
            name: name.to_string(),
            port,
            log,
            env,
            child: None,
        };
        me.start();
        me
    }

    fn start(&mut self) {
        let file = OpenOptions::new()
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_calsync"))
            .arg("serve")
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(file.try_clone().expect("log file")))
            .stderr(Stdio::from(file))
            .kill_on_drop(true)
            .spawn()
            .expect("calsync starts");
        self.child = Some(child);
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().and_then(Child::id).unwrap_or(0)
    }

    /// SIGKILL, reaped.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// A fresh process with the same environment and port (after `kill`).
    pub fn restart(&mut self) {
        if self.child.is_none() {
            self.start();
        }
    }

    /// Like the deployments' supervisor (systemd `Restart=on-failure`, compose `restart: unless-stopped`):
    /// a process that exited on its own is started again after a second; returns why it had exited.
    pub async fn supervise(&mut self) -> Option<String> {
        let why = self.exited()?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        self.start();
        Some(why)
    }

    /// Why the process is gone, if it exited on its own (a killed one is not "exited").
    pub fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                let last = log.lines().rev().find(|l| !l.trim().is_empty());
                let last: String = last.unwrap_or("").chars().take(200).collect();
                Some(format!("{} exited ({status}): {last}", self.name))
            }
            _ => None,
        }
    }

    /// Waits for `/healthz` (the server answers once migrations and startup are done).
    pub async fn wait_ready(&mut self, timeout: Duration) {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("http client");
        let url = format!("http://127.0.0.1:{}/healthz", self.port);
        let start = Instant::now();
        loop {
            if let Some(why) = self.exited() {
                panic!("{why} before it was ready; log: {}", self.log.display());
            }
            if let Ok(r) = http.get(&url).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                start.elapsed() < timeout,
                "{} not ready within {timeout:?}; log: {}",
                self.name,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
