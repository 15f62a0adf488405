//! Google → PostgreSQL against the emulator: full and incremental syncs, deletions, recurrence, crashes,
//! 410 recovery and injected faults (logs without event content: sync_command.rs).

use std::time::Duration;

use calsync::sync::{Outcome, Syncer, Trigger};
use calsync_testkit::{Google, TestApp, spawn_synced_app, syncer};
use serde_json::{Value, json};

pub(crate) async fn setup(extra: &[(&str, &str)]) -> (Google, TestApp, Syncer) {
    let google = Google::start().await;
    let mut vars = vec![("CALSYNC__SERVER__WORKERS_ENABLED", "false")];
    vars.extend_from_slice(extra);
    let app = spawn_synced_app(&google, &vars).await;
    let s = syncer(&app).await;
    (google, app, s)
}

pub(crate) async fn done(s: &Syncer, cal: &str) -> calsync::sync::engine::RunReport {
    match s.sync_calendar(cal, Trigger::Manual, false).await.unwrap() {
        Outcome::Done(r) => r,
        other => panic!("sync of {cal} did not complete: {other:?}"),
    }
}

/// Live local rows of a calendar, as (external id, etag).
pub(crate) async fn local_state(app: &TestApp, cal: &str) -> Vec<(String, Option<String>)> {
    sqlx::query_as(
        "SELECT external_id, etag FROM events WHERE calendar_id = $1 AND deleted_at IS NULL ORDER BY external_id",
    )
    .bind(cal)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

pub(crate) async fn google_state(google: &Google, cal: &str) -> Vec<(String, Option<String>)> {
    let mut v: Vec<(String, Option<String>)> = google
        .list_all(cal)
        .await
        .into_iter()
        .filter(|e| e["status"] != "cancelled")
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                e["etag"].as_str().map(str::to_string),
            )
        })
        .collect();
    v.sort();
    v
}

pub(crate) fn timed(summary: &str, start: &str, end: &str) -> Value {
    json!({"summary": summary, "location": "Salle A", "description": "secret notes",
           "start": {"dateTime": start, "timeZone": "Europe/Paris"},
           "end": {"dateTime": end, "timeZone": "Europe/Paris"}})
}

#[tokio::test]
async fn ten_thousand_events_sync_across_pages_then_only_changes_move() {
    let (google, app, s) = setup(&[("CALSYNC__GOOGLE__PAGE_SIZE", "1000")]).await;
    google.bulk_seed("primary", 10_000).await;

    let first = done(&s, "primary").await;
    assert!(first.full);
    assert_eq!(first.pages, 10);
    assert_eq!(first.counts.created, 10_000);
    assert_eq!(
        local_state(&app, "primary").await,
        google_state(&google, "primary").await
    );

    let items = google.list_all("primary").await;
    let a = items[0]["id"].as_str().unwrap().to_string();
    let b = items[1]["id"].as_str().unwrap().to_string();
    let c = items[2]["id"].as_str().unwrap().to_string();
    google
        .patch("primary", &a, json!({"summary": "renamed"}))
        .await;
    google
        .patch("primary", &b, json!({"start": {"dateTime": "2030-01-01T10:00:00+01:00"}, "end": {"dateTime": "2030-01-01T11:00:00+01:00"}}))
        .await;
    google.delete("primary", &c).await;
    google
        .insert(
            "primary",
            timed(
                "new",
                "2030-02-01T10:00:00+01:00",
                "2030-02-01T11:00:00+01:00",
            ),
        )
        .await;

    let lists_before = google.count("events.list").await;
    let second = done(&s, "primary").await;
    assert!(!second.full);
    assert_eq!(second.pages, 1);
    assert_eq!(
        (
            second.counts.created,
            second.counts.updated,
            second.counts.deleted
        ),
        (1, 2, 1),
        "{second:?}"
    );
    assert_eq!(
        google.count("events.list").await - lists_before,
        1,
        "one incremental page"
    );
    assert_eq!(
        local_state(&app, "primary").await,
        google_state(&google, "primary").await
    );
    let moved: (chrono::DateTime<chrono::Utc>,) =
        sqlx::query_as("SELECT start_at FROM events WHERE external_id = $1")
            .bind(&b)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(moved.0.to_rfc3339(), "2030-01-01T09:00:00+00:00");
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_runs WHERE status = 'success'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(runs, 2);
}

