//! Last-write-wins at the edges the convergence suite found: calsync's own write landing at Google
//! after a newer local change, an insert whose answer was lost meeting the sync first, and a 409 whose
//! Google copy was deleted since.

use std::time::Duration;

use serde_json::json;

use crate::writer::{consult, env, synced_event};

async fn deleted_locally(e: &crate::writer::Env, id: uuid::Uuid) -> bool {
    sqlx::query_scalar("SELECT deleted_at IS NOT NULL FROM events WHERE id = $1")
        .bind(id)
        .fetch_one(&e.app.pool)
        .await
        .unwrap()
}

/// A local insert whose first attempt reached Google (under the client-chosen id) unacknowledged.
async fn insert_with_lost_answer(e: &crate::writer::Env) -> (uuid::Uuid, String) {
    let created = e.api_post(consult()).await;
    let id: uuid::Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let gid = id.simple().to_string();
    e.google
        .control("POST", "/emulator/calendars/primary/events", json!({"id": gid, "summary": "Consultation",
            "location": "Cabinet",
            "start": {"dateTime": "2030-02-17T13:00:00Z"}, "end": {"dateTime": "2030-02-17T14:00:00Z"}}))
        .await;
    (id, gid)
}

#[tokio::test]
async fn calsyncs_own_slow_write_does_not_undo_a_newer_local_delete() {
    let e = env().await;
    let (id, gid) = synced_event(&e).await;
    sqlx::query("UPDATE events SET summary = 'Consultation (moved)' WHERE id = $1")
        .bind(id)
        .execute(&e.app.pool)
        .await
        .unwrap();
    // The patch for that edit is slow: the user deletes the event while it is in flight, so the
    // patch lands at Google (newer `updated`) after the deletion was made.
    e.google.set_faults(json!({"latency_ms": 400})).await;
    let delete_meanwhile = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        sqlx::query("UPDATE events SET deleted_at = now() WHERE id = $1")
            .bind(id)
            .execute(&e.app.pool)
            .await
            .unwrap();
    };
    let (pass, ()) = tokio::join!(e.writer.run_once(), delete_meanwhile);
    assert_eq!(pass.unwrap().written, 1, "the edit reached Google");
    e.google.set_faults(json!({})).await;
    assert_eq!(
        e.google_event(&gid).await["summary"],
        "Consultation (moved)",
        "Google now holds the edit, stamped later than the deletion"
    );

    // Google's notification of that edit must not bring the event back: the deletion is newer than
    // the local change the edit came from.
    e.sync().await;
    assert!(
        deleted_locally(&e, id).await,
        "the sync resurrected a newer local delete"
    );
    e.drain().await;
    assert!(
        e.google_event(&gid).await.is_null(),
        "the deletion reached Google"
    );
    assert!(deleted_locally(&e, id).await);
    assert_eq!(e.count("SELECT count(*) FROM outbox").await, 0);
}

#[tokio::test]
async fn an_insert_whose_answer_was_lost_is_bound_to_its_row_by_the_sync() {
    let e = env().await;
    // The first attempt reached Google (under the client-chosen id) but calsync never heard back;
    // the push for it arrives before the writer retries.
    let (id, gid) = insert_with_lost_answer(&e).await;
    e.sync().await;
    assert_eq!(
        e.count("SELECT count(*) FROM events").await,
        1,
        "the sync must not import calsync's own insert as a second row"
    );
    let bound: Option<String> = sqlx::query_scalar("SELECT external_id FROM events WHERE id = $1")
        .bind(id)
        .fetch_one(&e.app.pool)
        .await
        .unwrap();
    assert_eq!(bound.as_deref(), Some(gid.as_str()));
    e.drain().await;
    assert_eq!(e.count("SELECT count(*) FROM outbox").await, 0);
    let copies = e
        .google
        .list_all("primary")
        .await
        .into_iter()
        .filter(|x| x["summary"] == "Consultation")
        .count();
    assert_eq!(copies, 1, "one event at Google");
    assert!(!deleted_locally(&e, id).await);
}

#[tokio::test]
async fn a_409_whose_google_copy_was_deleted_since_settles_by_last_write_wins() {
    let e = env().await;
    // The first attempt got through unacknowledged, then the user deleted it in Google Calendar.
    let (id, gid) = insert_with_lost_answer(&e).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    e.google.delete("primary", &gid).await;
    // The retried insert meets 409; Google's deletion is newer than the local insert, so it wins:
    // the row is deleted locally, nothing is brought back at Google, the loser is kept.
    e.drain().await;
    assert!(
        e.google_event(&gid).await.is_null(),
        "not resurrected at Google"
    );
    assert!(
        deleted_locally(&e, id).await,
        "Google's newer deletion applied locally"
    );
    assert_eq!(e.count("SELECT count(*) FROM outbox").await, 0);
    assert_eq!(
        e.count("SELECT count(*) FROM conflicts WHERE winner = 'google'")
            .await,
        1
    );
}
