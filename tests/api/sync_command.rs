//! `calsync sync` from the command line writes the Redis health key as the server does, so the
//! seed's healthcheck (`calsync healthcheck`) turns green after a manual sync; and its JSON logs,
//! at every level, carry no event content and no credentials.

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

/// The environment of a `calsync sync` against `google` on a fresh database.
async fn sync_env(google: &Google) -> Vec<(String, String)> {
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
    env
}

#[tokio::test]
async fn a_manual_sync_turns_the_healthcheck_green() {
    let google = Google::start().await;
    let env = sync_env(&google).await;
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

/// The production logging path, in its own process (a scoped subscriber in the shared test binary
/// missed events now and then: tracing's callsite interest is global to a process).
#[tokio::test]
async fn no_event_content_reaches_the_logs() {
    let google = Google::start().await;
    google
        .insert(
            "primary",
            serde_json::json!({"summary": "Consultation cardio Mme Dupont", "description": "dossier 4411 confidentiel",
                   "location": "Cabinet 12 rue des Lilas", "attendees": [{"email": "patient.dupont@example.org"}],
                   "start": {"dateTime": "2030-01-01T10:00:00Z"}, "end": {"dateTime": "2030-01-01T11:00:00Z"}}),
        )
        .await;
    let mut env = sync_env(&google).await;
    env.extend([
        ("RUST_LOG".to_string(), "trace".to_string()),
        ("CALSYNC__TELEMETRY__LOG_FORMAT".into(), "json".into()),
    ]);
    let sync = calsync(&["sync"], &env).await;
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&sync.stdout),
        String::from_utf8_lossy(&sync.stderr)
    );
    assert_eq!(sync.status.code(), Some(0), "{logs}");
    let done: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == "sync run done" && v["calendar"] == "primary")
        .collect();
    assert_eq!(done.len(), 1, "the run logged its end, as JSON: {logs}");
    assert_eq!(done[0]["created"], 1, "{logs}");
    for secret in [
        "Dupont",
        "dossier 4411",
        "Lilas",
        "patient.dupont",
        calsync::emulator::dev_credentials::REFRESH_TOKEN,
        calsync::emulator::dev_credentials::CLIENT_SECRET,
    ] {
        assert!(
            !logs.contains(secret),
            "{secret:?} leaked into logs:\n{logs}"
        );
    }
}
