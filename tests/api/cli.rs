//! The `calsync` binary: `--help`, `--version`, `migrate`, `admin-token`, the `bench` launcher, and one clear exit-2 message per bad config.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use calsync_testkit::{SAMPLE_CONFIG, create_database};

const BIN: &str = env!("CARGO_BIN_EXE_calsync");

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("calsync-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary with a clean environment plus `env`, bounded in time.
async fn calsync(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args).env_clear().kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .expect("calsync must exit, not hang (validation happens before serving)")
        .expect("spawn calsync")
}

/// Writes `yaml` and credential files that exist; returns the env pointing at them.
fn config_env(dir: &std::path::Path, yaml: &str) -> Vec<(String, String)> {
    let cfg = dir.join("calendar_config.yaml");
    std::fs::write(&cfg, yaml).unwrap();
    let token = dir.join("token.json");
    let secret = dir.join("client_secret.json");
    std::fs::write(&token, "{}").unwrap();
    std::fs::write(&secret, "{}").unwrap();
    vec![
        ("CALENDAR_CONFIG_PATH".into(), cfg.display().to_string()),
        (
            "GOOGLE_CALENDAR_TOKEN_PATH".into(),
            token.display().to_string(),
        ),
        (
            "GOOGLE_CLIENT_SECRET_PATH".into(),
            secret.display().to_string(),
        ),
        (
            "WEBHOOK_PUBLIC_URL".into(),
            "https://calsync.example.org".into(),
        ),
        (
            "DATABASE_URL".into(),
            "postgres://postgres@127.0.0.1:1/none".into(),
        ),
    ]
}

async fn expect_config_error(yaml: &str, extra: &[(&str, &str)], key: &str) -> String {
    let dir = temp_dir();
    let mut env = config_env(&dir, yaml);
    for (k, v) in extra {
        env.retain(|(ek, _)| ek != k);
        env.push((k.to_string(), v.to_string()));
    }
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = calsync(&["serve"], &env_refs).await;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains(key), "message must name {key}: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
    stderr
}

#[tokio::test]
async fn unknown_role_is_rejected() {
    let yaml = SAMPLE_CONFIG.replace("casquette: \"chercheur\"", "casquette: \"pilote\"");
    let msg = expect_config_error(&yaml, &[], "google_calendar.calendars[2].casquette").await;
    assert!(msg.contains("pilote"), "{msg}");
}

#[tokio::test]
async fn duplicate_calendar_id_is_rejected() {
    let yaml = SAMPLE_CONFIG.replace("\"CALENDAR_ID_CHERCHEUR\"", "\"primary\"");
    expect_config_error(&yaml, &[], "google_calendar.calendars[2].id").await;
}

#[tokio::test]
async fn zero_interval_is_rejected() {
    let yaml = SAMPLE_CONFIG.replace("sync_interval_minutes: 30", "sync_interval_minutes: 0");
    expect_config_error(&yaml, &[], "google_calendar.sync_interval_minutes").await;
}

#[tokio::test]
async fn plain_http_public_url_is_rejected_for_real_google() {
    expect_config_error(
        SAMPLE_CONFIG,
        &[("WEBHOOK_PUBLIC_URL", "http://calsync.example.org")],
        "WEBHOOK_PUBLIC_URL",
    )
    .await;
}

#[tokio::test]
async fn missing_credential_file_is_rejected() {
    let msg = expect_config_error(
        SAMPLE_CONFIG,
        &[(
            "GOOGLE_CALENDAR_TOKEN_PATH",
            "/nonexistent/google_token.json",
        )],
        "GOOGLE_CALENDAR_TOKEN_PATH",
    )
    .await;
    assert!(msg.contains("/nonexistent/google_token.json"), "{msg}");
}

#[tokio::test]
async fn empty_placeholder_or_short_signing_secrets_are_rejected() {
    expect_config_error(
        SAMPLE_CONFIG,
        &[("ADMIN_JWT_SECRET", "")],
        "ADMIN_JWT_SECRET",
    )
    .await;
    expect_config_error(
        SAMPLE_CONFIG,
        &[("CHANNEL_TOKEN_SECRET", "change-me")],
        "CHANNEL_TOKEN_SECRET",
    )
    .await;
    let msg = expect_config_error(
        SAMPLE_CONFIG,
        &[("ADMIN_JWT_SECRET", "0123456789abcdef")],
        "ADMIN_JWT_SECRET",
    )
    .await;
    assert!(
        !msg.contains("0123456789abcdef"),
        "never echoes the value: {msg}"
    );
}

#[tokio::test]
async fn unreadable_yaml_reports_line_and_column() {
    let yaml = "google_calendar:\n  enabled: true\n  calendars: [\n    - id: x\n";
    let msg = expect_config_error(yaml, &[], "yaml").await;
    assert!(msg.contains("line") && msg.contains("column"), "{msg}");
}

#[tokio::test]
async fn unknown_setting_is_rejected_by_name() {
    let yaml = SAMPLE_CONFIG.replace(
        "  renew_margin_secs: 86400",
        "  renew_margin_secs: 86400\n  renew_margn: 3",
    );
    expect_config_error(&yaml, &[], "renew_margn").await;
}

