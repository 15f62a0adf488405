//! `calsync serve` child processes: spawned with the run's environment, ready on `/healthz`,
//! their RSS from /proc, stopped gracefully or killed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use tokio::process::{Child, Command};

/// A `calsync serve` child process.
pub(super) struct Server {
    pub(super) child: Option<Child>,
    pub(super) port: u16,
    pub(super) log: PathBuf,
}

impl Server {
    pub(super) fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    pub(super) fn rss_mb(&self) -> f64 {
        self.pid().map(proc_rss_mb).unwrap_or(0.0)
    }

    pub(super) async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.start_kill();
            let _ = c.wait().await;
        }
    }

    /// SIGTERM, then waits for the graceful stop (SIGKILL after 30 s).
    pub(super) async fn stop(&mut self) {
        if let (Some(pid), Some(mut c)) = (self.pid(), self.child.take()) {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            if tokio::time::timeout(Duration::from_secs(30), c.wait())
                .await
                .is_err()
            {
                let _ = c.start_kill();
                let _ = c.wait().await;
            }
        }
    }
}

pub(super) fn proc_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// What every child shares.
pub(super) struct Env {
    pub(super) calsync: PathBuf,
    pub(super) vars: Vec<(String, String)>,
    pub(super) dir: PathBuf,
}

impl Env {
    pub(super) async fn spawn(
        &self,
        name: &str,
        config: &Path,
        database_url: &str,
    ) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = self.dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log)?;
        let child = Command::new(&self.calsync)
            .arg("serve")
            .env_clear()
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .env("CALENDAR_CONFIG_PATH", config)
            .env("DATABASE_URL", database_url)
            .env("BIND_ADDRESS", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(file.try_clone()?))
            .stderr(Stdio::from(file))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", self.calsync.display()))?;
        let mut server = Server {
            child: Some(child),
            port,
            log,
        };
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(c) = server.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                return Err(anyhow!(
                    "{name} exited ({status}); log: {}",
                    server.log.display()
                ));
            }
            if let Ok(r) = http
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await
                && r.status().is_success()
            {
                return Ok(server);
            }
            if started.elapsed() > Duration::from_secs(120) {
                server.kill().await;
                return Err(anyhow!("{name} not ready within 120 s"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
