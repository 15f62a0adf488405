//! No secrets or personal data in logs, whatever Telegram answers.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use calsync::sync::alerts::Alert;
use calsync_testkit::{FakeTelegram, Reply, unreachable_base_url, wait_for};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

use crate::{TOKEN, consultation, fast_options, meeting_before_after, settings, started};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Every log line of this test binary from now on, at TRACE level (a global subscriber: a
/// thread-scoped one misses events whose callsites other test threads register concurrently).
fn captured_logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(logs.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        logs
    })
}

#[tokio::test]
async fn logs_carry_no_token_text_title_or_location() {
    let logs = captured_logs();

    let fake = FakeTelegram::start().await;
    fake.script([
        Reply::with(429, || json!({"ok": false, "error_code": 429, "parameters": {"retry_after": 1}})),
        Reply::with(500, || json!({"ok": false})),
        Reply::with(400, || json!({"ok": false, "error_code": 400, "description": "Bad Request: can't parse entities"})),
    ]);
    let (notifier, stop) = started(&settings(&fake.base_url, "fr"), fast_options());
    notifier.notify_event_added(&consultation());
    let (before, after) = meeting_before_after();
    notifier.notify_event_modified(&before, &after);
    let alert = Alert::CredentialsRejected {
        account: "default".into(),
        reason: "invalid_grant: token-xyz revoked".into(),
    };
    notifier.notify_alert(&alert);
    notifier.notify_alert(&alert);
    fake.wait_for(4, Duration::from_secs(5)).await;

    let (down, stop_down) = started(&settings(&unreachable_base_url(), "fr"), fast_options());
    down.notify_event_added(&consultation());
    wait_for(
        "the deliveries to finish",
        Duration::from_secs(5),
        || async {
            down.stats().failed > 0 && notifier.stats().sent + notifier.stats().failed >= 3
        },
    )
    .await;
    stop.cancel();
    stop_down.cancel();
    tokio::time::sleep(Duration::from_millis(50)).await;

    let text = String::from_utf8(logs.0.lock().expect("log buffer").clone()).expect("utf-8 logs");
    assert!(
        text.contains("telegram rate limit"),
        "expected retry logs, got:\n{text}"
    );
    assert!(text.contains("telegram refused the message"), "{text}");
    assert!(text.contains("telegram unavailable"), "{text}");
    for secret in [
        TOKEN,
        "TEST-SECRET-TOKEN",
        "Consultation",
        "Cabinet",
        "Réunion",
        "Salle",
        "token-xyz",
        "sendMessage",
        "can't parse",
    ] {
        assert!(!text.contains(secret), "logs leak {secret:?}:\n{text}");
    }
}