#[tokio::test]
async fn help_lists_every_subcommand_and_version_works() {
    let out = calsync(&["--help"], &[]).await;
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "serve",
        "migrate",
        "sync",
        "channels",
        "auth",
        "healthcheck",
        "emulator",
        "demo",
        "admin-token",
    ] {
        assert!(help.contains(cmd), "--help must list {cmd}: {help}");
    }
    let out = calsync(&["--version"], &[]).await;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[tokio::test]
async fn migrate_creates_the_schema() {
    let (db_url, _) = create_database().await;
    let dir = temp_dir();
    let mut env = config_env(&dir, SAMPLE_CONFIG);
    env.retain(|(k, _)| k != "DATABASE_URL");
    env.push(("DATABASE_URL".into(), db_url.clone()));
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = calsync(&["migrate"], &env_refs).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    for table in [
        "calendars",
        "events",
        "watch_channels",
        "sync_state",
        "outbox",
        "conflicts",
        "sync_runs",
    ] {
        let found: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
            .bind(table)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(found.as_deref(), Some(table));
    }
    // Applying twice is a no-op.
    let again = calsync(&["migrate"], &env_refs).await;
    assert!(again.status.success());
}

#[tokio::test]
async fn admin_token_prints_a_verifiable_token_on_its_last_line() {
    let dir = temp_dir();
    let mut env = config_env(&dir, SAMPLE_CONFIG);
    env.push((
        "ADMIN_JWT_SECRET".into(),
        "cli-admin-secret-0123456789abcdef".into(),
    ));
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = calsync(&["admin-token", "--ttl", "10m"], &env_refs).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let token = stdout.lines().last().unwrap();
    let claims = calsync::admin_auth::verify("cli-admin-secret-0123456789abcdef", token).unwrap();
    assert!(claims.exp - claims.iat == 600);
    // Without a secret: a config error naming the variable.
    env.retain(|(k, _)| k != "ADMIN_JWT_SECRET");
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = calsync(&["admin-token"], &env_refs).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ADMIN_JWT_SECRET"));
}

#[tokio::test]
async fn the_demo_runs_push_sync_end_to_end_and_exits() {
    let (db_url, _) = create_database().await;
    let dir = temp_dir();
    let cfg = dir.join("calendar_config.yaml");
    std::fs::write(&cfg, SAMPLE_CONFIG).unwrap();
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(["demo", "--changes", "3", "--every", "1"])
        .env_clear()
        .env("CALENDAR_CONFIG_PATH", &cfg)
        .env("DATABASE_URL", &db_url)
        .env("REDIS_URL", calsync_testkit::REDIS_URL.as_str())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("demo must finish")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("initial sync: 6 events"), "{stdout}");
    assert!(stdout.contains("→ PostgreSQL by push in"), "{stdout}");
    assert!(stdout.contains("PostgreSQL insert → Google"), "{stdout}");
}

/// `calsync bench` launches the `calsync-bench` binary beside it; a calsync with none beside it (a
/// link to the binary in a directory of its own) fails naming the command that builds it.
#[tokio::test]
async fn bench_without_its_binary_beside_calsync_names_the_build_command() {
    let dir = temp_dir();
    let alone = dir.join("calsync");
    if std::fs::hard_link(BIN, &alone).is_err() {
        std::fs::copy(BIN, &alone).unwrap();
    }
    let cfg = dir.join("calendar_config.yaml");
    std::fs::write(&cfg, SAMPLE_CONFIG).unwrap();
    let out = tokio::process::Command::new(&alone)
        .args(["bench", "--quick"])
        .env_clear()
        .env("CALENDAR_CONFIG_PATH", &cfg)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("calsync-bench"), "{stderr}");
    assert!(stderr.contains("cargo build -p calsync-bench"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// On demand (`cargo build -p calsync-bench && cargo test --test api -- --ignored`): the bench loads
/// the machine and needs it to itself; `calsync bench` runs the `calsync-bench` built beside calsync.
#[tokio::test]
#[ignore = "loads the machine; run on demand"]
async fn the_quick_benchmark_prints_its_table() {
    let (db_url, _) = create_database().await;
    let dir = temp_dir();
    let cfg = dir.join("calendar_config.yaml");
    std::fs::write(&cfg, SAMPLE_CONFIG).unwrap();
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(["bench", "--quick"])
        .env_clear()
        .env("CALENDAR_CONFIG_PATH", &cfg)
        .env("DATABASE_URL", &db_url)
        .env("REDIS_URL", calsync_testkit::REDIS_URL.as_str())
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(180), cmd.output())
        .await
        .expect("bench must finish")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "push → database delay",
        "floor:",
        "webhook acks",
        "events.list calls for a burst",
        "full sync",
        "COPY",
        "write path",
        "RSS peak",
        "idle (measured)",
    ] {
        assert!(stdout.contains(row), "{row} missing:\n{stdout}");
    }
}
