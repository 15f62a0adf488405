//! `POST /webhooks/google`: header validation, forged pushes, unknown channels, durable dirty marks, PostgreSQL outage.

use calsync::push::token::ChannelTokens;
use calsync_testkit::{TestApp, admin_exec, poll_until, spawn_app};
use reqwest::StatusCode;

const SECRET: &str = "test-channel-secret-0123456789abcdef";

async fn add_channel(app: &TestApp, id: &str, calendar: &str, resource: &str, state: &str) {
    sqlx::query(
        "INSERT INTO watch_channels (id, calendar_id, resource_id, address, state, expiration)
         VALUES ($1, $2, $3, 'https://x/webhooks/google', $4, now() + interval '1 day')",
    )
    .bind(id)
    .bind(calendar)
    .bind(resource)
    .bind(state)
    .execute(&app.pool)
    .await
    .unwrap();
}

async fn push(app: &TestApp, pairs: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.post(format!("{}/webhooks/google", app.address));
    for (k, v) in pairs {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn headers<'a>(
    channel: &'a str,
    resource: &'a str,
    state: &'a str,
    token: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("X-Goog-Channel-ID", channel),
        ("X-Goog-Message-Number", "2"),
        ("X-Goog-Resource-ID", resource),
        ("X-Goog-Resource-State", state),
        (
            "X-Goog-Resource-URI",
            "https://www.googleapis.com/calendar/v3/calendars/primary/events",
        ),
        ("X-Goog-Channel-Expiration", "Tue, 19 Nov 2030 01:13:52 GMT"),
        ("X-Goog-Channel-Token", token),
    ]
}

async fn pending(app: &TestApp, calendar: &str) -> bool {
    sqlx::query_scalar("SELECT pending FROM sync_state WHERE calendar_id = $1")
        .bind(calendar)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn clear_pending(app: &TestApp) {
    sqlx::query("UPDATE sync_state SET pending = FALSE")
        .execute(&app.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_valid_exists_push_marks_the_calendar_dirty_durably() {
    let app = spawn_app().await;
    add_channel(&app, "chan-a", "primary", "res-a", "active").await;
    clear_pending(&app).await;
    let token = ChannelTokens::new(SECRET).sign("chan-a", "primary");
    let resp = push(&app, &headers("chan-a", "res-a", "exists", &token)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        pending(&app, "primary").await,
        "the dirty mark is committed before the 200"
    );
    assert!(!pending(&app, "CALENDAR_ID_ENSEIGNANT").await);
}

#[tokio::test]
async fn the_sync_message_is_acknowledged_without_work() {
    let app = spawn_app().await;
    add_channel(&app, "chan-s", "primary", "res-s", "active").await;
    clear_pending(&app).await;
    let token = ChannelTokens::new(SECRET).sign("chan-s", "primary");
    let resp = push(&app, &headers("chan-s", "res-s", "sync", &token)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(!pending(&app, "primary").await);
}

#[tokio::test]
async fn forged_pushes_cost_nothing() {
    let app = spawn_app().await;
    add_channel(&app, "chan-f", "primary", "res-f", "active").await;
    clear_pending(&app).await;
    let good = ChannelTokens::new(SECRET).sign("chan-f", "primary");
    let other_secret = ChannelTokens::new("attacker").sign("chan-f", "primary");
    let other_calendar = ChannelTokens::new(SECRET).sign("chan-f", "CALENDAR_ID_CHERCHEUR");

    assert_eq!(
        push(&app, &headers("chan-f", "res-f", "exists", &other_secret))
            .await
            .status(),
        401
    );
    assert_eq!(
        push(&app, &headers("chan-f", "res-f", "exists", &other_calendar))
            .await
            .status(),
        401
    );
    let mut no_token = headers("chan-f", "res-f", "exists", "");
    no_token.retain(|(k, _)| *k != "X-Goog-Channel-Token");
    assert_eq!(push(&app, &no_token).await.status(), 401);
    assert_eq!(
        push(&app, &headers("chan-f", "res-other", "exists", &good))
            .await
            .status(),
        403
    );
    assert!(
        !pending(&app, "primary").await,
        "no forged push may mark a calendar"
    );
}

#[tokio::test]
async fn unknown_and_stopped_channels_get_200_and_no_work() {
    let app = spawn_app().await;
    add_channel(&app, "chan-old", "primary", "res-old", "stopped").await;
    clear_pending(&app).await;
    let tokens = ChannelTokens::new(SECRET);
    let unknown = push(
        &app,
        &headers(
            "chan-nope",
            "res-x",
            "exists",
            &tokens.sign("chan-nope", "primary"),
        ),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::OK);
    let stopped = push(
        &app,
        &headers(
            "chan-old",
            "res-old",
            "exists",
            &tokens.sign("chan-old", "primary"),
        ),
    )
    .await;
    assert_eq!(stopped.status(), StatusCode::OK);
    assert!(!pending(&app, "primary").await);
}

#[tokio::test]
async fn malformed_headers_are_400_naming_the_header() {
    let app = spawn_app().await;
    add_channel(&app, "chan-m", "primary", "res-m", "active").await;
    clear_pending(&app).await;
    let token = ChannelTokens::new(SECRET).sign("chan-m", "primary");
    let mut bad = headers("chan-m", "res-m", "exists", &token);
    bad[1] = ("X-Goog-Message-Number", "not-a-number");
    let resp = push(&app, &bad).await;
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("X-Goog-Message-Number"),
        "{body}"
    );
    bad.remove(1);
    assert_eq!(push(&app, &bad).await.status(), 400);
    assert_eq!(push(&app, &[]).await.status(), 400);
    assert!(!pending(&app, "primary").await);
}

#[tokio::test]
async fn with_postgres_down_the_webhook_answers_503_so_google_retries() {
    let app = spawn_app().await;
    add_channel(&app, "chan-d", "primary", "res-d", "active").await;
    clear_pending(&app).await;
    let token = ChannelTokens::new(SECRET).sign("chan-d", "primary");
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
    let resp = push(&app, &headers("chan-d", "res-d", "exists", &token)).await;
    assert_eq!(resp.status(), 503);
    admin_exec(&format!(
        r#"ALTER DATABASE "{}" ALLOW_CONNECTIONS true"#,
        app.db_name
    ))
    .await;
    // Google's retry lands once the database is back.
    let status = poll_until(
        std::time::Duration::from_secs(5),
        std::time::Duration::from_millis(100),
        || async {
            push(&app, &headers("chan-d", "res-d", "exists", &token))
                .await
                .status()
                .as_u16()
        },
        |status| *status == 200,
    )
    .await;
    assert_eq!(status, 200);
    assert!(pending(&app, "primary").await);
}
