//! Exact texts and the topic → `message_thread_id` mapping, as Telegram receives them.

use std::time::Duration;

use calsync::notify::Enqueued;
use calsync::sync::alerts::{Alert, AlertSink};
use calsync_testkit::FakeTelegram;
use serde_json::json;

use crate::{
    CHAT, LINK, SEND_PATH, consultation, fast_options, meeting_before_after, settings, started,
};

const WAIT: Duration = Duration::from_secs(5);

fn failures_alert() -> Alert {
    Alert::ConsecutiveFailures {
        account: "default".into(),
        calendar_id: "primary".into(),
        casquette: "medecin".into(),
        failures: 3,
        last_error: "429 Rate Limit Exceeded".into(),
    }
}

#[tokio::test]
async fn event_added_in_french_goes_to_the_actions_topic() {
    let fake = FakeTelegram::start().await;
    let (notifier, stop) = started(&settings(&fake.base_url, "fr"), fast_options());
    assert_eq!(
        notifier.notify_event_added(&consultation()),
        Enqueued::Queued
    );
    let reqs = fake.wait_for(1, WAIT).await;
    assert_eq!(reqs[0].path, SEND_PATH);
    assert_eq!(
        reqs[0].body,
        json!({
            "chat_id": CHAT.parse::<i64>().expect("numeric chat"),
            "text": format!(
                "✅ Événement ajouté à Google Calendar\n\n\
                 Titre : Consultation cardio\n\
                 📆 Date : Mardi 17 février 2026, 14h00-15h00\n\
                 📍 Lieu : Cabinet médical\n\
                 🎭 Casquette : Médecin\n\n\
                 🔗 <a href=\"{LINK}\">Voir dans Google Calendar</a>"
            ),
            "message_thread_id": 11,
            "parse_mode": "HTML",
            "disable_web_page_preview": true,
        })
    );
    stop.cancel();
}

#[tokio::test]
async fn event_modified_in_french_goes_to_the_email_topic() {
    let fake = FakeTelegram::start().await;
    let (notifier, stop) = started(&settings(&fake.base_url, "fr"), fast_options());
    let (before, after) = meeting_before_after();
    assert_eq!(
        notifier.notify_event_modified(&before, &after),
        Enqueued::Queued
    );
    let reqs = fake.wait_for(1, WAIT).await;
    assert_eq!(reqs[0].body["message_thread_id"], json!(22));
    assert_eq!(
        reqs[0].body["text"],
        json!(format!(
            "🔄 Événement modifié dans Google Calendar\n\n\
             Titre : Réunion pédagogique\n\n\
             Modifications détectées :\n\n\
             Heure :\n\
             ❌ Mercredi 18 février 2026, 14h00-15h00\n\
             ✅ Mercredi 18 février 2026, 15h00-16h00\n\n\
             Lieu :\n\
             ❌ Salle A\n\
             ✅ Salle B\n\n\
             🔗 <a href=\"{LINK}\">Voir dans Google Calendar</a>"
        ))
    );
    stop.cancel();
}

