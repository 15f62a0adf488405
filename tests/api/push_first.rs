//! Push first: a calendar whose channel is live is not polled at `sync_interval_minutes` (only the
//! safety sync reaches it); one without a live channel is polled every interval. (A calendar whose
//! watch Google refuses, beside two live ones, waits for the emulator's refusal flag.)

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
