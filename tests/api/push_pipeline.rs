//! The push pipeline end to end against the emulator: channels at startup, push → sync, coalescing,
//! two replicas, renewal on demand, and recovery of channels that expired while calsync was down
//! (the renewal timer: `renewal.rs`).

use std::time::{Duration, Instant};

use calsync::push::token::ChannelTokens;
use calsync_testkit::{
    CALENDARS, Google, TestApp, create_database, spawn_on_database, spawn_synced_app, wait_for,
};
use serde_json::{Value, json};

pub(crate) use calsync_testkit::api::admin_token;

pub(crate) async fn active_channels(app: &TestApp) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as("SELECT id, calendar_id, resource_id FROM watch_channels WHERE state = 'active' ORDER BY calendar_id, created_at")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

async fn synced_rows(app: &TestApp, external_id: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE external_id = $1 AND deleted_at IS NULL")
        .bind(external_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn quiet(app: &TestApp) {
    wait_for("all calendars idle", Duration::from_secs(20), || async {
        let busy: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sync_state WHERE pending OR lease_owner IS NOT NULL",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        busy == 0
    })
    .await;
}

#[tokio::test]
async fn startup_watches_every_calendar_and_a_google_change_arrives_by_push() {
    let google = Google::start().await;
    let app = spawn_synced_app(&google, &[]).await;
    wait_for(
        "a channel per calendar",
        Duration::from_secs(15),
        || async { active_channels(&app).await.len() == 3 },
    )
    .await;
    quiet(&app).await;
    let before_push = chrono::Utc::now();
    let event = google
        .insert("CALENDAR_ID_CHERCHEUR", json!({"summary": "Séminaire", "start": {"dateTime": "2030-05-05T10:00:00Z"}, "end": {"dateTime": "2030-05-05T11:00:00Z"}}))
        .await;
    let id = event["id"].as_str().unwrap().to_string();
    let started = Instant::now();
    wait_for(
        "the pushed change in PostgreSQL",
        Duration::from_secs(10),
        || async { synced_rows(&app, &id).await == 1 },
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "push path took {:?}",
        started.elapsed()
    );
    let trigger: String = sqlx::query_scalar("SELECT trigger FROM sync_runs WHERE calendar_id = 'CALENDAR_ID_CHERCHEUR' ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(trigger, "push");
    // The admin view's last message is the push's, not the watch's `sync` message (read until the
    // push is in: a catch-up run after the watch may have brought the change before it).
    let channel = calsync_testkit::poll_until(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || async {
            let (_, body) =
                calsync_testkit::api::call(&app, reqwest::Method::GET, "/admin/channels", None)
                    .await;
            body["channels"]
                .as_array()
                .and_then(|cs| {
                    cs.iter()
                        .find(|c| {
                            c["calendar_id"] == "CALENDAR_ID_CHERCHEUR" && c["state"] == "active"
                        })
                        .cloned()
                })
                .unwrap_or_default()
        },
        |c: &Value| {
            serde_json::from_value::<chrono::DateTime<chrono::Utc>>(c["last_message_at"].clone())
                .is_ok_and(|last| last > before_push)
        },
    )
    .await;
    let last: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(channel["last_message_at"].clone())
            .unwrap_or_else(|e| panic!("{e}: {channel}"));
    assert!(last > before_push, "{channel}");
}

/// `events.list` calls for the `primary` calendar in the emulator's request log.
async fn primary_lists(google: &Google) -> usize {
    let log = google
        .control("GET", "/emulator/requests", Value::Null)
        .await;
    log["requests"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter(|r| {
                    r["method"] == "events.list"
                        && r["path"]
                            .as_str()
                            .is_some_and(|p| p.contains("/calendars/primary/"))
                })
                .count()
        })
        .unwrap_or(0)
}

async fn burst(app: &TestApp, channel: &(String, String, Option<String>), n: usize) {
    let token =
        ChannelTokens::new("test-channel-secret-0123456789abcdef").sign(&channel.0, &channel.1);
    let mut handles = Vec::new();
    for i in 0..n {
        let client = app.client.clone();
        let url = format!("{}/webhooks/google", app.address);
        let (id, res, token) = (
            channel.0.clone(),
            channel.2.clone().unwrap_or_default(),
            token.clone(),
        );
        handles.push(tokio::spawn(async move {
            client
                .post(url)
                .header("X-Goog-Channel-ID", id)
                .header("X-Goog-Message-Number", (i + 2).to_string())
                .header("X-Goog-Resource-ID", res)
                .header("X-Goog-Resource-State", "exists")
                .header("X-Goog-Channel-Token", token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 200);
    }
}

#[tokio::test]
async fn a_burst_of_500_pushes_costs_at_most_two_list_calls() {
    let google = Google::start().await;
    let app = spawn_synced_app(&google, &[]).await;
    wait_for("channels", Duration::from_secs(15), || async {
        active_channels(&app).await.len() == 3
    })
    .await;
    quiet(&app).await;
    let channel = active_channels(&app)
        .await
        .into_iter()
        .find(|c| c.1 == "primary")
        .unwrap();
    google.set_faults(json!({"latency_ms": 150})).await;
    let before = primary_lists(&google).await;
    let changed = google
        .insert("primary", json!({"summary": "in the burst", "start": {"date": "2030-08-01"}, "end": {"date": "2030-08-02"}}))
        .await;
    burst(&app, &channel, 500).await;
    quiet(&app).await;
    let calls = primary_lists(&google).await - before;
    assert_eq!(
        synced_rows(&app, changed["id"].as_str().unwrap()).await,
        1,
        "the final state is exact"
    );
    assert!((1..=2).contains(&calls), "{calls} list calls for one burst");
}

#[tokio::test]
async fn two_replicas_never_sync_one_calendar_at_once() {
    let google = Google::start().await;
    let (db_url, db_name) = create_database().await;
    let a = spawn_on_database(&google, &db_url, &db_name, &[]).await;
    let b = spawn_on_database(&google, &db_url, &db_name, &[]).await;
    wait_for("channels", Duration::from_secs(15), || async {
        active_channels(&a).await.len() >= 3
    })
    .await;
    quiet(&a).await;
    assert_eq!(
        active_channels(&a).await.len(),
        3,
        "channel registration runs once per cluster"
    );
    let channel = active_channels(&a)
        .await
        .into_iter()
        .find(|c| c.1 == "primary")
        .unwrap();
    // Runs long enough (1.5 s per list call) that the whole burst lands within the first one.
    google.set_faults(json!({"latency_ms": 1500})).await;
    let before = primary_lists(&google).await;
    // One burst, half of it through each replica at the same time.
    tokio::join!(burst(&a, &channel, 30), burst(&b, &channel, 30));
    quiet(&a).await;
    let calls = primary_lists(&google).await - before;
    let runs: Vec<(String, String, bool, String)> = sqlx::query_as(
        "SELECT calendar_id, trigger, full_sync, to_char(started_at, 'SS.MS') || '-' || COALESCE(to_char(finished_at, 'SS.MS'), '') FROM sync_runs ORDER BY id",
    )
    .fetch_all(&a.pool)
    .await
    .unwrap();
    assert!(
        (1..=2).contains(&calls),
        "{calls} list calls for one burst across two replicas: {runs:?}"
    );
    let overlaps: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sync_runs r1 JOIN sync_runs r2 ON r1.calendar_id = r2.calendar_id AND r1.id < r2.id
          WHERE r1.started_at < COALESCE(r2.finished_at, now()) AND r2.started_at < COALESCE(r1.finished_at, now())",
    )
    .fetch_one(&a.pool)
    .await
    .unwrap();
    assert_eq!(overlaps, 0, "two runs of one calendar overlapped");
}

#[tokio::test]
async fn renewal_creates_the_new_channel_before_stopping_the_old() {
    let google = Google::start().await;
    let app = spawn_synced_app(&google, &[]).await;
    wait_for("channels", Duration::from_secs(15), || async {
        active_channels(&app).await.len() == 3
    })
    .await;
    let old = active_channels(&app)
        .await
        .into_iter()
        .find(|c| c.1 == "primary")
        .unwrap();
    let resp = app
        .client
        .post(format!("{}/admin/channels/renew", app.address))
        .bearer_auth(admin_token())
        .json(&json!({"calendar_id": "primary"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    let now = active_channels(&app).await;
    let fresh: Vec<_> = now.iter().filter(|c| c.1 == "primary").collect();
    assert_eq!(fresh.len(), 1);
    assert_ne!(fresh[0].0, old.0);
    let log = google
        .control("GET", "/emulator/requests", Value::Null)
        .await["requests"]
        .as_array()
        .cloned()
        .unwrap();
    let watch_at = log
        .iter()
        .rposition(|r| r["method"] == "events.watch")
        .unwrap();
    let stop_at = log
        .iter()
        .rposition(|r| r["method"] == "channels.stop")
        .unwrap();
    assert!(watch_at < stop_at, "new channel first, then stop the old");
    // Unauthenticated renewals are refused.
    let anon = app
        .client
        .post(format!("{}/admin/channels/renew", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
}

#[tokio::test]
async fn channels_that_expired_while_down_are_replaced_with_a_catch_up_sync() {
    let google = Google::start().await;
    let (db_url, db_name) = create_database().await;
    let first = spawn_on_database(&google, &db_url, &db_name, &[]).await;
    wait_for("channels", Duration::from_secs(15), || async {
        active_channels(&first).await.len() == 3
    })
    .await;
    quiet(&first).await;
    let channels = active_channels(&first).await;
    first.shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // While calsync is down: every channel expires and an event changes.
    for c in channels {
        google.expire_channel(&c.0).await;
    }
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    sqlx::query(
        "UPDATE watch_channels SET expiration = now() - interval '1 minute' WHERE state = 'active'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let event = google
        .insert("primary", json!({"summary": "while down", "start": {"date": "2030-06-01"}, "end": {"date": "2030-06-02"}}))
        .await;
    let id = event["id"].as_str().unwrap().to_string();
    let second = spawn_on_database(&google, &db_url, &db_name, &[]).await;
    wait_for("replacement channels", Duration::from_secs(15), || async {
        active_channels(&second).await.len() == 3
    })
    .await;
    wait_for("catch-up sync", Duration::from_secs(15), || async {
        synced_rows(&second, &id).await == 1
    })
    .await;
    let expired: i64 =
        sqlx::query_scalar("SELECT count(*) FROM watch_channels WHERE state = 'expired'")
            .fetch_one(&second.pool)
            .await
            .unwrap();
    assert_eq!(expired, CALENDARS.len() as i64);
}

#[tokio::test]
async fn dropped_pushes_are_recovered_by_the_safety_sync() {
    let google = Google::start().await;
    // Live channels: the poll (an hour here) is not what catches up, the safety sync (2 s) is.
    let app = TestApp::builder()
        .synced_to(&google)
        .with_settings(|s| {
            s.google_calendar.sync_interval_seconds = Some(3600);
            s.push.safety_sync_seconds = Some(2);
        })
        .spawn()
        .await;
    wait_for("channels", Duration::from_secs(15), || async {
        active_channels(&app).await.len() == 3
    })
    .await;
    quiet(&app).await;
    google.set_faults(json!({"push_drop_rate": 1.0})).await;
    let event = google
        .insert("primary", json!({"summary": "unannounced", "start": {"date": "2030-07-01"}, "end": {"date": "2030-07-02"}}))
        .await;
    let id = event["id"].as_str().unwrap().to_string();
    wait_for(
        "the safety sync to bring the change",
        // Due 2 s after the last success; the bound is for a loaded machine (the poll is an hour away).
        Duration::from_secs(30),
        || async { synced_rows(&app, &id).await == 1 },
    )
    .await;
}
