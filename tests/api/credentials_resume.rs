//! Writes parked while the credentials fail: one token request for the whole batch, not one per
//! entry; an explicit sync lifts every pause of the calendar and of its account and sends them; a
//! refusal the writer met first still pauses the account at the next sync run.

use std::time::Duration;

use calsync_testkit::{Google, TestApp, spawn_synced_app, wait_for};
use serde_json::json;

async fn scalar(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

/// Startup done, its syncs and channels: after it nothing calls Google unless the test makes it (a
/// channel registered after the revocation would meet the refusal first, and the run its refusal
/// starts would ask the token endpoint again). A calendar whose first sync ended before its channel
/// existed gets a catch-up run: done too (a success after its channel, nothing pending or leased),
/// or that run could be the one to meet the refusal.
async fn startup_done(app: &TestApp) {
    wait_for(
        "the startup syncs and channels",
        Duration::from_secs(20),
        || async {
            scalar(
                app,
                "SELECT count(*) FROM sync_state s
                  WHERE NOT s.pending AND (s.lease_until IS NULL OR s.lease_until < now())
                    AND s.last_success_at > (SELECT max(w.created_at) FROM watch_channels w
                                              WHERE w.calendar_id = s.calendar_id AND w.state = 'active')",
            )
            .await
                == 3
                && scalar(
                    app,
                    "SELECT count(DISTINCT calendar_id) FROM watch_channels WHERE state = 'active'",
                )
                .await
                    == 3
        },
    )
    .await;
}

#[tokio::test]
async fn an_explicit_sync_sends_writes_parked_by_invalid_grant() {
    let google = Google::start().await;
    let app = spawn_synced_app(&google, &[]).await;
    startup_done(&app).await;
    google
        .control("POST", "/emulator/refresh-tokens/revoke", json!({}))
        .await;
    let tokens_before = google.count("token").await;

    // Five local writes in one statement: one batch for the writer.
    sqlx::query(
        "INSERT INTO events (calendar_id, summary, start_at, end_at)
         SELECT 'primary', 'rdv ' || n, now() + n * interval '1 day', now() + n * interval '1 day' + interval '1 hour'
           FROM generate_series(1, 5) n",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    wait_for("the writer to give up on all five", Duration::from_secs(20), || async {
        scalar(&app, "SELECT count(*) FROM outbox WHERE last_error LIKE '%credentials%' AND lease_owner IS NULL").await == 5
    })
    .await;
    // One for the batch, not one per entry (the refusal may also have come from a background call
    // racing the revoke, whose hold then covers the batch); plus at most one from a sync run the
    // database let through before the writer's pause landed, which asks the token endpoint itself.
    let asked = google.count("token").await - tokens_before;
    assert!(
        asked <= 2,
        "{asked} token requests: one for the batch (and one racing run) at most, not one per entry"
    );
    // Another calendar of the same account was paused by the same refusal.
    sqlx::query("UPDATE sync_state SET error_reason = 'invalid_grant' WHERE calendar_id = 'CALENDAR_ID_ENSEIGNANT'")
        .execute(&app.pool)
        .await
        .unwrap();

    // The credentials work again (re-consent); the operator asks for a sync of the calendar.
    google
        .control("POST", "/emulator/refresh-tokens/restore", json!({}))
        .await;
    let token = calsync::admin_auth::mint(
        "test-admin-secret-0123456789abcdef",
        "t",
        Duration::from_secs(600),
    )
    .unwrap();
    let resp = app
        .client
        .post(format!("{}/api/v1/calendar/sync", app.address))
        .bearer_auth(&token)
        .json(&json!({"calendar_id": "primary"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    wait_for("the parked writes to reach Google", Duration::from_secs(20), || async {
        scalar(&app, "SELECT count(*) FROM outbox").await == 0
            && scalar(&app, "SELECT count(*) FROM events WHERE external_id IS NOT NULL AND etag IS NOT NULL").await == 5
    })
    .await;
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) FROM sync_state WHERE error_reason IS NOT NULL"
        )
        .await,
        0,
        "the account's pauses are lifted too"
    );
}

/// Regression (found by the convergence suite): when the writer met the refusal first, this
/// process's hold answered every sync run "credentials on hold", never invalid_grant, so the
/// account was not paused (and no alert went out) until the hold ran out. The writer's refusal now
/// pauses the account itself, and a run the database lets through asks the token endpoint itself.
#[tokio::test]
async fn an_account_whose_refusal_the_writer_met_first_is_paused_by_the_next_sync_run() {
    let google = Google::start().await;
    let app = spawn_synced_app(&google, &[]).await;
    startup_done(&app).await;
    google
        .control("POST", "/emulator/refresh-tokens/revoke", json!({}))
        .await;
    sqlx::query(
        "INSERT INTO events (calendar_id, summary, start_at, end_at)
         VALUES ('primary', 'rdv', now() + interval '1 day', now() + interval '1 day 1 hour')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    wait_for(
        "the writer to meet invalid_grant",
        Duration::from_secs(20),
        || async {
            scalar(
                &app,
                "SELECT count(*) FROM outbox WHERE last_error LIKE '%invalid_grant%'",
            )
            .await
                == 1
        },
    )
    .await;
    // The writer's refusal pauses the account at once (one alert), as a run's would.
    wait_for(
        "the account paused by the writer",
        Duration::from_secs(10),
        || async {
            scalar(
                &app,
                "SELECT count(*) FROM account_state WHERE paused_reason LIKE '%invalid_grant%'",
            )
            .await
                == 1
        },
    )
    .await;
    // A change at Google: its push is taken, and the account stays paused.
    google
        .control(
            "POST",
            "/emulator/calendars/primary/events",
            json!({"summary": "at Google",
                   "start": {"dateTime": "2030-02-17T14:00:00Z"}, "end": {"dateTime": "2030-02-17T15:00:00Z"}}),
        )
        .await;
    wait_for("the account paused", Duration::from_secs(10), || async {
        scalar(
            &app,
            "SELECT count(*) FROM account_state WHERE paused_reason LIKE '%invalid_grant%'",
        )
        .await
            == 1
    })
    .await;
}
