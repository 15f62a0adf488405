//! Stopping the server: requests and background loops together within `shutdown_grace_secs`, the
//! loops still busy then (a sync run waiting on Google) aborted.

use std::time::{Duration, Instant};

use calsync_testkit::{Google, database_url, start_synced_app, wait_for};
use serde_json::json;
use sqlx::{Connection, PgConnection};

#[tokio::test]
async fn a_sync_run_stuck_on_a_slow_google_does_not_hold_up_shutdown() {
    let google = Google::start().await;
    // Every Google answer takes a minute: the startup sync run (and the channel renewal) hang on it.
    google.set_faults(json!({"latency_ms": 60_000})).await;
    // The test settings give a 1 s grace.
    let (app, server) = start_synced_app(&google, &[]).await;
    wait_for(
        "a sync run waiting on Google",
        Duration::from_secs(20),
        || async { google.count("events.list").await >= 1 },
    )
    .await;
    let asked = Instant::now();
    app.shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(20), server).await;
    let took = asked.elapsed();
    assert!(
        stopped.is_ok(),
        "still running {took:?} after shutdown was asked"
    );
    // 1 s grace, then the aborts (at most 1 s), the re-marking (2 s) and the pool (3 s) at most.
    assert!(took < Duration::from_secs(8), "shutdown took {took:?}");
    // The runs cut short are queued again (their claim had cleared `pending`).
    let mut db = PgConnection::connect(&database_url(&app.db_name))
        .await
        .unwrap();
    let idle: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_state WHERE NOT pending")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(idle, 0, "an interrupted calendar left idle");
}
