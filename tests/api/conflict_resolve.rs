//! Resolving one conflict from several callers at once: exactly one wins (200), the others get 409.

use calsync_testkit::spawn_app;
use serde_json::json;

#[tokio::test]
async fn concurrent_resolutions_of_one_conflict_succeed_exactly_once() {
    let app = spawn_app().await;
    let event: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO events (calendar_id, summary, start_at, end_at, time_zone)
         VALUES ('primary', 'x', '2026-02-17T14:00:00Z', '2026-02-17T15:00:00Z', 'Europe/Paris') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let version = |summary: &str| {
        json!({"summary": summary,
               "start": {"dateTime": "2026-02-17T14:00:00+00:00", "timeZone": "Europe/Paris"},
               "end": {"dateTime": "2026-02-17T15:00:00+00:00", "timeZone": "Europe/Paris"}})
    };
    let conflict: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO conflicts (event_id, calendar_id, winner, local_version, google_version)
         VALUES ($1, 'primary', 'google', $2, $3) RETURNING id",
    )
    .bind(event)
    .bind(version("local"))
    .bind(version("google"))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let token = calsync::admin_auth::mint(
        "test-admin-secret-0123456789abcdef",
        "t",
        std::time::Duration::from_secs(600),
    )
    .unwrap();
    let url = format!("{}/api/v1/conflicts/{conflict}/resolve", app.address);
    let calls: Vec<_> = (0..10)
        .map(|i| {
            let req = app
                .client
                .post(&url)
                .bearer_auth(&token)
                .json(&json!({"keep": if i % 2 == 0 { "local" } else { "google" }}));
            tokio::spawn(async move { req.send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for c in calls {
        statuses.push(c.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    let resolution: Option<String> =
        sqlx::query_scalar("SELECT resolution FROM conflicts WHERE id = $1")
            .bind(conflict)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let summary: Option<String> = sqlx::query_scalar("SELECT summary FROM events WHERE id = $1")
        .bind(event)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        summary, resolution,
        "the event holds the version the winner kept"
    );
}
