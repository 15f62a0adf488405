//! Delivery: 429 `retry_after`, failures that never block the caller, no retry on 4xx, queue limits, de-duplication, shutdown.

use std::time::{Duration, Instant};

use calsync::config::{Secret, TelegramSettings};
use calsync::notify::{Enqueued, NotifierOptions, NotifyStats, TelegramNotifier};
use calsync::sync::alerts::{Alert, AlertSink};
use calsync_testkit::{FakeTelegram, Reply, unreachable_base_url, wait_ok};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{consultation, fast_options, settings, started};

const WAIT: Duration = Duration::from_secs(5);
/// What "returns immediately" means here, with room for a slow CI machine.
const IMMEDIATE: Duration = Duration::from_millis(100);

fn too_many_requests() -> Reply {
    Reply::with(
        429,
        || json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}}),
    )
}

fn server_error() -> Reply {
    Reply::with(
        500,
        || json!({"ok": false, "error_code": 500, "description": "Internal Server Error"}),
    )
}

async fn wait_stats(
    notifier: &TelegramNotifier,
    done: impl Fn(&NotifyStats) -> bool,
) -> NotifyStats {
    wait_ok(
        "the stats to reach the expected state",
        WAIT,
        Duration::from_millis(10),
        || async {
            let stats = notifier.stats();
            if done(&stats) { Ok(stats) } else { Err(stats) }
        },
    )
    .await
}

#[tokio::test]
async fn rate_limit_retry_after_is_honoured() {
    let fake = FakeTelegram::start().await;
    fake.script([too_many_requests()]);
    let (notifier, stop) = started(&settings(&fake.base_url, "fr"), fast_options());
    notifier.notify_event_added(&consultation());
    let reqs = fake.wait_for(2, WAIT).await;
    let gap = reqs[1].at - reqs[0].at;
    assert!(
        gap >= Duration::from_secs(1),
        "retried after {gap:?}, before retry_after"
    );
    assert!(gap < Duration::from_secs(3), "retried after {gap:?}");
    assert_eq!(reqs[0].body, reqs[1].body, "the same message is retried");
    let stats = wait_stats(&notifier, |s| s.sent == 1).await;
    assert_eq!(stats.failed, 0);
    stop.cancel();
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_without_blocking_the_caller() {
    let fake = FakeTelegram::start().await;
    // The first answer takes 300 ms: a caller waiting for Telegram would notice.
    fake.script([server_error().delayed(Duration::from_millis(300))]);
    fake.fallback(server_error());
    let (notifier, stop) = started(&settings(&fake.base_url, "fr"), fast_options());
    let t0 = Instant::now();
    for _ in 0..5 {
        assert_eq!(
            notifier.notify_event_added(&consultation()),
            Enqueued::Queued
        );
    }
    let sink: &dyn AlertSink = &notifier;
    sink.alert(&Alert::CredentialsRejected {
        account: "default".into(),
        reason: "invalid_grant".into(),
    })
    .await;
    assert!(
        t0.elapsed() < IMMEDIATE,
        "callers waited {:?}",
        t0.elapsed()
    );
    // 6 messages × 3 attempts each (fast_options), then each is given up.
    let stats = wait_stats(&notifier, |s| s.failed == 6).await;
    assert_eq!(stats.sent, 0);
    assert_eq!(fake.requests().len(), 18);
    stop.cancel();
}

#[tokio::test]
async fn a_transient_failure_then_success_delivers_once() {
    let fake = FakeTelegram::start().await;
    fake.script([server_error(), Reply::with(502, || json!("Bad Gateway"))]);
    let (notifier, stop) = started(&settings(&fake.base_url, "fr"), fast_options());
    notifier.notify_event_added(&consultation());
    let stats = wait_stats(&notifier, |s| s.sent == 1).await;
    assert_eq!(stats.failed, 0);
    assert_eq!(fake.requests().len(), 3);
    stop.cancel();
}

#[tokio::test]
async fn unreachable_telegram_does_not_block_the_caller() {
    let (notifier, stop) = started(&settings(&unreachable_base_url(), "fr"), fast_options());
    let t0 = Instant::now();
    assert_eq!(
        notifier.notify_event_added(&consultation()),
        Enqueued::Queued
    );
    notifier
        .alert(&Alert::CredentialsRejected {
            account: "default".into(),
            reason: "x".into(),
        })
        .await;
    assert!(
        t0.elapsed() < IMMEDIATE,
        "callers waited {:?}",
        t0.elapsed()
    );
    wait_stats(&notifier, |s| s.failed == 2).await;
    stop.cancel();
}

#[tokio::test]
async fn a_hanging_telegram_does_not_block_the_caller_and_shutdown_stops_the_sender() {
    let fake = FakeTelegram::start().await;
    fake.fallback(Reply::ok().delayed(Duration::from_secs(30)));
    let notifier = TelegramNotifier::with_options(&settings(&fake.base_url, "fr"), fast_options())
        .expect("enabled");
    let stop = CancellationToken::new();
    let sender = notifier.start(stop.clone());
    let t0 = Instant::now();
    for _ in 0..3 {
        notifier.notify_event_added(&consultation());
    }
    assert!(
        t0.elapsed() < IMMEDIATE,
        "callers waited {:?}",
        t0.elapsed()
    );
    fake.wait_for(1, WAIT).await;
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(1), sender)
        .await
        .expect("sender stops promptly on the token")
        .expect("sender did not panic");
    // The in-flight message and the two queued ones are counted as dropped; later calls are refused.
    assert_eq!(notifier.stats().dropped, 3);
    assert_eq!(
        notifier.notify_event_added(&consultation()),
        Enqueued::Closed
    );
}

