//! A replica that dies mid-run (SIGKILL, OOM, lost host) leaves its calendar leased and no longer
//! pending: the claim cleared the mark. Once the lease lapses, the calendar is synced again by a
//! live worker, so the change that run was fetching is not left for the next safety sync.

use std::time::Duration;

use calsync_testkit::{Google, TestApp, wait_for};
use serde_json::json;

#[tokio::test]
async fn a_calendar_leased_by_a_dead_replica_is_synced_once_its_lease_lapses() {
    let google = Google::start().await;
    // No push, no poll or safety sync within the test: only the lapsed lease can bring the change.
    let app = TestApp::builder()
        .synced_to(&google)
        .with_settings(|s| {
            s.push.enabled = false;
            s.google_calendar.sync_interval_seconds = Some(3600);
            s.push.safety_sync_seconds = Some(3600);
        })
        .spawn()
        .await;
    let idle = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM sync_state WHERE pending OR lease_owner IS NOT NULL",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
            == 0
    };
    wait_for("the first syncs", Duration::from_secs(30), idle).await;
    let ev = google
        .insert(
            "primary",
            json!({"summary": "made while a dead replica held the calendar",
                   "start": {"dateTime": "2030-01-01T10:00:00Z"}, "end": {"dateTime": "2030-01-01T11:00:00Z"}}),
        )
        .await;
    let id = ev["id"].as_str().unwrap().to_string();
    // What a replica killed right after its claim leaves: a lease of another owner, not pending.
    sqlx::query(
        "UPDATE sync_state SET lease_owner = gen_random_uuid(), lease_until = now() + interval '2 seconds',
                pending = FALSE
          WHERE calendar_id = 'primary'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let stored = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM events WHERE calendar_id = 'primary' AND external_id = $1",
        )
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
            == 1
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!stored().await, "synced while the lease was still held");
    // The lease lapses after 2 s; the worker's sweep (5 s) finds the calendar.
    wait_for(
        "the change, after the lease lapsed",
        Duration::from_secs(15),
        stored,
    )
    .await;
    wait_for("the lease released", Duration::from_secs(5), idle).await;
}
