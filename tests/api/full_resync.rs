//! Full resyncs against the emulator: a 410 recovers through a full listing that reconciles
//! deletions, and a listing limited by sync_range leaves the rows outside its window alone.

use std::sync::Arc;

use serde_json::json;

use crate::sync_engine::{done, google_state, local_state, setup, timed};

#[tokio::test]
async fn a_410_recovers_through_a_full_resync_that_reconciles_deletions() {
    let (google, app, s) = setup(&[]).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let e = google
            .insert(
                "primary",
                timed(
                    &format!("e{i}"),
                    "2030-01-01T10:00:00Z",
                    "2030-01-01T11:00:00Z",
                ),
            )
            .await;
        ids.push(e["id"].as_str().unwrap().to_string());
    }
    done(&s, "primary").await;
    google.delete("primary", &ids[0]).await;
    google
        .patch("primary", &ids[1], json!({"summary": "after"}))
        .await;
    google.invalidate_sync_tokens().await;
    let r = done(&s, "primary").await;
    assert!(r.full, "410 must turn into a full resync");
    assert_eq!(r.counts.deleted, 1);
    assert_eq!(
        local_state(&app, "primary").await,
        google_state(&google, "primary").await
    );
    // And the next run is incremental again.
    assert!(!done(&s, "primary").await.full);
}

#[tokio::test]
async fn a_full_resync_limited_by_sync_range_leaves_rows_outside_the_window_alone() {
    let (google, app, s) = setup(&[]).await;
    let at = |days: i64| (chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339();
    let old = google
        .insert(
            "primary",
            timed("old", "2020-01-01T10:00:00Z", "2020-01-01T11:00:00Z"),
        )
        .await;
    let far = google
        .insert(
            "primary",
            json!({"summary": "far", "start": {"date": "2040-06-01"}, "end": {"date": "2040-06-02"}}),
        )
        .await;
    let kept = google
        .insert("primary", timed("kept", &at(1), &at(2)))
        .await;
    let gone = google
        .insert("primary", timed("gone", &at(3), &at(4)))
        .await;
    // Imported without a range; then the operator limits the sync to ±30 days.
    done(&s, "primary").await;
    assert_eq!(local_state(&app, "primary").await.len(), 4);
    let mut settings = app.settings.clone();
    settings.google_calendar.sync_range = Some(calsync::config::SyncRange {
        past_days: 30,
        future_days: 30,
    });
    let ranged = calsync::startup::build_syncer(
        Arc::new(settings),
        app.pool.clone(),
        None,
        calsync::metrics::Metrics::new(),
        Arc::new(calsync::sync::alerts::LogAlerts),
    )
    .await
    .expect("syncer");
    google.delete("primary", gone["id"].as_str().unwrap()).await;
    google.invalidate_sync_tokens().await;
    let r = done(&ranged, "primary").await;
    assert!(r.full, "410 must turn into a full resync");
    assert_eq!(r.counts.deleted, 1, "only the deletion inside the window");
    let live: Vec<String> = local_state(&app, "primary")
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut want: Vec<String> = [&old, &far, &kept]
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    want.sort();
    assert_eq!(live, want, "rows outside the window survive the resync");
}