#[tokio::test]
async fn other_client_errors_are_not_retried() {
    let fake = FakeTelegram::start().await;
    fake.fallback(Reply::with(400, || {
        json!({"ok": false, "error_code": 400, "description": "Bad Request: message thread not found"})
    }));
    let (notifier, stop) = started(&settings(&fake.base_url, "fr"), fast_options());
    notifier.notify_event_added(&consultation());
    wait_stats(&notifier, |s| s.failed == 1).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(fake.requests().len(), 1);
    stop.cancel();
}

#[tokio::test]
async fn a_full_queue_drops_and_counts() {
    let fake = FakeTelegram::start().await;
    let options = NotifierOptions {
        queue_capacity: 2,
        ..fast_options()
    };
    let notifier =
        TelegramNotifier::with_options(&settings(&fake.base_url, "fr"), options).expect("enabled");
    // Not started yet: the queue fills up.
    assert_eq!(
        notifier.notify_event_added(&consultation()),
        Enqueued::Queued
    );
    assert_eq!(
        notifier.notify_event_added(&consultation()),
        Enqueued::Queued
    );
    assert_eq!(
        notifier.notify_event_added(&consultation()),
        Enqueued::QueueFull
    );
    assert_eq!(notifier.stats().dropped, 1);
    let stop = CancellationToken::new();
    notifier.start(stop.clone());
    wait_stats(&notifier, |s| s.sent == 2).await;
    assert_eq!(fake.requests().len(), 2);
    stop.cancel();
}

#[tokio::test]
async fn the_same_alert_is_sent_once_per_window() {
    let fake = FakeTelegram::start().await;
    let options = NotifierOptions {
        alert_dedup_window: Duration::from_millis(400),
        ..fast_options()
    };
    let (notifier, stop) = started(&settings(&fake.base_url, "fr"), options);
    let failures = |calendar: &str, n: i32| Alert::ConsecutiveFailures {
        account: "default".into(),
        calendar_id: calendar.into(),
        casquette: "medecin".into(),
        failures: n,
        last_error: "503".into(),
    };
    assert_eq!(
        notifier.notify_alert(&failures("primary", 3)),
        Enqueued::Queued
    );
    assert_eq!(
        notifier.notify_alert(&failures("primary", 4)),
        Enqueued::Duplicate
    );
    notifier.alert(&failures("primary", 5)).await;
    assert_eq!(
        notifier.notify_alert(&failures("chercheur-cal", 3)),
        Enqueued::Queued
    );
    let channel = Alert::NoLiveChannel {
        calendar_id: "primary".into(),
        casquette: "medecin".into(),
    };
    assert_eq!(notifier.notify_alert(&channel), Enqueued::Queued);
    fake.wait_for(3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(notifier.stats().deduplicated, 2);
    // After the window, the same alert goes out again.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        notifier.notify_alert(&failures("primary", 6)),
        Enqueued::Queued
    );
    fake.wait_for(4, WAIT).await;
    stop.cancel();
}

#[tokio::test]
async fn events_are_never_deduplicated() {
    let fake = FakeTelegram::start().await;
    let (notifier, stop) = started(&settings(&fake.base_url, "fr"), fast_options());
    notifier.notify_event_added(&consultation());
    notifier.notify_event_added(&consultation());
    fake.wait_for(2, WAIT).await;
    stop.cancel();
}

#[test]
fn disabled_when_token_or_chat_is_unset() {
    let base = "http://127.0.0.1:9";
    assert!(TelegramNotifier::from_settings(&TelegramSettings::default()).is_none());
    let mut s = settings(base, "fr");
    s.bot_token = None;
    assert!(TelegramNotifier::from_settings(&s).is_none());
    let mut s = settings(base, "fr");
    s.chat_id = None;
    assert!(TelegramNotifier::from_settings(&s).is_none());
    let mut s = settings(base, "fr");
    s.bot_token = Some(Secret::new("  "));
    assert!(TelegramNotifier::from_settings(&s).is_none());
    let mut s = settings(base, "fr");
    s.chat_id = Some(String::new());
    assert!(TelegramNotifier::from_settings(&s).is_none());
    let enabled = TelegramNotifier::from_settings(&settings(base, "en")).expect("enabled");
    assert_eq!(enabled.locale(), calsync::notify::Locale::En);
    assert!(
        !format!("{enabled:?}").contains("SECRET"),
        "Debug must not show the token"
    );
}
