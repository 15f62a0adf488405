//! The binary when PostgreSQL is not there: one line naming the host, the port, the database and the
//! cause, with the fix; a one-shot command and the demo fail within seconds.

use std::process::Output;
use std::time::{Duration, Instant};

use calsync_testkit::{SAMPLE_CONFIG, free_port};

const BIN: &str = env!("CARGO_BIN_EXE_calsync");

/// Runs `calsync args` with only the sample config, `DATABASE_URL` and Redis; its output and how long it took.
async fn calsync(args: &[&str], database_url: &str) -> (Output, Duration) {
    let dir = std::env::temp_dir().join(format!("calsync-dberr-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("calendar_config.yaml");
    std::fs::write(&cfg, SAMPLE_CONFIG).unwrap();
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args)
        .env_clear()
        .env("CALENDAR_CONFIG_PATH", &cfg)
        .env("DATABASE_URL", database_url)
        .env("REDIS_URL", calsync_testkit::REDIS_URL.as_str())
        .kill_on_drop(true);
    let started = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("calsync must give up, not hang")
        .unwrap();
    (out, started.elapsed())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

#[tokio::test]
async fn migrate_on_a_port_nobody_listens_on_says_so_once() {
    let port = free_port();
    let (out, took) = calsync(
        &["migrate"],
        &format!("postgres://postgres@127.0.0.1:{port}/calsync"),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "calsync: PostgreSQL at 127.0.0.1:{port} (database \"calsync\"): connection refused. Is \
             PostgreSQL running there? `./run services` starts a local one; otherwise fix the host \
             and port in DATABASE_URL"
        )
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn migrate_on_a_missing_database_names_it_once_with_createdb() {
    let name = format!("calsync_missing_{}", uuid::Uuid::new_v4().simple());
    let (out, _) = calsync(
        &["migrate"],
        &format!("postgres://postgres@127.0.0.1:5432/{name}"),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "calsync: PostgreSQL at 127.0.0.1:5432: database \"{name}\" does not exist. Create it: \
             `createdb -h 127.0.0.1 -p 5432 -U postgres {name}`"
        )
    );
}

#[tokio::test]
async fn the_demo_without_postgresql_fails_within_seconds() {
    let port = free_port();
    let (out, took) = calsync(
        &["demo"],
        &format!("postgres://postgres@127.0.0.1:{port}/calsync"),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        format!(
            "calsync: startup: PostgreSQL at 127.0.0.1:{port} (database \"calsync\"): connection \
             refused. Is PostgreSQL running there? `./run services` starts a local one; otherwise \
             fix the host and port in DATABASE_URL"
        )
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
}