#[tokio::test]
async fn only_what_changed_is_listed_and_no_change_sends_nothing() {
    let fake = FakeTelegram::start().await;
    let (notifier, stop) = started(&settings(&fake.base_url, "fr"), fast_options());
    let (before, after) = meeting_before_after();
    assert_eq!(
        notifier.notify_event_modified(&before, &before.clone()),
        Enqueued::Unchanged
    );
    let mut moved = before.clone();
    moved.location = after.location.clone();
    assert_eq!(
        notifier.notify_event_modified(&before, &moved),
        Enqueued::Queued
    );
    let reqs = fake.wait_for(1, WAIT).await;
    let text = reqs[0].body["text"].as_str().expect("text");
    assert!(text.contains("Lieu :\n❌ Salle A\n✅ Salle B"), "{text}");
    assert!(!text.contains("Heure"), "{text}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(fake.requests().len(), 1);
    stop.cancel();
}

#[tokio::test]
async fn english_variant() {
    let fake = FakeTelegram::start().await;
    let (notifier, stop) = started(&settings(&fake.base_url, "en"), fast_options());
    notifier.notify_event_added(&consultation());
    let (before, after) = meeting_before_after();
    notifier.notify_event_modified(&before, &after);
    notifier.notify_alert(&failures_alert());
    let reqs = fake.wait_for(3, WAIT).await;
    assert_eq!(
        reqs[0].body["text"],
        json!(format!(
            "✅ Event added to Google Calendar\n\n\
             Title: Consultation cardio\n\
             📆 Date: Tuesday 17 February 2026, 14:00-15:00\n\
             📍 Location: Cabinet médical\n\
             🎭 Role: Doctor\n\n\
             🔗 <a href=\"{LINK}\">View in Google Calendar</a>"
        ))
    );
    assert_eq!(
        reqs[1].body["text"],
        json!(format!(
            "🔄 Event modified in Google Calendar\n\n\
             Title: Réunion pédagogique\n\n\
             Changes detected:\n\n\
             Time:\n\
             ❌ Wednesday 18 February 2026, 14:00-15:00\n\
             ✅ Wednesday 18 February 2026, 15:00-16:00\n\n\
             Location:\n\
             ❌ Salle A\n\
             ✅ Salle B\n\n\
             🔗 <a href=\"{LINK}\">View in Google Calendar</a>"
        ))
    );
    assert_eq!(
        reqs[2].body["text"],
        json!(
            "🚨 Google Calendar sync: 3 consecutive failures (medecin)\n\
             Last error: 429 Rate Limit Exceeded\n\
             Check the OAuth2 credentials and the config."
        )
    );
    stop.cancel();
}

#[tokio::test]
async fn system_alert_in_french_goes_to_the_system_topic_through_the_alert_sink() {
    let fake = FakeTelegram::start().await;
    let (notifier, stop) = started(&settings(&fake.base_url, "fr"), fast_options());
    let sink: std::sync::Arc<dyn AlertSink> = std::sync::Arc::new(notifier.clone());
    sink.alert(&failures_alert()).await;
    let reqs = fake.wait_for(1, WAIT).await;
    assert_eq!(reqs[0].body["message_thread_id"], json!(33));
    assert_eq!(
        reqs[0].body["text"],
        json!(
            "🚨 Google Calendar sync: 3 échecs consécutifs (medecin)\n\
             Dernière erreur: 429 Rate Limit Exceeded\n\
             Vérifiez les credentials OAuth2 et la config."
        )
    );
    stop.cancel();
}

#[tokio::test]
async fn without_topics_there_is_no_message_thread_id() {
    let fake = FakeTelegram::start().await;
    let mut s = settings(&fake.base_url, "fr");
    (s.topic_actions, s.topic_email, s.topic_system) = (None, None, None);
    s.chat_id = Some("@calsync_alerts".into());
    let (notifier, stop) = started(&s, fast_options());
    notifier.notify_event_added(&consultation());
    notifier.notify_alert(&failures_alert());
    let reqs = fake.wait_for(2, WAIT).await;
    for r in &reqs {
        assert_eq!(r.body["chat_id"], json!("@calsync_alerts"));
        assert!(r.body.get("message_thread_id").is_none(), "{}", r.body);
    }
    stop.cancel();
}

#[tokio::test]
async fn titles_and_locations_are_html_escaped() {
    let fake = FakeTelegram::start().await;
    let (notifier, stop) = started(&settings(&fake.base_url, "fr"), fast_options());
    let mut event = consultation();
    event.title = "R&D <suivi>".into();
    event.location = Some("Bât. \"B\"".into());
    event.html_link = None;
    event.casquette = "coach".into();
    notifier.notify_event_added(&event);
    let reqs = fake.wait_for(1, WAIT).await;
    assert_eq!(
        reqs[0].body["text"],
        json!(
            "✅ Événement ajouté à Google Calendar\n\n\
             Titre : R&amp;D &lt;suivi&gt;\n\
             📆 Date : Mardi 17 février 2026, 14h00-15h00\n\
             📍 Lieu : Bât. &quot;B&quot;\n\
             🎭 Casquette : Coach"
        )
    );
    stop.cancel();
}
