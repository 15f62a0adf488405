//! `/healthz`, `/readyz` (including a PostgreSQL outage and recovery) and `/metrics`.

use std::time::Duration;

use calsync_testkit::{admin_exec, poll_until, spawn_app};
use serde_json::Value;

#[tokio::test]
async fn healthz_is_ok() {
    let app = spawn_app().await;
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_reports_both_stores_and_each_calendar() {
    let app = spawn_app().await;
    let resp = app.get("/readyz").await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["postgres"], "up");
    assert_eq!(body["redis"], "up");
    let cals = body["calendars"].as_array().unwrap();
    let roles: Vec<&str> = cals
        .iter()
        .map(|c| c["casquette"].as_str().unwrap())
        .collect();
    assert_eq!(cals.len(), 3, "{body}");
    for role in ["medecin", "enseignant", "chercheur"] {
        assert!(roles.contains(&role), "{role} missing from {body}");
    }
}

#[tokio::test]
async fn readyz_is_503_while_postgres_is_unreachable_and_recovers() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    // Cut the database off: no new connections, existing ones terminated.
    admin_exec(&format!(
        r#"ALTER DATABASE "{}" ALLOW_CONNECTIONS false"#,
        app.db_name
    ))
    .await;
    admin_exec(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
        app.db_name
    ))
    .await;

    let resp = app.get("/readyz").await;
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["postgres"], "down", "{body}");
    assert!(
        body["reason"].as_str().unwrap().contains("postgres"),
        "{body}"
    );

    admin_exec(&format!(
        r#"ALTER DATABASE "{}" ALLOW_CONNECTIONS true"#,
        app.db_name
    ))
    .await;
    let status = poll_until(
        Duration::from_secs(5),
        Duration::from_millis(100),
        || async { app.get("/readyz").await.status().as_u16() },
        |status| *status == 200,
    )
    .await;
    assert_eq!(status, 200, "readiness must come back once PostgreSQL does");
}

#[tokio::test]
async fn metrics_are_openmetrics_text() {
    let app = spawn_app().await;
    let resp = app.get("/metrics").await;
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let text = resp.text().await.unwrap();
    assert!(text.contains("# TYPE calsync_outbox_depth gauge"), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let app = spawn_app().await;
    assert_eq!(app.get("/nope").await.status(), 404);
}
