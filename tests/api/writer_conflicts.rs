//! Last-write-wins between the writer and the sync against the emulator: a 412 won locally, a newer
//! Google change winning with the manual choice restoring the local one, and a recorded conflict.

use std::time::Duration;

use serde_json::{Value, json};

use crate::writer::{env, synced_event};

#[tokio::test]
async fn a_newer_local_change_wins_a_412_and_the_google_version_is_kept_as_a_conflict() {
    let e = env().await;
    let (id, gid) = synced_event(&e).await;
    e.google
        .control(
            "PATCH",
            &format!("/emulator/calendars/primary/events/{gid}"),
            json!({"location": "Salle B"}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    sqlx::query("UPDATE events SET location = 'Salle C' WHERE id = $1")
        .bind(id)
        .execute(&e.app.pool)
        .await
        .unwrap();
    e.drain().await;
    assert_eq!(
        e.google_event(&gid).await["location"],
        "Salle C",
        "local is newer: it wins at Google"
    );
    let winner: String = sqlx::query_scalar("SELECT winner FROM conflicts")
        .fetch_one(&e.app.pool)
        .await
        .unwrap();
    assert_eq!(winner, "local");
    let lost: Value = sqlx::query_scalar("SELECT google_version FROM conflicts")
        .fetch_one(&e.app.pool)
        .await
        .unwrap();
    assert_eq!(
        lost["location"], "Salle B",
        "the loser is kept, not dropped"
    );
}

#[tokio::test]
async fn a_newer_google_change_wins_and_the_manual_choice_can_restore_the_local_one() {
    let e = env().await;
    let (id, gid) = synced_event(&e).await;
    sqlx::query("UPDATE events SET location = 'Salle L', updated_at = now() - interval '1 minute' WHERE id = $1")
        .bind(id)
        .execute(&e.app.pool)
        .await
        .unwrap();
    e.google
        .control(
            "PATCH",
            &format!("/emulator/calendars/primary/events/{gid}"),
            json!({"location": "Salle G"}),
        )
        .await;
    e.drain().await;
    let local: String = sqlx::query_scalar("SELECT location FROM events WHERE id = $1")
        .bind(id)
        .fetch_one(&e.app.pool)
        .await
        .unwrap();
    assert_eq!(local, "Salle G", "Google is newer: it wins locally");
    assert_eq!(e.google_event(&gid).await["location"], "Salle G");
    let (cid, winner): (uuid::Uuid, String) = sqlx::query_as("SELECT id, winner FROM conflicts")
        .fetch_one(&e.app.pool)
        .await
        .unwrap();
    assert_eq!(winner, "google");

    // The user picks the local version after all.
    let token = calsync::admin_auth::mint(
        "test-admin-secret-0123456789abcdef",
        "t",
        Duration::from_secs(600),
    )
    .unwrap();
    let listed: Value = e
        .app
        .client
        .get(format!("{}/api/v1/conflicts", e.app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["local"]["location"], "Salle L");
    let resp = e
        .app
        .client
        .post(format!("{}/api/v1/conflicts/{cid}/resolve", e.app.address))
        .bearer_auth(&token)
        .json(&json!({"keep": "local"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    e.drain().await;
    assert_eq!(
        e.google_event(&gid).await["location"],
        "Salle L",
        "the choice reaches Google"
    );
    assert_eq!(
        e.count("SELECT count(*) FROM conflicts WHERE resolved_at IS NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn a_google_change_meeting_an_older_pending_local_change_is_recorded() {
    let e = env().await;
    let (id, gid) = synced_event(&e).await;
    sqlx::query("UPDATE events SET summary = 'Local title', updated_at = now() - interval '1 minute' WHERE id = $1")
        .bind(id)
        .execute(&e.app.pool)
        .await
        .unwrap();
    e.google
        .control(
            "PATCH",
            &format!("/emulator/calendars/primary/events/{gid}"),
            json!({"summary": "Google title"}),
        )
        .await;
    // The push-triggered sync runs before the writer got to the local change.
    e.sync().await;
    let summary: String = sqlx::query_scalar("SELECT summary FROM events WHERE id = $1")
        .bind(id)
        .fetch_one(&e.app.pool)
        .await
        .unwrap();
    assert_eq!(summary, "Google title");
    assert_eq!(
        e.count("SELECT count(*) FROM conflicts WHERE winner = 'google'")
            .await,
        1
    );
    assert_eq!(
        e.count("SELECT count(*) FROM outbox").await,
        0,
        "the losing local change is not pushed"
    );
}
