//! Telegram notifications against a local fake of the Bot API: texts, topics, retries, de-duplication, non-blocking sends.
//! The fake is `calsync_testkit::FakeTelegram`.

mod delivery;
mod logs;
mod long_texts;
mod messages;

use std::time::Duration;

use calsync::config::{Secret, TelegramSettings};
use calsync::notify::{EventSummary, NotifierOptions, RetryPolicy, TelegramNotifier};
use serde_json::json;
use tokio_util::sync::CancellationToken;

pub const TOKEN: &str = "123456:TEST-SECRET-TOKEN";
pub const CHAT: &str = "-1001234567890";
pub const SEND_PATH: &str = "/bot123456:TEST-SECRET-TOKEN/sendMessage";

pub fn settings(base_url: &str, locale: &str) -> TelegramSettings {
    TelegramSettings {
        bot_token: Some(Secret::new(TOKEN)),
        chat_id: Some(CHAT.into()),
        api_base_url: base_url.into(),
        topic_actions: Some(11),
        topic_email: Some(22),
        topic_system: Some(33),
        locale: locale.into(),
    }
}

/// Short retry delays so failure tests run in well under a second.
pub fn fast_options() -> NotifierOptions {
    NotifierOptions {
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        },
        ..NotifierOptions::default()
    }
}

/// A started notifier; the token stops its sender.
pub fn started(
    settings: &TelegramSettings,
    options: NotifierOptions,
) -> (TelegramNotifier, CancellationToken) {
    let notifier = TelegramNotifier::with_options(settings, options).expect("enabled");
    let token = CancellationToken::new();
    notifier.start(token.clone());
    (notifier, token)
}

pub const LINK: &str = "https://www.google.com/calendar/event?eid=Y29uc3VsdGF0aW9u";

/// The seed's sample event, as Google returns it.
pub fn consultation() -> EventSummary {
    EventSummary::from_google(
        &json!({
            "id": "consultation1",
            "summary": "Consultation cardio",
            "location": "Cabinet médical",
            "htmlLink": LINK,
            "start": {"dateTime": "2026-02-17T14:00:00+01:00", "timeZone": "Europe/Paris"},
            "end": {"dateTime": "2026-02-17T15:00:00+01:00", "timeZone": "Europe/Paris"}
        }),
        "medecin",
        chrono_tz::UTC,
    )
    .expect("valid event")
}

/// The seed's modification sample: 14h-15h in room A, then 15h-16h in room B.
pub fn meeting_before_after() -> (EventSummary, EventSummary) {
    let event = |start: &str, end: &str, room: &str| {
        EventSummary::from_google(
            &json!({
                "summary": "Réunion pédagogique",
                "location": room,
                "htmlLink": LINK,
                "start": {"dateTime": start},
                "end": {"dateTime": end}
            }),
            "enseignant",
            chrono_tz::Europe::Paris,
        )
        .expect("valid event")
    };
    (
        event("2026-02-18T13:00:00Z", "2026-02-18T14:00:00Z", "Salle A"),
        event("2026-02-18T14:00:00Z", "2026-02-18T15:00:00Z", "Salle B"),
    )
}
