//! PostgreSQL → Google against the emulator: client-chosen ids, 409 adoption, echo suppression,
//! parked poison (last-write-wins both ways: writer_conflicts.rs).

use std::sync::Arc;
use std::time::Duration;

use calsync::sync::{Outcome, Syncer, Trigger};
use calsync::writer::Writer;
use calsync_testkit::{Google, TestApp, spawn_synced_app, syncer};
use serde_json::{Value, json};

pub(crate) struct Env {
    pub(crate) google: Google,
    pub(crate) app: TestApp,
    pub(crate) syncer: Syncer,
    pub(crate) writer: Writer,
}

pub(crate) async fn env() -> Env {
    env_with(&[]).await
}

pub(crate) async fn env_with(extra: &[(&str, &str)]) -> Env {
    let google = Google::start().await;
    let mut vars = vec![("CALSYNC__SERVER__WORKERS_ENABLED", "false")];
    vars.extend_from_slice(extra);
    let app = spawn_synced_app(&google, &vars).await;
    let syncer = syncer(&app).await;
    let writer = Writer {
        pool: app.pool.clone(),
        google: syncer.google.clone(),
        default_reminders: Arc::new(app.settings.google_calendar.default_reminders.clone()),
        owner: uuid::Uuid::new_v4(),
        batch: 16,
        notifier: None,
        metrics: None,
    };
    Env {
        google,
        app,
        syncer,
        writer,
    }
}

impl Env {
    pub(crate) async fn drain(&self) -> calsync::writer::Pass {
        let mut total = calsync::writer::Pass::default();
        for _ in 0..10 {
            let p = self.writer.run_once().await.unwrap();
            total.claimed += p.claimed;
            total.written += p.written;
            total.parked += p.parked;
            total.retried += p.retried;
            if p.claimed == 0 {
                break;
            }
        }
        total
    }

    pub(crate) async fn sync(&self) -> calsync::sync::engine::RunReport {
        match self
            .syncer
            .sync_calendar("primary", Trigger::Manual, false)
            .await
            .unwrap()
        {
            Outcome::Done(r) => r,
            other => panic!("{other:?}"),
        }
    }

    pub(crate) async fn api_post(&self, body: Value) -> Value {
        let token = calsync::admin_auth::mint(
            "test-admin-secret-0123456789abcdef",
            "t",
            Duration::from_secs(600),
        )
        .unwrap();
        let resp = self
            .app
            .client
            .post(format!("{}/api/v1/events", self.app.address))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        resp.json().await.unwrap()
    }

    pub(crate) async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    pub(crate) async fn google_event(&self, id: &str) -> Value {
        let items = self.google.list_all("primary").await;
        items
            .into_iter()
            .find(|e| e["id"] == id)
            .unwrap_or(Value::Null)
    }
}

pub(crate) fn consult() -> Value {
    json!({"casquette": "medecin", "summary": "Consultation", "location": "Cabinet",
           "start": {"dateTime": "2030-02-17T14:00:00+01:00", "timeZone": "Europe/Paris"},
           "end": {"dateTime": "2030-02-17T15:00:00+01:00", "timeZone": "Europe/Paris"}})
}

#[tokio::test]
async fn an_api_insert_reaches_google_once_under_its_client_chosen_id() {
    let e = env().await;
    let created = e.api_post(consult()).await;
    let local_id = created["id"].as_str().unwrap().replace('-', "");
    assert_eq!(e.drain().await.written, 1);
    let at_google = e.google_event(&local_id).await;
    assert_eq!(at_google["summary"], "Consultation");
    assert_eq!(at_google["colorId"], "11", "the medecin role's red");
    assert_eq!(
        at_google["reminders"]["overrides"][0]["minutes"], 30,
        "config default reminders"
    );
    assert_eq!(
        at_google["extendedProperties"]["private"]["calsync_id"],
        created["id"]
    );
    assert_eq!(e.count("SELECT count(*) FROM outbox").await, 0);
    let stored: (Option<String>, Option<String>) =
        sqlx::query_as("SELECT external_id, etag FROM events WHERE id = $1::uuid")
            .bind(created["id"].as_str())
            .fetch_one(&e.app.pool)
            .await
            .unwrap();
    assert_eq!(stored.0.as_deref(), Some(local_id.as_str()));
    assert_eq!(stored.1, at_google["etag"].as_str().map(str::to_string));

    // Google's notification of our own write changes nothing locally (no echo, no conflict).
    let r = e.sync().await;
    assert_eq!((r.counts.created, r.counts.updated), (0, 0), "{r:?}");
    assert_eq!(e.count("SELECT count(*) FROM outbox").await, 0);
    assert_eq!(e.count("SELECT count(*) FROM conflicts").await, 0);
    assert_eq!(e.count("SELECT count(*) FROM events").await, 1);
}

