//! The pending queue's share per account (issue 20): the sync worker's claim lists at most an
//! account's free share of `RUNS_PER_ACCOUNT` (the cap less its runs in flight), and none of an
//! account at its cap, so that account's calendars never take the free slots (their claims would
//! fail at once, over and over) while another account's pushed calendar waits.

use calsync::db::calendars;
use calsync::db::sync_state::{RUNS_PER_ACCOUNT, pending_calendars};
use calsync_testkit::spawn_app;
use sqlx::PgPool;

/// Gives `key` a live lease, as a run in flight holds it.
async fn running(pool: &PgPool, key: &str) {
    sqlx::query(
        "UPDATE sync_state SET lease_owner = gen_random_uuid(), lease_until = now() + interval '1 minute',
                pending = FALSE
          WHERE calendar_id = $1",
    )
    .bind(key)
    .execute(pool)
    .await
    .expect("lease");
}

async fn listed(pool: &PgPool) -> (Vec<String>, Vec<String>) {
    let (ready, _) = pending_calendars(pool).await.expect("pending calendars");
    ready.into_iter().partition(|k| k.starts_with("storm:"))
}

#[tokio::test]
async fn an_account_gets_its_free_share_of_the_queue_and_none_at_its_cap() {
    // Workers off: nothing claims behind the test's back.
    let app = spawn_app().await;
    let pool = &app.pool;
    sqlx::query("UPDATE sync_state SET pending = FALSE")
        .execute(pool)
        .await
        .expect("the sample calendars idle");
    for k in 0..6 {
        let id = format!("c{k}");
        calendars::add(pool, "storm", &id, &id, "medecin", None)
            .await
            .expect("a calendar of storm");
    }
    calendars::add(pool, "quiet", "primary", "quiet", "chercheur", None)
        .await
        .expect("a calendar of quiet");

    // Nothing in flight: the cap's worth of storm's six pending calendars, and quiet's.
    let (storm, quiet) = listed(pool).await;
    assert_eq!(storm.len() as i64, RUNS_PER_ACCOUNT, "{storm:?}");
    assert_eq!(quiet, ["quiet:primary"]);

    // One of storm's runs in flight: the rest of its share.
    running(pool, "storm:c0").await;
    let (storm, quiet) = listed(pool).await;
    assert_eq!(storm.len() as i64, RUNS_PER_ACCOUNT - 1, "{storm:?}");
    assert!(!storm.contains(&"storm:c0".to_string()));
    assert_eq!(quiet, ["quiet:primary"]);

    // storm at its cap: none of its calendars, quiet's still.
    for k in 1..RUNS_PER_ACCOUNT {
        running(pool, &format!("storm:c{k}")).await;
    }
    let (storm, quiet) = listed(pool).await;
    assert!(storm.is_empty(), "{storm:?}");
    assert_eq!(quiet, ["quiet:primary"]);

    // A lease that lapsed (its replica died) is no run in flight.
    sqlx::query("UPDATE sync_state SET lease_until = now() - interval '1 second' WHERE calendar_id = 'storm:c0'")
        .execute(pool)
        .await
        .expect("lapse");
    let (storm, _) = listed(pool).await;
    assert_eq!(storm.len(), 1, "{storm:?}");
}
