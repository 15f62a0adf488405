//! The status page in headless Chromium (driven over WebDriver by chromedriver, through `fantoccini`): sign in with the
//! admin token, the three calendars with their channels, a screenshot, and a conflict resolved from
//! its button. Also: `/metrics` exposes every family the Grafana dashboard charts.

use std::time::Duration;

use calsync_testkit::{CALENDARS, Google, TestApp, poll, poll_until, spawn_synced_app, wait_for};
use serde_json::json;

use crate::browser::Driver;

async fn synced_app(google: &Google) -> TestApp {
    let app = spawn_synced_app(google, &[]).await;
    wait_for(
        "three live channels and a first sync",
        Duration::from_secs(20),
        || async {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM watch_channels w JOIN sync_state s USING (calendar_id)
              WHERE w.state = 'active' AND s.last_success_at IS NOT NULL",
            )
            .fetch_one(&app.pool)
            .await
            .unwrap();
            n == 3
        },
    )
    .await;
    app
}

#[tokio::test]
async fn metrics_expose_every_family_the_dashboard_charts() {
    let google = Google::start().await;
    let app = synced_app(&google).await;
    let created = google
        .insert(
            CALENDARS[0],
            json!({"summary": "m", "start": {"dateTime": "2030-01-01T09:00:00Z"}, "end": {"dateTime": "2030-01-01T10:00:00Z"}}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    wait_for("the pushed change", Duration::from_secs(10), || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE external_id = $1")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        n == 1
    })
    .await;
    let needles = [
        "calsync_sync_runs_total{account=\"default\",calendar=\"primary\",casquette=\"medecin\",trigger=\"push\",outcome=\"ok\"}",
        // prometheus-client writes `le` first: label order carries no meaning in the format.
        "calsync_sync_run_seconds_bucket{le=\"+Inf\",trigger=\"push\"}",
        "calsync_push_to_db_seconds_count ",
        "calsync_webhook_notifications_total{verdict=\"accepted\"}",
        "calsync_webhook_notifications_total{verdict=\"sync\"} 3",
        "calsync_google_requests_total{account=\"default\",method=\"events.list\",status=\"200\"}",
        "calsync_google_requests_total{account=\"default\",method=\"events.watch\",status=\"200\"} 3",
        "calsync_google_request_seconds_count{method=\"events.list\"}",
        "calsync_channels_live 3",
        "calsync_channel_expiry_seconds{account=\"default\",calendar=\"primary\",casquette=\"medecin\"}",
        "calsync_outbox_depth 0",
        "calsync_conflicts_open 0",
    ];
    // Pushes are delivered off Google's request path and counted when the webhook answers, which can
    // come after the change is already in the database (a catch-up run may have fetched it first):
    // read /metrics until every family is there.
    let text = poll_until(
        Duration::from_secs(20),
        Duration::from_millis(200),
        || async { app.get("/metrics").await.text().await.unwrap_or_default() },
        |text: &String| needles.iter().all(|n| text.contains(n)),
    )
    .await;
    for needle in needles {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }
}

#[tokio::test]
async fn the_status_page_renders_in_chromium_and_resolves_a_conflict() {
    let google = Google::start().await;
    let app = synced_app(&google).await;
    // A local event and a recorded last-write-wins conflict about it.
    let event_id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO events (calendar_id, summary, start_at, end_at) VALUES ('primary', 'Local', '2030-02-01T09:00:00Z', '2030-02-01T10:00:00Z') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let google_version = json!({"summary": "Google's title", "start": {"dateTime": "2030-02-01T11:00:00Z"},
        "end": {"dateTime": "2030-02-01T12:00:00Z"}, "status": "confirmed"});
    let conflict: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO conflicts (event_id, calendar_id, winner, local_version, google_version)
         VALUES ($1, 'primary', 'local', '{}'::jsonb, $2) RETURNING id",
    )
    .bind(event_id)
    .bind(&google_version)
    .fetch_one(&app.pool)
    .await
    .unwrap();

    let driver = Driver::start().await;
    driver.go(&format!("{}/", app.address)).await;
    assert!(
        driver.source().await.contains("Admin token"),
        "signed out: the login form"
    );
    let token = calsync::admin_auth::mint(
        "test-admin-secret-0123456789abcdef",
        "browser",
        Duration::from_secs(600),
    )
    .unwrap();
    let input = driver.find("input[name=token]").await;
    input.send_keys(&token).await.unwrap();
    driver
        .find("form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();

    let page = poll_until(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || driver.source(),
        |page| page.contains("Calendars"),
    )
    .await;
    for role in ["medecin", "enseignant", "chercheur"] {
        assert!(page.contains(role), "role {role} on the page:\n{page}");
    }
    for cal in CALENDARS {
        assert!(page.contains(cal), "calendar {cal} on the page");
    }
    assert_eq!(
        page.matches("expires in").count(),
        3,
        "three live channels:\n{page}"
    );
    assert!(page.contains("Open conflicts (1)"), "{page}");
    assert!(page.contains("<svg id=\"delays\""), "the delay chart");
    let png = driver.client.screenshot().await.unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot"
    );
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    std::fs::write(&out, &png).unwrap();
    eprintln!("screenshot: {}", out.display());

    driver
        .find("button[value=google]")
        .await
        .click()
        .await
        .unwrap();
    let resolved = poll(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || async { driver.source().await.contains("Open conflicts (0)") },
    )
    .await;
    assert!(resolved, "the page shows the conflict resolved");
    let (resolution, summary): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT c.resolution, e.summary FROM conflicts c JOIN events e ON e.id = c.event_id WHERE c.id = $1",
    )
    .bind(conflict)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(resolution.as_deref(), Some("google"));
    assert_eq!(summary.as_deref(), Some("Google's title"));
    let _ = driver.client.close().await;
}

#[tokio::test]
async fn the_status_page_refuses_without_a_valid_token() {
    let google = Google::start().await;
    let app = spawn_synced_app(&google, &[]).await;
    let resp = app.get("/").await;
    assert_eq!(resp.status(), 401);
    assert!(resp.text().await.unwrap().contains("Admin token"));
    let bad = app
        .client
        .post(format!("{}/login", app.address))
        .form(&[("token", "not-a-jwt")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let forged = app
        .client
        .post(format!(
            "{}/status/conflicts/{}/resolve",
            app.address,
            uuid::Uuid::new_v4()
        ))
        .header("Cookie", "calsync_admin=garbage")
        .form(&[("keep", "local")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
}
