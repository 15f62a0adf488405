//! Upgrade: a database built by the previous release's migrations, with rows in it, is migrated by
//! calsync at startup and keeps syncing both ways with the sample config unchanged.

use std::time::Duration;

use calsync_testkit::{Google, TestApp, create_database, test_settings, wait_for};
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

/// The last migration of the previous release (`20261202000012_stored_accounts.sql`).
const PREVIOUS_RELEASE: i64 = 20261202000012;
const WAIT: Duration = Duration::from_secs(30);

async fn versions(pool: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(pool)
        .await
        .expect("read _sqlx_migrations")
}

/// (calendar, count) of the live rows holding this Google id.
async fn rows_of(pool: &PgPool, external_id: &str) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT calendar_id, count(*) FROM events WHERE external_id = $1 AND deleted_at IS NULL
         GROUP BY calendar_id ORDER BY calendar_id",
    )
    .bind(external_id)
    .fetch_all(pool)
    .await
    .expect("read events by Google id")
}

/// A Google event arrives as exactly one live row, on `cal`.
async fn stored_once(pool: &PgPool, external_id: &str, cal: &str) {
    wait_for(
        &format!("Google event {external_id} stored"),
        WAIT,
        || async { !rows_of(pool, external_id).await.is_empty() },
    )
    .await;
    assert_eq!(rows_of(pool, external_id).await, [(cal.to_string(), 1)]);
}

/// Live events at Google on `cal` with this summary.
async fn at_google(google: &Google, cal: &str, summary: &str) -> Vec<Value> {
    google
        .list_all(cal)
        .await
        .into_iter()
        .filter(|e| e["status"] != "cancelled" && e["summary"] == summary)
        .collect()
}

/// A local row reached Google: it has its Google id, nothing is left in the outbox for it, and
/// Google holds it exactly once, under that id.
async fn reached_google_once(app: &TestApp, google: &Google, cal: &str, summary: &str) {
    wait_for(&format!("{summary:?} written to Google"), WAIT, || async {
        let pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events e WHERE summary = $1
               AND (external_id IS NULL OR EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = e.id))",
        )
        .bind(summary)
        .fetch_one(&app.pool)
        .await
        .expect("read the local row");
        pending == 0
    })
    .await;
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT external_id, calendar_id FROM events WHERE summary = $1")
            .bind(summary)
            .fetch_all(&app.pool)
            .await
            .expect("read the local row");
    let [(external_id, calendar_id)] = rows.as_slice() else {
        panic!("{summary:?}: one row expected (no echo copy), got {rows:?}");
    };
    assert_eq!(calendar_id, cal, "{summary:?} is on its role's calendar");
    let copies = at_google(google, cal, summary).await;
    assert_eq!(
        copies.len(),
        1,
        "{summary:?} at Google exactly once: {copies:?}"
    );
    assert_eq!(copies[0]["id"], external_id.as_str());
}

fn timed(summary: &str, day: &str) -> Value {
    json!({"summary": summary,
           "start": {"dateTime": format!("{day}T10:00:00Z")},
           "end": {"dateTime": format!("{day}T11:00:00Z")}})
}

