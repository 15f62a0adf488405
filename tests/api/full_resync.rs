//! Full resyncs against the emulator: a 410 recovers through a full listing that reconciles
//! deletions, a listing limited by sync_range leaves the rows outside its window alone, and a row
//! bound to its Google id while a listing runs survives its reconcile.

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

/// An insert that reached Google unacknowledged is bound to its Google id by the writer (the 409
/// path) while a full resync is listing. The listing began before Google stamped the event, so it
/// cannot hold it, and its reconcile must spare the row: the bind stores Google's `updated`. The
/// convergence suite's seed 184 lost such a row, here and not at Google, when the bind left the
/// stamp empty. A row Google stamped before the listing began, and that the listing did not hold,
/// is gone at Google and goes here too.
#[tokio::test]
async fn a_row_bound_to_its_google_id_during_a_full_listing_survives_its_reconcile() {
    use calsync::db::from_google::{self, GoogleTx};
    use chrono::{Duration, SubsecRound, Utc};

    let (_google, app, _s) = setup(&[]).await;
    let local = |summary: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, uuid::Uuid>(
                "INSERT INTO events (calendar_id, summary, start_at, end_at)
                 VALUES ('primary', $1, '2030-01-01 10:00+00', '2030-01-01 11:00+00') RETURNING id",
            )
            .bind(summary)
            .fetch_one(&pool)
            .await
            .expect("a plain-SQL insert")
        }
    };
    let (fresh, stale) = (local("fresh").await, local("stale").await);
    // PostgreSQL keeps microseconds.
    let listing_started = Utc::now().trunc_subsecs(6);
    let mut tx = GoogleTx::begin(&app.pool).await.expect("a transaction");
    let after = Some(listing_started + Duration::seconds(1));
    let before = Some(listing_started - Duration::hours(1));
    from_google::bind_google_id(&mut tx, fresh, "freshgoogleid", after)
        .await
        .expect("bind");
    from_google::bind_google_id(&mut tx, stale, "stalegoogleid", before)
        .await
        .expect("bind");
    let gone = from_google::soft_delete_unlisted(&mut tx, "primary", &[], listing_started, None)
        .await
        .expect("reconcile");
    tx.commit().await.expect("commit");
    assert_eq!(gone, 1, "only the row stamped before the listing began");
    let live: Vec<(String, Option<chrono::DateTime<Utc>>)> = sqlx::query_as(
        "SELECT external_id, google_updated FROM events WHERE deleted_at IS NULL ORDER BY summary",
    )
    .fetch_all(&app.pool)
    .await
    .expect("rows");
    assert_eq!(live, vec![("freshgoogleid".to_string(), after)]);
}
