//! A full listing held up by retries (Google answering 429) still reconciles by when Google
//! answered, not by when the run began: an event calsync wrote to Google, then deleted there, both
//! while the listing waited out its backoff, is gone locally after the listing (found by the
//! convergence suite over three accounts: a quota exhausted held a full sync for seconds).

use std::time::Duration;

use calsync::sync::Trigger;
use serde_json::json;

use crate::writer::env;

#[tokio::test]
async fn a_full_listing_delayed_by_retries_reconciles_by_when_google_answered() {
    let e = env().await;
    // Every call answers 429 for now, with a Retry-After of one second.
    e.google
        .set_faults(json!({"rate_429": 1.0, "retry_after_secs": 1}))
        .await;
    let syncer = e.syncer.clone();
    let run =
        tokio::spawn(async move { syncer.sync_calendar("primary", Trigger::Manual, true).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // While the listing waits: Google answers again, a local event reaches it and is deleted there.
    e.google.set_faults(json!({})).await;
    let id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO events (calendar_id, summary, start_at, end_at)
         VALUES ('primary', 'short-lived', now() + interval '1 day', now() + interval '1 day 1 hour')
         RETURNING id",
    )
    .fetch_one(&e.app.pool)
    .await
    .expect("a local insert");
    assert_eq!(e.drain().await.written, 1, "the insert reached Google");
    let gid: String = sqlx::query_scalar("SELECT external_id FROM events WHERE id = $1")
        .bind(id)
        .fetch_one(&e.app.pool)
        .await
        .expect("its Google id");
    e.google.delete("primary", &gid).await;

    let outcome = run.await.expect("the run").expect("the database");
    assert!(
        matches!(outcome, calsync::sync::Outcome::Done(ref r) if r.full),
        "{outcome:?}"
    );
    let deleted: bool =
        sqlx::query_scalar("SELECT deleted_at IS NOT NULL FROM events WHERE id = $1")
            .bind(id)
            .fetch_one(&e.app.pool)
            .await
            .expect("the row");
    assert!(
        deleted,
        "deleted at Google before the listing answered: deleted here too"
    );
}
