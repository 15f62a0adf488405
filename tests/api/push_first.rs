//! Push first: a calendar whose channel is live is not polled at `sync_interval_minutes` (only the
//! safety sync reaches it); one without a live channel is polled every interval, as is one whose
//! watch Google refuses (beside two live ones) and one whose channel the safety sync caught silent,
//! until its new channel delivers a notification.

use std::time::Duration;

use calsync_testkit::{Google, TestApp, wait_for};
use serde_json::Value;

/// `events.list` calls per calendar in the emulator's request log.
async fn lists(google: &Google, calendar: &str) -> usize {
    let log = google
        .control("GET", "/emulator/requests", Value::Null)
        .await;
    let needle = format!("/calendars/{calendar}/");
    log["requests"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter(|r| {
                    r["method"] == "events.list"
                        && r["path"].as_str().is_some_and(|p| p.contains(&needle))
                })
                .count()
        })
        .unwrap_or(0)
}

async fn live_channels(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM watch_channels WHERE state = 'active' AND expiration > now()",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

const CALENDARS: [&str; 3] = ["primary", "CALENDAR_ID_ENSEIGNANT", "CALENDAR_ID_CHERCHEUR"];

async fn all_lists(google: &Google) -> Vec<usize> {
    futures_util::future::join_all(CALENDARS.map(|c| lists(google, c))).await
}

/// A 1 s poll and a safety sync an hour away: any list call in the window is the poll's.
async fn app(google: &Google, push: bool) -> TestApp {
    TestApp::builder()
        .synced_to(google)
        .with_settings(move |s| {
            s.google_calendar.sync_interval_seconds = Some(1);
            s.push.safety_sync_seconds = Some(3600);
            s.push.enabled = push;
        })
        .spawn()
        .await
}

#[tokio::test]
async fn calendars_with_a_live_channel_are_not_polled() {
    let google = Google::start().await;
    let app = app(&google, true).await;
    wait_for("three live channels", Duration::from_secs(15), || async {
        live_channels(&app).await == 3
    })
    .await;
    // The startup runs settle, then six poll intervals pass.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = all_lists(&google).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        all_lists(&google).await,
        before,
        "no list call while every channel is live"
    );
}

#[tokio::test]
async fn calendars_without_a_channel_are_polled_every_interval() {
    let google = Google::start().await;
    let app = app(&google, false).await;
    wait_for(
        "a first sync of each calendar",
        Duration::from_secs(15),
        || async { all_lists(&google).await.iter().all(|n| *n >= 1) },
    )
    .await;
    assert_eq!(live_channels(&app).await, 0);
    let before = all_lists(&google).await;
    // Eight 1 s intervals; at least three polls each, with room for a loaded machine.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let after = all_lists(&google).await;
    for (i, calendar) in CALENDARS.iter().enumerate() {
        assert!(
            after[i] >= before[i] + 3,
            "{calendar} has no channel: polled every second ({before:?} → {after:?})"
        );
    }
}