#[tokio::test]
async fn a_previous_release_database_with_rows_migrates_and_keeps_syncing() {
    let google = Google::start().await;
    let (db_url, db_name) = create_database().await;
    let seed = PgPool::connect(&db_url)
        .await
        .expect("connect to the new database");

    // The previous release's schema: the embedded migrations up to PREVIOUS_RELEASE, and only those.
    let previous: Vec<_> = calsync::db::MIGRATOR
        .iter()
        .filter(|m| m.version <= PREVIOUS_RELEASE)
        .cloned()
        .collect();
    let expected: Vec<i64> = previous.iter().map(|m| m.version).collect();
    assert_eq!(expected.last(), Some(&PREVIOUS_RELEASE), "{expected:?}");
    Migrator::with_migrations(previous)
        .run(&seed)
        .await
        .expect("the previous release's migrations apply");
    assert_eq!(versions(&seed).await, expected);

    // What the previous release stored for the sample config: its calendars and their sync state.
    let settings = test_settings(&db_url, &[]);
    let calendars: Vec<(String, String)> = settings
        .google_calendar
        .calendars
        .iter()
        .map(|c| (c.id.clone(), c.casquette.clone()))
        .collect();
    for c in &settings.google_calendar.calendars {
        sqlx::query("INSERT INTO calendars (id, name, casquette, color) VALUES ($1, $2, $3, $4)")
            .bind(&c.id)
            .bind(&c.name)
            .bind(&c.casquette)
            .bind(&c.color)
            .execute(&seed)
            .await
            .expect("an old-shaped calendar row");
        sqlx::query("INSERT INTO sync_state (calendar_id) VALUES ($1)")
            .bind(&c.id)
            .execute(&seed)
            .await
            .expect("an old-shaped sync_state row");
    }

    // Events at Google: one the old release had already synced (its row written as the sync engine
    // writes, `calsync.origin = 'google'`), one it had not seen yet.
    let synced = google
        .insert("primary", timed("Consultation", "2030-03-01"))
        .await;
    let unseen = google
        .insert("CALENDAR_ID_ENSEIGNANT", timed("Cours", "2030-03-02"))
        .await;
    let synced_id = synced["id"].as_str().expect("a Google id").to_string();
    let unseen_id = unseen["id"].as_str().expect("a Google id").to_string();
    let mut tx = seed.begin().await.expect("a transaction");
    sqlx::query("SET LOCAL calsync.origin = 'google'")
        .execute(&mut *tx)
        .await
        .expect("mark the write as from Google");
    sqlx::query(
        "INSERT INTO events (calendar_id, casquette, external_id, summary, start_at, end_at, etag,
                             google_updated, raw)
         VALUES ('primary', 'medecin', $1, 'Consultation', $2::timestamptz, $3::timestamptz, $4,
                 $5::timestamptz, $6)",
    )
    .bind(&synced_id)
    .bind(synced["start"]["dateTime"].as_str())
    .bind(synced["end"]["dateTime"].as_str())
    .bind(synced["etag"].as_str())
    .bind(synced["updated"].as_str())
    .bind(&synced)
    .execute(&mut *tx)
    .await
    .expect("an already-synced row");
    tx.commit().await.expect("commit the synced row");

    // A local row written with plain SQL by role only, which the old triggers queue for Google.
    sqlx::query(
        "INSERT INTO events (casquette, summary, start_at, end_at)
         VALUES ('medecin', 'Garde (avant)', '2030-03-03T08:00:00Z', '2030-03-03T09:00:00Z')",
    )
    .execute(&seed)
    .await
    .expect("a plain SQL insert by casquette under the old schema");
    let queued: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox o JOIN events e ON e.id = o.event_id
          WHERE e.summary = 'Garde (avant)' AND o.calendar_id = 'primary'",
    )
    .fetch_one(&seed)
    .await
    .expect("read the outbox");
    assert_eq!(queued, 1, "the old triggers queue the local row");
    assert_eq!(versions(&seed).await, expected, "calsync has not run yet");
    seed.close().await;

    // The new release starts on that database, with the sample config as it is.
    let app = TestApp::builder()
        .synced_to(&google)
        .on_database(&db_url, &db_name)
        .spawn()
        .await;
    let all: Vec<i64> = calsync::db::MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(
        versions(&app.pool).await,
        all,
        "every embedded migration applied"
    );

    // The queued local row reaches Google once; Google's events are rows, once, on their calendar.
    reached_google_once(&app, &google, "primary", "Garde (avant)").await;
    stored_once(&app.pool, &unseen_id, "CALENDAR_ID_ENSEIGNANT").await;
    stored_once(&app.pool, &synced_id, "primary").await;

    // A change at Google after the upgrade arrives by push.
    wait_for("a live channel per calendar", WAIT, || async {
        let live: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT calendar_id) FROM watch_channels WHERE state = 'active'",
        )
        .fetch_one(&app.pool)
        .await
        .expect("read watch_channels");
        live == calendars.len() as i64
    })
    .await;
    wait_for("all calendars idle", WAIT, || async {
        let busy: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sync_state WHERE pending OR lease_owner IS NOT NULL",
        )
        .fetch_one(&app.pool)
        .await
        .expect("read sync_state");
        busy == 0
    })
    .await;
    let pushed = google
        .insert("CALENDAR_ID_CHERCHEUR", timed("Séminaire", "2030-03-04"))
        .await;
    let pushed_id = pushed["id"].as_str().expect("a Google id").to_string();
    stored_once(&app.pool, &pushed_id, "CALENDAR_ID_CHERCHEUR").await;
    let trigger: String = sqlx::query_scalar(
        "SELECT trigger FROM sync_runs WHERE calendar_id = 'CALENDAR_ID_CHERCHEUR'
          ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("a sync run brought the change");
    assert_eq!(trigger, "push");

    // A new plain SQL insert by role only still works and reaches Google.
    sqlx::query(
        "INSERT INTO events (casquette, summary, start_at, end_at)
         VALUES ('enseignant', 'Jury (après)', '2030-03-05T14:00:00Z', '2030-03-05T16:00:00Z')",
    )
    .execute(&app.pool)
    .await
    .expect("a plain SQL insert by casquette after the upgrade");
    reached_google_once(&app, &google, "CALENDAR_ID_ENSEIGNANT", "Jury (après)").await;

    // The calendars kept their ids (and roles), and no other calendar row appeared.
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT id, casquette FROM calendars ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .expect("read calendars");
    let mut configured = calendars;
    configured.sort();
    assert_eq!(stored, configured);
}
