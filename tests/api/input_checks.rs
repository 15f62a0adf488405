//! Bad client input gets a 400 that names the field: NUL in text, malformed `reminders`, and a PATCH
//! that would make a timed event recurring without a time zone.

use calsync_testkit::api::call;
use calsync_testkit::spawn_app;
use serde_json::{Value, json};

fn event() -> Value {
    json!({"casquette": "medecin", "summary": "Consultation",
           "start": {"dateTime": "2026-02-17T14:00:00+01:00", "timeZone": "Europe/Paris"},
           "end": {"dateTime": "2026-02-17T15:00:00+01:00", "timeZone": "Europe/Paris"}})
}

fn assert_names(status: u16, body: &Value, field: &str) {
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert_eq!(status, 400, "{field}: {body}");
    assert_eq!(body["error"]["code"], "bad_request", "{body}");
    assert!(message.starts_with(field), "{field}: {message}");
}

#[tokio::test]
async fn a_nul_character_in_any_text_field_is_a_400_naming_the_field() {
    let app = spawn_app().await;
    let post = reqwest::Method::POST;
    for (field, value) in [
        ("summary", json!("a\u{0}b")),
        ("description", json!("\u{0}")),
        ("location", json!("x\u{0}")),
        ("recurrence", json!(["RRULE:FREQ=DAILY\u{0}"])),
        (
            "reminders",
            json!({"useDefault": false, "overrides": [{"method": "popup\u{0}", "minutes": 5}]}),
        ),
    ] {
        let mut body = event();
        body[field] = value;
        let (status, answer) = call(&app, post.clone(), "/api/v1/events", Some(body)).await;
        assert_names(status, &answer, field);
    }
    let (status, created) = call(&app, post, "/api/v1/events", Some(event())).await;
    assert_eq!(status, 201, "{created}");
    let path = format!("/api/v1/events/{}", created["id"].as_str().unwrap());
    for field in ["summary", "description", "location"] {
        let (status, answer) = call(
            &app,
            reqwest::Method::PATCH,
            &path,
            Some(json!({field: "nul\u{0}"})),
        )
        .await;
        assert_names(status, &answer, field);
    }
    let (status, answer) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/events?calendar=a%00b",
        None,
    )
    .await;
    assert_names(status, &answer, "calendar");
    // Nothing reached the table.
    let (_, listed) = call(&app, reqwest::Method::GET, "/api/v1/events", None).await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
}

#[tokio::test]
async fn reminders_must_have_googles_shape() {
    let app = spawn_app().await;
    for (reminders, field) in [
        (json!("soon"), "reminders"),
        (json!({"useDefault": "no"}), "reminders.useDefault"),
        (
            json!({"useDefault": false, "overrides": [{"method": "sms", "minutes": 5}]}),
            "reminders.overrides[0].method",
        ),
        (
            json!({"useDefault": false, "overrides": [{"method": "popup", "minutes": 40321}]}),
            "reminders.overrides[0].minutes",
        ),
        (
            json!({"useDefault": false, "overrides": vec![json!({"method": "popup", "minutes": 5}); 6]}),
            "reminders.overrides",
        ),
    ] {
        let mut body = event();
        body["reminders"] = reminders.clone();
        let (status, answer) =
            call(&app, reqwest::Method::POST, "/api/v1/events", Some(body)).await;
        assert_names(status, &answer, field);
    }
    let mut body = event();
    body["reminders"] =
        json!({"useDefault": false, "overrides": [{"method": "email", "minutes": 40320}]});
    let (status, created) = call(&app, reqwest::Method::POST, "/api/v1/events", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let path = format!("/api/v1/events/{}", created["id"].as_str().unwrap());
    let (status, answer) = call(
        &app,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"reminders": {"useDefault": false, "overrides": [{"method": "popup"}]}})),
    )
    .await;
    assert_names(status, &answer, "reminders.overrides[0].minutes");
    let (status, answer) = call(
        &app,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"reminders": null})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn a_patch_cannot_make_a_timed_event_recurring_without_a_time_zone() {
    let app = spawn_app().await;
    let mut body = event();
    body["start"] = json!({"dateTime": "2026-02-17T14:00:00Z"});
    body["end"] = json!({"dateTime": "2026-02-17T15:00:00Z"});
    let (status, created) = call(&app, reqwest::Method::POST, "/api/v1/events", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let path = format!("/api/v1/events/{}", created["id"].as_str().unwrap());
    let (status, answer) = call(
        &app,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"recurrence": ["RRULE:FREQ=WEEKLY"]})),
    )
    .await;
    assert_names(status, &answer, "recurring events need start.timeZone");
    // With the zone in the same patch it is fine; dropping the zone later is refused.
    let (status, answer) = call(
        &app,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"recurrence": ["RRULE:FREQ=WEEKLY"],
                    "start": {"dateTime": "2026-02-17T15:00:00+01:00", "timeZone": "Europe/Paris"}})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = call(
        &app,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"start": {"dateTime": "2026-02-17T14:00:00Z"}, "end": {"dateTime": "2026-02-17T15:00:00Z"}})),
    )
    .await;
    assert_names(status, &answer, "recurring events need start.timeZone");
}