#[tokio::test]
async fn a_calendar_whose_watch_is_refused_is_polled_and_said_so_while_the_others_are_not() {
    let google = Google::start().await;
    // Like a holiday calendar: Google answers 400 pushNotSupportedForRequestedResource to watch.
    google
        .control(
            "POST",
            "/emulator/calendars",
            serde_json::json!({"id": "CALENDAR_ID_CHERCHEUR", "pushNotSupported": true}),
        )
        .await;
    let app = app(&google, true).await;
    wait_for("two live channels and one refusal", Duration::from_secs(15), || async {
        let refused: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sync_state WHERE watch_refused = 'pushNotSupportedForRequestedResource'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        live_channels(&app).await == 2 && refused == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = all_lists(&google).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let after = all_lists(&google).await;
    assert_eq!(after[0], before[0], "primary is live: not polled");
    assert_eq!(after[1], before[1], "enseignant is live: not polled");
    assert!(
        after[2] >= before[2] + 3,
        "chercheur cannot be watched: polled every second ({before:?} → {after:?})"
    );
    let watches: usize = {
        let log = google
            .control("GET", "/emulator/requests", Value::Null)
            .await;
        log["requests"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter(|r| {
                        r["method"] == "events.watch"
                            && r["path"]
                                .as_str()
                                .is_some_and(|p| p.contains("CALENDAR_ID_CHERCHEUR"))
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(
        watches, 1,
        "watch is asked again in a day, not on every renewal pass"
    );

    let ready: Value = app.get("/readyz").await.json().await.unwrap();
    let modes: Vec<(String, String, Value)> = ready["calendars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_string(),
                c["sync_mode"].as_str().unwrap_or_default().to_string(),
                c["push_reason"].clone(),
            )
        })
        .collect();
    assert!(
        modes.contains(&(
            "CALENDAR_ID_CHERCHEUR".into(),
            "poll".into(),
            Value::from("push not supported")
        )),
        "{ready}"
    );
    assert!(
        modes.contains(&("primary".into(), "push".into(), Value::Null)),
        "{ready}"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            "calsync_calendar_on_poll{account=\"default\",calendar=\"CALENDAR_ID_CHERCHEUR\",casquette=\"chercheur\",reason=\"push not supported\"} 1"
        ),
        "{metrics}"
    );
}

/// The calendar's health as `/readyz` reports it: (sync_mode, push_health, push_reason).
async fn readiness(app: &TestApp, calendar: &str) -> (String, String, Value) {
    let ready: Value = app.get("/readyz").await.json().await.unwrap();
    let c = ready["calendars"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == calendar).cloned())
        .unwrap_or_default();
    (
        c["sync_mode"].as_str().unwrap_or_default().to_string(),
        c["push_health"].as_str().unwrap_or_default().to_string(),
        c["push_reason"].clone(),
    )
}

/// The trigger of the newest run after run `after` that changed something in `calendar`.
async fn last_trigger(app: &TestApp, calendar: &str, after: i64) -> Option<String> {
    sqlx::query_scalar(
        "SELECT trigger FROM sync_runs WHERE calendar_id = $1 AND status = 'success' AND id > $2
          AND events_created + events_updated + events_deleted > 0 ORDER BY id DESC LIMIT 1",
    )
    .bind(calendar)
    .bind(after)
    .fetch_optional(&app.pool)
    .await
    .unwrap()
}

async fn stored(app: &TestApp, external_id: &str) -> bool {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events WHERE external_id = $1")
        .bind(external_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
        == 1
}

#[tokio::test]
async fn a_silent_channel_is_caught_by_the_safety_sync_polled_and_back_on_push_after_a_real_notification()
 {
    let google = Google::start().await;
    let silent = "CALENDAR_ID_ENSEIGNANT";
    // Its channel accepts the watch and never delivers (the flag is read when a channel is made).
    google
        .control(
            "POST",
            "/emulator/calendars",
            serde_json::json!({"id": silent, "silentChannels": true}),
        )
        .await;
    let app = TestApp::builder()
        .synced_to(&google)
        .with_settings(|s| {
            s.google_calendar.sync_interval_seconds = Some(1);
            s.push.safety_sync_seconds = Some(4);
        })
        .spawn()
        .await;
    wait_for("three live channels", Duration::from_secs(15), || async {
        live_channels(&app).await == 3
    })
    .await;
    // Later channels deliver again: only the first one stays silent.
    google
        .control(
            "POST",
            "/emulator/calendars",
            serde_json::json!({"id": silent, "silentChannels": false}),
        )
        .await;
    // The catch-up runs that follow the first channels (trigger poll) are done before the change.
    wait_for("idle calendars", Duration::from_secs(15), || async {
        let busy: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sync_state WHERE pending OR lease_owner IS NOT NULL",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        busy == 0
    })
    .await;
    let runs_before: i64 = sqlx::query_scalar("SELECT COALESCE(max(id), 0) FROM sync_runs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let unannounced = google
        .insert(
            silent,
            serde_json::json!({"summary": "s", "start": {"dateTime": "2030-01-01T09:00:00Z"}, "end": {"dateTime": "2030-01-01T10:00:00Z"}}),
        )
        .await;
    let unannounced = unannounced["id"].as_str().unwrap().to_string();
    wait_for(
        "the safety sync to find the change",
        Duration::from_secs(15),
        // The row commits with the page, the run's counts just after.
        || async {
            stored(&app, &unannounced).await
                && last_trigger(&app, silent, runs_before).await.is_some()
        },
    )
    .await;
    assert_eq!(
        last_trigger(&app, silent, runs_before).await.as_deref(),
        Some("safety")
    );
    let (mode, health, reason) = readiness(&app, silent).await;
    assert_eq!(
        (mode.as_str(), health.as_str()),
        ("poll", "degraded"),
        "{reason}"
    );
    assert_eq!(
        reason,
        Value::from("degraded: safety sync found 1 change(s) no push announced")
    );
    for other in ["primary", "CALENDAR_ID_CHERCHEUR"] {
        assert_eq!(readiness(&app, other).await.1, "live", "{other} stays live");
    }
    // Polled every interval while degraded (the renewal loop gives it a new channel meanwhile).
    let before = lists(&google, silent).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = lists(&google, silent).await;
    assert!(
        after >= before + 2,
        "degraded: polled every second ({before} → {after})"
    );
    wait_for("a new channel on the degraded calendar", Duration::from_secs(15), || async {
        let newer: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM watch_channels w JOIN sync_state s USING (calendar_id)
              WHERE w.calendar_id = $1 AND w.state = 'active' AND w.created_at > s.push_degraded_at",
        )
        .bind(silent)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        newer == 1
    })
    .await;
    assert_eq!(
        readiness(&app, silent).await.1,
        "degraded",
        "not proved yet"
    );
    // A change at Google: the new channel's notification proves it, and the calendar is on push again.
    let announced = google
        .insert(
            silent,
            serde_json::json!({"summary": "p", "start": {"dateTime": "2030-01-02T09:00:00Z"}, "end": {"dateTime": "2030-01-02T10:00:00Z"}}),
        )
        .await;
    let announced = announced["id"].as_str().unwrap().to_string();
    wait_for("back on push", Duration::from_secs(15), || async {
        stored(&app, &announced).await && readiness(&app, silent).await.0 == "push"
    })
    .await;
    assert_eq!(
        readiness(&app, silent).await,
        ("push".into(), "live".into(), Value::Null)
    );
}
