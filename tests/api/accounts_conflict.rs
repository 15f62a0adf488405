//! A write Google refuses with 412 on a named account's calendar is settled at that account's
//! Google calendar (issue 20; found by the convergence suite over three accounts).

use std::sync::Arc;
use std::time::Duration;

use calsync_testkit::{Google, TestApp, syncer};
use serde_json::json;

use crate::accounts_apart::{HOPITAL, accounts, two_users};

/// Regression: a write Google refused with 412
/// was settled against the calendar's key (`hopital:roles`) as if it were its Google id, so every
/// conflict on a named account's calendar met 404 and its entry was retried forever.
#[tokio::test]
async fn a_412_on_a_named_accounts_calendar_is_settled_at_that_calendar() {
    let google = Google::start().await;
    let (hopital, univ) = two_users(&google).await;
    let app = TestApp::builder()
        .synced_to(&google)
        .with_env(&[("CALSYNC__SERVER__WORKERS_ENABLED", "false")])
        .with_settings(move |s| accounts(s, hopital, univ))
        .spawn()
        .await;
    let writer = calsync::writer::Writer {
        pool: app.pool.clone(),
        google: syncer(&app).await.google.clone(),
        default_reminders: Arc::new(app.settings.google_calendar.default_reminders.clone()),
        owner: uuid::Uuid::new_v4(),
        batch: 16,
        notifier: None,
        metrics: None,
    };
    let id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO events (calendar_id, summary, start_at, end_at)
         VALUES ('hopital:roles', 'review', '2026-03-04 08:00+00', '2026-03-04 09:00+00') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a plain-SQL insert by calendar key");
    assert_eq!(writer.run_once().await.expect("a pass").written, 1);
    let gid = id.simple().to_string();
    // Both sides change it; the local change is newer, so it meets 412 and wins.
    google
        .user(HOPITAL)
        .patch("roles", &gid, json!({"location": "Salle B"}))
        .await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    sqlx::query("UPDATE events SET location = 'Salle C' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .expect("a local edit");
    let pass = writer.run_once().await.expect("a pass");
    assert_eq!(
        (pass.written, pass.retried, pass.parked),
        (1, 0, 0),
        "{pass:?}"
    );
    assert_eq!(
        google.user(HOPITAL).get("roles", &gid).await["location"],
        "Salle C"
    );
    let winner: String =
        sqlx::query_scalar("SELECT winner FROM conflicts WHERE calendar_id = 'hopital:roles'")
            .fetch_one(&app.pool)
            .await
            .expect("the conflict, on the calendar's key");
    assert_eq!(winner, "local");
}
