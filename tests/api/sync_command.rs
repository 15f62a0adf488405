//! `calsync sync` from the command line writes the Redis health key as the server does, so the
//! seed's healthcheck (`calsync healthcheck`) turns green after a manual sync.

use std::process::Output;
use std::time::Duration;

use calsync_testkit::{Google, SAMPLE_CONFIG, create_database};

const BIN: &str = env!("CARGO_BIN_EXE_calsync");

async fn calsync(args: &[&str], env: &[(String, String)]) -> Output {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args).env_clear().kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("calsync exits")
        .expect("spawn calsync")
}

#[tokio::test]
async fn a_manual_sync_turns_the_healthcheck_green() {
    let google = Google::start().await;
    let (db_url, _) = create_database().await;
    let dir = std::env::temp_dir().join(format!("calsync-sync-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("calendar_config.yaml");
    std::fs::write(&cfg, SAMPLE_CONFIG).unwrap();
    let mut env = google.env();
    env.extend([
        (
            "CALENDAR_CONFIG_PATH".to_string(),
            cfg.display().to_string(),
        ),
        ("DATABASE_URL".into(), db_url),
        ("REDIS_URL".into(), calsync_testkit::REDIS_URL.clone()),
        (
            "CALSYNC__REDIS__KEY_PREFIX".into(),
            format!("test:{}:", uuid::Uuid::new_v4().simple()),
        ),
    ]);
    let before = calsync(&["healthcheck"], &env).await;
    assert_ne!(before.status.code(), Some(0), "no sync yet, no health key");

    let sync = calsync(&["sync"], &env).await;
    assert_eq!(
        sync.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&sync.stdout),
        String::from_utf8_lossy(&sync.stderr)
    );
    let after = calsync(&["healthcheck"], &env).await;
    assert_eq!(
        after.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&after.stdout),
        String::from_utf8_lossy(&after.stderr)
    );
}
