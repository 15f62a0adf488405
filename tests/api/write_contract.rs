//! The events table's write contract for plain SQL: role resolution, outbox for local writes only, soft deletes.

use calsync_testkit::spawn_app;

#[tokio::test]
async fn a_plain_sql_insert_by_role_is_queued_for_google() {
    let app = spawn_app().await;
    let id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO events (casquette, summary, start_at, end_at)
         VALUES ('enseignant', 'x', now(), now() + interval '1 hour') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (cal, origin): (String, String) =
        sqlx::query_as("SELECT calendar_id, origin FROM events WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(cal, "CALENDAR_ID_ENSEIGNANT");
    assert_eq!(origin, "local");
    let generation: i64 = sqlx::query_scalar("SELECT generation FROM outbox WHERE event_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let first = generation;

    // A second local change coalesces into the same outbox row, under a later generation.
    sqlx::query("UPDATE events SET location = 'y' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    let generation: i64 = sqlx::query_scalar("SELECT generation FROM outbox WHERE event_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(generation > first, "{generation} after {first}");
    assert_eq!(count_outbox(&app, id).await, 1);

    // Completed, then changed again: the new entry never reuses a generation, so a job still
    // holding an old one (a writer settling a conflict) cannot complete the new entry by mistake.
    sqlx::query("DELETE FROM outbox WHERE event_id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE events SET location = 'z' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    let again: i64 = sqlx::query_scalar("SELECT generation FROM outbox WHERE event_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        again > generation,
        "{again} reuses an old generation ({generation})"
    );
}

async fn count_outbox(app: &calsync_testkit::TestApp, id: uuid::Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE event_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn writes_marked_as_from_google_never_enter_the_outbox() {
    let app = spawn_app().await;
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("SET LOCAL calsync.origin = 'google'")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO events (calendar_id, external_id, summary, start_at, end_at)
         VALUES ('primary', 'abcde12345', 'x', now(), now() + interval '1 hour')",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(queued, 0);
    let origin: String =
        sqlx::query_scalar("SELECT origin FROM events WHERE external_id = 'abcde12345'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(origin, "google");
}

#[tokio::test]
async fn a_plain_delete_of_a_google_event_becomes_a_soft_delete() {
    let app = spawn_app().await;
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("SET LOCAL calsync.origin = 'google'")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO events (calendar_id, external_id, summary, start_date, end_date)
         VALUES ('primary', 'ggggg00001', 'x', '2026-02-17', '2026-02-18')",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("DELETE FROM events WHERE external_id = 'ggggg00001'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (deleted, status): (bool, String) = sqlx::query_as(
        "SELECT deleted_at IS NOT NULL, status FROM events WHERE external_id = 'ggggg00001'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(deleted);
    assert_eq!(status, "cancelled");
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(queued, 1, "the deletion must be queued for Google");
}

#[tokio::test]
async fn an_unknown_role_is_refused_by_the_database() {
    let app = spawn_app().await;
    let err = sqlx::query(
        "INSERT INTO events (casquette, summary, start_at, end_at) VALUES ('pilote', 'x', now(), now())",
    )
    .execute(&app.pool)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("pilote"), "{err}");
}

#[tokio::test]
async fn an_event_cannot_move_to_another_calendar_with_plain_sql() {
    let app = spawn_app().await;
    let id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO events (casquette, summary, start_at, end_at)
         VALUES ('enseignant', 'x', now(), now() + interval '1 hour') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    for (sql, what) in [
        (
            "UPDATE events SET calendar_id = 'primary' WHERE id = $1",
            "another calendar",
        ),
        (
            "UPDATE events SET casquette = 'medecin' WHERE id = $1",
            "casquette is its calendar's (enseignant)",
        ),
    ] {
        let err = sqlx::query(sql)
            .bind(id)
            .execute(&app.pool)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(what), "{err}");
    }
    let (cal, role): (String, String) =
        sqlx::query_as("SELECT calendar_id, casquette FROM events WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (cal.as_str(), role.as_str()),
        ("CALENDAR_ID_ENSEIGNANT", "enseignant")
    );
    // Setting the calendar's own role (after a role change in the config) is allowed.
    sqlx::query("UPDATE events SET casquette = 'enseignant', location = 'b' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
}