#[tokio::test]
async fn recurring_masters_exceptions_and_cancelled_instances_are_stored() {
    let (google, app, s) = setup(&[]).await;
    let master = google
        .insert(
            "primary",
            json!({"summary": "weekly", "start": {"dateTime": "2030-03-04T09:00:00+01:00", "timeZone": "Europe/Paris"},
                   "end": {"dateTime": "2030-03-04T10:00:00+01:00", "timeZone": "Europe/Paris"},
                   "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=5"]}),
        )
        .await;
    let mid = master["id"].as_str().unwrap();
    done(&s, "primary").await;
    // Move the 2nd occurrence, cancel the 3rd (instance ids: <master>_<UTC start>).
    google
        .patch("primary", &format!("{mid}_20300311T080000Z"), json!({"start": {"dateTime": "2030-03-11T11:00:00+01:00"}, "end": {"dateTime": "2030-03-11T12:00:00+01:00"}}))
        .await;
    google
        .patch(
            "primary",
            &format!("{mid}_20300318T080000Z"),
            json!({"status": "cancelled"}),
        )
        .await;
    done(&s, "primary").await;

    type Row = (String, Option<Vec<String>>, Option<String>, String, bool);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT external_id, recurrence, recurring_event_id, status, deleted_at IS NOT NULL
           FROM events WHERE calendar_id = 'primary' ORDER BY external_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        rows[0].1.as_deref(),
        Some(&["RRULE:FREQ=WEEKLY;COUNT=5".to_string()][..])
    );
    let moved = rows
        .iter()
        .find(|r| r.0.ends_with("20300311T080000Z"))
        .unwrap();
    assert_eq!(moved.2.as_deref(), Some(mid));
    assert_eq!(moved.3, "confirmed");
    let cancelled = rows
        .iter()
        .find(|r| r.0.ends_with("20300318T080000Z"))
        .unwrap();
    assert_eq!((cancelled.3.as_str(), cancelled.4), ("cancelled", true));
}

#[tokio::test]
async fn a_run_killed_mid_pagination_loses_nothing_and_duplicates_nothing() {
    let (google, app, s) = setup(&[("CALSYNC__GOOGLE__PAGE_SIZE", "500")]).await;
    google.bulk_seed("primary", 3_000).await;
    done(&s, "primary").await;
    let token_before: Option<String> =
        sqlx::query_scalar("SELECT sync_token FROM sync_state WHERE calendar_id = 'primary'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    // 2,000 changes → 4 incremental pages; each page takes 300 ms at "Google".
    let items = google.list_all("primary").await;
    for e in items.iter().take(2_000) {
        google
            .patch(
                "primary",
                e["id"].as_str().unwrap(),
                json!({"summary": "changed"}),
            )
            .await;
    }
    google.set_faults(json!({"latency_ms": 300})).await;
    let s2 = s.clone();
    let task =
        tokio::spawn(async move { s2.sync_calendar("primary", Trigger::Manual, false).await });
    tokio::time::sleep(Duration::from_millis(800)).await;
    task.abort();
    let _ = task.await;
    let token_after: Option<String> =
        sqlx::query_scalar("SELECT sync_token FROM sync_state WHERE calendar_id = 'primary'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        token_before, token_after,
        "the token moves only with the last page"
    );
    google.set_faults(json!({})).await;
    // The "restarted process": the dead run's lease is left to expire (simulated), then a new run.
    sqlx::query("UPDATE sync_state SET lease_until = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let again = done(&s, "primary").await;
    assert!(!again.full);
    assert_eq!(
        local_state(&app, "primary").await,
        google_state(&google, "primary").await
    );
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE calendar_id = 'primary'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(total, 3_000, "no duplicate rows");
}

#[tokio::test]
async fn thirty_percent_injected_errors_still_converge_exactly() {
    let (google, app, s) = setup(&[("CALSYNC__GOOGLE__PAGE_SIZE", "100")]).await;
    google.bulk_seed("primary", 1_000).await;
    google
        .set_faults(json!({"seed": 7, "rate_429": 0.1, "rate_403_rate_limit": 0.1, "rate_503": 0.1, "retry_after_secs": 1}))
        .await;
    let mut runs = 0;
    loop {
        runs += 1;
        match s
            .sync_calendar("primary", Trigger::Manual, false)
            .await
            .unwrap()
        {
            Outcome::Done(_) => break,
            Outcome::Failed(_) if runs < 5 => continue,
            other => panic!("did not converge: {other:?}"),
        }
    }
    google.set_faults(json!({})).await;
    assert_eq!(
        local_state(&app, "primary").await,
        google_state(&google, "primary").await
    );
    let errors: Vec<Value> = google
        .control("GET", "/emulator/requests", Value::Null)
        .await["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| {
            r["status"]
                .as_u64()
                .is_some_and(|s| s == 429 || s == 403 || s == 503)
        })
        .collect();
    assert!(!errors.is_empty(), "faults were injected");
    // Backoff is visible in the request log: after an injected error (Retry-After: 1 s) the next
    // request of the same run waits at least that long, and consecutive failures wait longer.
    let log = google
        .control("GET", "/emulator/requests", Value::Null)
        .await["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let lists: Vec<&Value> = log
        .iter()
        .filter(|r| r["method"] == "events.list")
        .collect();
    let mut gaps_after_errors = Vec::new();
    for pair in lists.windows(2) {
        let status = pair[0]["status"].as_u64().unwrap_or(0);
        if status != 200 {
            gaps_after_errors
                .push(pair[1]["at_ms"].as_i64().unwrap() - pair[0]["at_ms"].as_i64().unwrap());
        }
    }
    assert!(!gaps_after_errors.is_empty());
    assert!(
        gaps_after_errors.iter().all(|g| *g >= 950),
        "Retry-After (1 s) honoured after every injected error: {gaps_after_errors:?}"
    );
}
