//! Telegram through the running server, against a local fake of the Bot API: exactly the seed's
//! three message kinds, in their topics, with the seed's French texts, for a create at Google, a
//! Google-side change of time and place, and three consecutive sync failures.

use std::time::Duration;

use calsync::config::{Secret, Settings};
use calsync_testkit::{FakeTelegram, Google, TestApp, wait_for};
use serde_json::{Value, json};

fn text(r: &calsync_testkit::Recorded) -> String {
    r.body["text"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn the_server_sends_the_seeds_three_message_kinds() {
    let telegram = FakeTelegram::start().await;
    let google = Google::start().await;
    let app = TestApp::builder()
        .synced_to(&google)
        .with_settings(|s: &mut Settings| {
            s.telegram.bot_token = Some(Secret::new("123456:test-token"));
            s.telegram.chat_id = Some("-1001".into());
            s.telegram.api_base_url = telegram.base_url.clone();
            s.telegram.topic_actions = Some(11);
            s.telegram.topic_email = Some(22);
            s.telegram.topic_system = Some(33);
            s.google.max_retry_secs = 1;
        })
        .spawn()
        .await;
    wait_for(
        "a first sync of every calendar",
        Duration::from_secs(20),
        || async {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM sync_state WHERE last_success_at IS NOT NULL",
            )
            .fetch_one(&app.pool)
            .await
            .unwrap();
            n == 3
        },
    )
    .await;

    // 1. A local insert that calsync creates at Google → "event added" (Actions topic).
    sqlx::query(
        "INSERT INTO events (calendar_id, summary, location, start_at, end_at, time_zone)
         VALUES ('primary', 'Consultation cardio', 'Cabinet', '2026-02-17T13:00:00Z', '2026-02-17T14:00:00Z', 'Europe/Paris')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let added = telegram.wait_for(1, Duration::from_secs(15)).await;
    let added = text(&added[0]);
    assert!(added.contains("Consultation cardio"), "{added}");
    assert!(
        added.contains("Mardi 17 février 2026, 14h00-15h00"),
        "{added}"
    );

    // 2. A Google-side change of time and place → "event modified" (Email topic), before/after.
    let ev = google
        .insert(
            "primary",
            json!({"summary": "Cours L3", "location": "Amphi A",
                   "start": {"dateTime": "2026-02-18T09:00:00+01:00"}, "end": {"dateTime": "2026-02-18T11:00:00+01:00"}}),
        )
        .await;
    let id = ev["id"].as_str().unwrap().to_string();
    wait_for("the new Google event", Duration::from_secs(10), || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE external_id = $1")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        n == 1
    })
    .await;
    google
        .patch(
            "primary",
            &id,
            json!({"location": "Amphi B",
                   "start": {"dateTime": "2026-02-18T10:00:00+01:00"}, "end": {"dateTime": "2026-02-18T12:00:00+01:00"}}),
        )
        .await;
    let two = telegram.wait_for(2, Duration::from_secs(15)).await;
    let modified = text(&two[1]);
    for part in [
        "Cours L3",
        "❌ Mercredi 18 février 2026, 09h00-11h00",
        "✅ Mercredi 18 février 2026, 10h00-12h00",
        "❌ Amphi A",
        "✅ Amphi B",
    ] {
        assert!(modified.contains(part), "{part} in:\n{modified}");
    }

    // 3. Three consecutive failures → one system alert (System topic).
    google.set_faults(json!({"rate_500": 1.0})).await;
    let token = calsync::admin_auth::mint(
        "test-admin-secret-0123456789abcdef",
        "tests",
        Duration::from_secs(600),
    )
    .unwrap();
    for _ in 0..3 {
        let resp = app
            .client
            .post(format!("{}/api/v1/calendar/sync", app.address))
            .bearer_auth(&token)
            .json(&json!({"calendar_id": "CALENDAR_ID_CHERCHEUR"}))
            .send()
            .await
            .unwrap();
        let _: Value = resp.json().await.unwrap_or(Value::Null);
    }
    let all = telegram.wait_for(3, Duration::from_secs(20)).await;
    let alert = text(&all[2]);
    assert!(alert.contains("3 échecs consécutifs"), "{alert}");
    assert!(alert.contains("chercheur"), "{alert}");
    google.set_faults(json!({"rate_500": 0.0})).await;

    // Exactly the three kinds, each in its topic, nothing else.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = telegram.requests();
    let threads: Vec<i64> = all
        .iter()
        .map(|r| r.body["message_thread_id"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(
        threads,
        vec![11, 22, 33],
        "{:#?}",
        all.iter().map(text).collect::<Vec<_>>()
    );
    for r in &all {
        assert!(r.path.ends_with("/sendMessage"), "{}", r.path);
        assert_eq!(r.body["chat_id"], json!(-1001));
    }
}
