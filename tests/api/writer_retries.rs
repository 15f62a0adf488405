//! PostgreSQL → Google when an answer is lost: a retried patch that meets its own earlier attempt,
//! and a retried insert bound to its Google id whose settling was cut short.

use std::time::Duration;

use calsync::db::from_google::{self, GoogleTx};
use serde_json::{Value, json};

use crate::writer::{consult, env_with};

#[tokio::test]
async fn a_patch_whose_answer_times_out_is_retried_without_a_spurious_conflict() {
    let e = env_with(&[("CALSYNC__GOOGLE__REQUEST_TIMEOUT_SECS", "1")]).await;
    let created = e.api_post(consult()).await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(e.drain().await.written, 1);
    sqlx::query("UPDATE events SET summary = 'moved' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&e.app.pool)
        .await
        .unwrap();
    // Google applies the patch but answers after calsync's 1 s timeout; the retry's If-Match then
    // names the etag the first attempt replaced: 412.
    e.google
        .set_faults(json!({"response_delay_ms": 1500}))
        .await;
    let w = e.writer.clone();
    let pass = tokio::spawn(async move { w.run_once().await.unwrap() });
    tokio::time::sleep(Duration::from_millis(1200)).await;
    e.google.set_faults(json!({})).await;
    let pass = pass.await.unwrap();
    assert_eq!((pass.written, pass.retried), (1, 0), "{pass:?}");
    let patches = e
        .google
        .control("GET", "/emulator/requests", serde_json::Value::Null)
        .await["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "events.patch")
        .count();
    assert!(patches >= 2, "the patch was retried ({patches})");
    assert_eq!(
        e.count("SELECT count(*) FROM conflicts").await,
        0,
        "Google holds this very change: nothing to settle"
    );
    let google_id = id.replace('-', "");
    let at_google = e.google_event(&google_id).await;
    assert_eq!(at_google["summary"], "moved");
    let (summary, etag): (String, Option<String>) =
        sqlx::query_as("SELECT summary, etag FROM events WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&e.app.pool)
            .await
            .unwrap();
    assert_eq!(summary, "moved");
    assert_eq!(
        etag.as_deref(),
        at_google["etag"].as_str(),
        "the row holds Google's etag"
    );
    assert_eq!(e.count("SELECT count(*) FROM outbox").await, 0);
}

#[tokio::test]
async fn a_late_answer_never_rolls_back_a_newer_google_version_the_sync_stored() {
    let e = env_with(&[]).await;
    let created = e.api_post(consult()).await;
    let id: uuid::Uuid = created["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(e.drain().await.written, 1);
    // The answer the writer got for its write, kept aside as if it arrived late.
    let answer: serde_json::Value = sqlx::query_scalar("SELECT raw FROM events WHERE id = $1")
        .bind(id)
        .fetch_one(&e.app.pool)
        .await
        .unwrap();
    // Meanwhile someone edits the event at Google and the sync stores that newer version.
    tokio::time::sleep(Duration::from_millis(20)).await;
    e.google
        .patch(
            "primary",
            &id.simple().to_string(),
            json!({"summary": "edited at google"}),
        )
        .await;
    e.sync().await;
    let newer: Option<String> = sqlx::query_scalar("SELECT etag FROM events WHERE id = $1")
        .bind(id)
        .fetch_one(&e.app.pool)
        .await
        .unwrap();
    assert_ne!(newer.as_deref(), answer["etag"].as_str());
    // The late answer is adopted: it must not take the row back to the older etag and JSON.
    let job = calsync::db::outbox::Job {
        event_id: id,
        calendar_id: "primary".into(),
        generation: 0,
        attempts: 0,
    };
    let local = calsync::writer::process::load(&e.app.pool, &job)
        .await
        .unwrap()
        .unwrap();
    calsync::writer::process::adopt(&e.app.pool, &local, &answer)
        .await
        .unwrap();
    let (etag, summary): (Option<String>, String) =
        sqlx::query_as("SELECT etag, raw->>'summary' FROM events WHERE id = $1")
            .bind(id)
            .fetch_one(&e.app.pool)
            .await
            .unwrap();
    assert_eq!(etag, newer, "the newer etag stays");
    assert_eq!(summary, "edited at google");
}

#[tokio::test]
async fn an_insert_bound_without_an_etag_never_revives_an_event_deleted_at_google() {
    let e = crate::writer::env().await;
    let created = e.api_post(consult()).await;
    let id = created["id"].as_str().unwrap().to_string();
    let google_id = id.replace('-', "");
    // The insert reached Google but its answer was lost; the user then deleted it at Google.
    let event = format!("/emulator/calendars/primary/events/{google_id}");
    e.google
        .control("POST", "/emulator/calendars/primary/events", json!({"id": google_id,
            "summary": "Consultation", "location": "Cabinet",
            "start": {"dateTime": "2030-02-17T13:00:00Z"}, "end": {"dateTime": "2030-02-17T14:00:00Z"}}))
        .await;
    e.google.control("DELETE", &event, Value::Null).await;
    let deleted = e.google.control("GET", &event, Value::Null).await;
    assert_eq!(deleted["status"], "cancelled");
    let deleted_at = deleted["updated"].as_str().unwrap().parse().ok();
    // A retried insert met 409 and bound the row to that id (no etag), and the rest of its
    // settling was cut short (a database restart): the outbox entry is still pending.
    let mut tx = GoogleTx::begin(&e.app.pool).await.unwrap();
    from_google::bind_google_id(&mut tx, id.parse().unwrap(), &google_id, deleted_at)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    e.drain().await;
    let at_google = e.google.control("GET", &event, Value::Null).await;
    assert_eq!(
        at_google["status"], "cancelled",
        "the retry revived the event deleted at Google: {at_google}"
    );
    let deleted_here = e
        .count(&format!(
            "SELECT count(*) FROM events WHERE id = '{id}' AND deleted_at IS NOT NULL"
        ))
        .await;
    assert_eq!(deleted_here, 1, "Google's later deletion wins here too");
    assert_eq!(
        e.count("SELECT count(*) FROM conflicts WHERE winner = 'google'")
            .await,
        1,
        "the local version is kept as the loser"
    );
}

#[tokio::test]
async fn deleting_a_row_bound_without_an_etag_whose_event_google_no_longer_has_is_done() {
    let e = crate::writer::env().await;
    let created = e.api_post(consult()).await;
    let id = created["id"].as_str().unwrap().to_string();
    // Bound to its Google id by a retried insert, and gone at Google since (never stored there,
    // or purged): then deleted here.
    let mut tx = GoogleTx::begin(&e.app.pool).await.unwrap();
    from_google::bind_google_id(&mut tx, id.parse().unwrap(), &id.replace('-', ""), None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("DELETE FROM events WHERE id = $1::uuid")
        .bind(&id)
        .execute(&e.app.pool)
        .await
        .unwrap();
    let pass = e.drain().await;
    assert_eq!(
        (pass.written, pass.retried, pass.parked),
        (1, 0, 0),
        "{pass:?}"
    );
    assert_eq!(e.count("SELECT count(*) FROM outbox").await, 0);
}
