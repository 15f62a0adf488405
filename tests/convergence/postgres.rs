//! PostgreSQL for the suite: a fresh database per seed, and a cut connection: every backend of the seed's
//! database terminated, or, with `CONVERGENCE_PG_RESTART=real` (CI sets it), a real server restart.

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use calsync_testkit::{ADMIN_URL, database_url, poll};
use sqlx::{Connection, Executor, PgConnection};

/// Creates an empty database with a unique name and returns its URL and name.
pub async fn create_database(label: &str) -> (String, String) {
    let name = format!("calsync_conv_{label}_{}", uuid::Uuid::new_v4().simple());
    admin_exec(&format!(r#"CREATE DATABASE "{name}""#)).await;
    (database_url(&name), name)
}

pub async fn drop_database(name: &str) {
    admin_exec(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#)).await;
}

/// Runs an admin statement, again for up to 30 s while the server restarts (another run's restart).
async fn admin_exec(sql: &str) {
    let started = Instant::now();
    loop {
        let attempt = async {
            let mut conn = PgConnection::connect(&ADMIN_URL).await?;
            conn.execute(sqlx::AssertSqlSafe(sql.to_string())).await
        };
        match attempt.await {
            Ok(_) => return,
            Err(e) if started.elapsed() < Duration::from_secs(30) => {
                eprintln!("admin statement failed ({e}); retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("admin statement failed (is PostgreSQL running? see README): {e}"),
        }
    }
}

/// How PostgreSQL was restarted.
#[derive(Debug, Clone)]
pub enum PgRestart {
    Real,
    /// The seed's backends were terminated instead; the reason is printed once.
    Simulated(String),
}

impl std::fmt::Display for PgRestart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Real => f.write_str("real"),
            Self::Simulated(_) => f.write_str("simulated"),
        }
    }
}

fn cluster_version() -> Option<String> {
    let mut versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort();
    versions.pop()
}

/// With `CONVERGENCE_PG_RESTART=real`, restarts the server (`pg_ctlcluster`, as root or through `sudo -n`);
/// otherwise, or when that fails, terminates the seed's backends. Returns once PostgreSQL accepts connections
/// again. Real restarts are opt-in: on a machine that hosts other databases they cut those too.
pub async fn restart(db_name: &str) -> PgRestart {
    let outcome = match real_restart().await {
        Ok(()) => PgRestart::Real,
        Err(why) => {
            terminate_backends(db_name).await;
            PgRestart::Simulated(why)
        }
    };
    wait_accepting(Duration::from_secs(30)).await;
    outcome
}

/// Whether `CONVERGENCE_PG_RESTART` asks for real server restarts (only `real` does).
fn real_restart_asked(value: Option<&str>) -> bool {
    value == Some("real")
}

async fn real_restart() -> Result<(), String> {
    if !real_restart_asked(std::env::var("CONVERGENCE_PG_RESTART").ok().as_deref()) {
        return Err("real restarts are opt-in (CONVERGENCE_PG_RESTART=real)".into());
    }
    let version = cluster_version().ok_or("no cluster under /etc/postgresql")?;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let args = [
        "pg_ctlcluster",
        "--skip-systemctl-redirect",
        version.as_str(),
        "main",
        "restart",
    ];
    let mut cmd = if root {
        tokio::process::Command::new(args[0])
    } else {
        let mut c = tokio::process::Command::new("sudo");
        c.arg("-n").arg(args[0]);
        c
    };
    cmd.args(&args[1..]).kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .map_err(|_| "pg_ctlcluster restart took over 60 s".to_string())?
        .map_err(|e| format!("pg_ctlcluster not runnable: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}pg_ctlcluster restart failed ({}): {}",
            if root { "" } else { "sudo -n " },
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Terminates the seed's backends; the server may itself be restarting (another stream's restart, which is
/// also why a real restart can fail), so this waits for it and retries like `admin_exec`.
async fn terminate_backends(db_name: &str) {
    wait_accepting(Duration::from_secs(30)).await;
    admin_exec(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
        db_name.replace('\'', "''")
    ))
    .await;
}

async fn wait_accepting(timeout: Duration) {
    let accepting = poll(timeout, Duration::from_millis(100), || async {
        match PgConnection::connect(&ADMIN_URL).await {
            Ok(mut c) => c.execute("SELECT 1").await.is_ok(),
            Err(_) => false,
        }
    })
    .await;
    assert!(
        accepting,
        "PostgreSQL did not accept connections within {timeout:?} of its restart"
    );
}

#[cfg(test)]
mod tests {
    use super::real_restart_asked;

    #[test]
    fn the_server_is_restarted_only_when_asked() {
        assert!(!real_restart_asked(None));
        assert!(!real_restart_asked(Some("")));
        assert!(!real_restart_asked(Some("simulate")));
        assert!(!real_restart_asked(Some("REAL")));
        assert!(real_restart_asked(Some("real")));
    }
}