#[tokio::test]
async fn a_retried_insert_meets_409_and_adopts_the_first_copy() {
    let e = env().await;
    let created = e.api_post(consult()).await;
    let google_id = created["id"].as_str().unwrap().replace('-', "");
    // The first attempt reached Google but its answer was lost.
    e.google
        .control("POST", "/emulator/calendars/primary/events", json!({"id": google_id, "summary": "Consultation",
            "start": {"dateTime": "2030-02-17T13:00:00Z"}, "end": {"dateTime": "2030-02-17T14:00:00Z"}}))
        .await;
    assert_eq!(e.drain().await.written, 1);
    let copies = e
        .google
        .list_all("primary")
        .await
        .into_iter()
        .filter(|x| x["summary"] == "Consultation")
        .count();
    assert_eq!(copies, 1, "never two copies at Google");
    assert_eq!(
        e.count("SELECT count(*) FROM events WHERE external_id IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn plain_sql_updates_and_deletes_reach_google() {
    let e = env().await;
    let id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO events (casquette, summary, start_at, end_at) VALUES ('medecin', 'Garde', '2030-03-01T08:00:00Z', '2030-03-01T20:00:00Z') RETURNING id",
    )
    .fetch_one(&e.app.pool)
    .await
    .unwrap();
    e.drain().await;
    let gid = id.simple().to_string();
    let created = e.google_event(&gid).await;
    assert_eq!(created["colorId"], "11", "the role's color");
    assert_eq!(
        created["reminders"]["overrides"][0]["minutes"], 30,
        "the config's default reminders"
    );
    let copies = e
        .google
        .list_all("primary")
        .await
        .into_iter()
        .filter(|x| x["summary"] == "Garde")
        .count();
    assert_eq!(copies, 1);
    let r = e.sync().await;
    assert_eq!(
        (r.counts.created, r.counts.updated),
        (0, 0),
        "the notification changes nothing locally"
    );
    sqlx::query("UPDATE events SET location = 'Urgences' WHERE id = $1")
        .bind(id)
        .execute(&e.app.pool)
        .await
        .unwrap();
    e.drain().await;
    assert_eq!(e.google_event(&gid).await["location"], "Urgences");
    sqlx::query("DELETE FROM events WHERE id = $1")
        .bind(id)
        .execute(&e.app.pool)
        .await
        .unwrap();
    e.drain().await;
    assert!(e.google_event(&gid).await.is_null(), "deleted at Google");
    assert_eq!(e.count("SELECT count(*) FROM outbox").await, 0);
}

pub(crate) async fn synced_event(e: &Env) -> (uuid::Uuid, String) {
    let created = e.api_post(consult()).await;
    e.drain().await;
    e.sync().await;
    let id: uuid::Uuid = created["id"].as_str().unwrap().parse().unwrap();
    (id, id.simple().to_string())
}

#[tokio::test]
async fn a_change_google_refuses_is_parked_without_blocking_others() {
    let e = env().await;
    sqlx::query(
        "INSERT INTO events (casquette, summary, start_at, end_at, reminders) VALUES
           ('medecin', 'bad', '2030-03-01T08:00:00Z', '2030-03-01T09:00:00Z', '{\"useDefault\": false, \"overrides\": [{\"method\": \"popup\", \"minutes\": -5}]}'),
           ('medecin', 'good', '2030-03-02T08:00:00Z', '2030-03-02T09:00:00Z', NULL)",
    )
    .execute(&e.app.pool)
    .await
    .unwrap();
    let pass = e.drain().await;
    assert_eq!((pass.written, pass.parked), (1, 1), "{pass:?}");
    let reason: String =
        sqlx::query_scalar("SELECT last_error FROM outbox WHERE parked_at IS NOT NULL")
            .fetch_one(&e.app.pool)
            .await
            .unwrap();
    assert!(reason.contains("400"), "{reason}");
    assert_eq!(e.drain().await.claimed, 0, "a parked entry is not retried");
}

#[tokio::test]
async fn an_insert_whose_answer_times_out_still_yields_exactly_one_event() {
    let google = Google::start().await;
    let app = TestApp::builder()
        .synced_to(&google)
        .with_settings(|s| {
            s.server.workers_enabled = false;
            s.google.request_timeout_secs = 1;
        })
        .spawn()
        .await;
    let s = syncer(&app).await;
    let writer = Writer {
        pool: app.pool.clone(),
        google: s.google.clone(),
        default_reminders: Arc::new(Vec::new()),
        owner: uuid::Uuid::new_v4(),
        batch: 16,
        notifier: None,
        metrics: None,
    };
    sqlx::query("INSERT INTO events (casquette, summary, start_at, end_at) VALUES ('medecin', 'once', '2030-04-01T08:00:00Z', '2030-04-01T09:00:00Z')")
        .execute(&app.pool)
        .await
        .unwrap();
    // Google stores the event but its answer arrives after calsync's 1 s timeout.
    google.set_faults(json!({"response_delay_ms": 1500})).await;
    let w = writer.clone();
    let pass = tokio::spawn(async move { w.run_once().await.unwrap() });
    tokio::time::sleep(Duration::from_millis(1200)).await;
    google.set_faults(json!({})).await;
    let pass = pass.await.unwrap();
    assert_eq!(pass.written, 1, "{pass:?}");
    let copies = google
        .list_all("primary")
        .await
        .into_iter()
        .filter(|e| e["summary"] == "once")
        .count();
    assert_eq!(copies, 1, "the retry met 409 and adopted the first copy");
    let inserts = google
        .control("GET", "/emulator/requests", Value::Null)
        .await["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "events.insert")
        .count();
    assert!(inserts >= 2, "the insert was retried");
}

#[tokio::test]
async fn a_thousand_local_inserts_reach_google_under_thirty_percent_errors() {
    // The client-side quota (600/min by default, Google's per-user limit) would pace this test to 100 s.
    let e = env_with(&[("CALSYNC__GOOGLE__REQUESTS_PER_MINUTE", "600000")]).await;
    sqlx::query(
        "INSERT INTO events (casquette, summary, start_at, end_at)
         SELECT 'enseignant', 'bulk ' || g, now() + g * interval '1 hour', now() + g * interval '1 hour' + interval '30 minutes'
           FROM generate_series(1, 1000) g",
    )
    .execute(&e.app.pool)
    .await
    .unwrap();
    e.google
        .set_faults(json!({"seed": 3, "rate_429": 0.15, "rate_503": 0.15, "retry_after_secs": 0}))
        .await;
    let writer = Writer {
        batch: 64,
        ..e.writer.clone()
    };
    let started = std::time::Instant::now();
    loop {
        writer.run_once().await.unwrap();
        if e.count("SELECT count(*) FROM outbox").await == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "outbox did not drain"
        );
        // Entries that exhausted a call's retries come back after their outbox backoff.
        sqlx::query("UPDATE outbox SET next_attempt_at = now() WHERE next_attempt_at > now()")
            .execute(&e.app.pool)
            .await
            .unwrap();
    }
    e.google.set_faults(json!({})).await;
    let at_google = e.google.list_all("CALENDAR_ID_ENSEIGNANT").await;
    assert_eq!(at_google.len(), 1000, "no loss");
    let mut ids: Vec<&str> = at_google
        .iter()
        .map(|x| x["summary"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1000, "no duplicate");
    assert_eq!(
        e.count("SELECT count(*) FROM events WHERE external_id IS NULL")
            .await,
        0
    );
}
