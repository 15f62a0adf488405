//! Google's 400s on invalid writes and listings, with Google's error bodies, and the fresh account's `primary`.

use calsync::emulator::{Emulator, EmulatorConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{Emu, timed};

fn reason(body: &Value) -> &str {
    body["error"]["errors"][0]["reason"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_fresh_account_has_its_primary_calendar() {
    let emu = Emulator::start(EmulatorConfig {
        primary_time_zone: "Europe/Paris".into(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let token = Emu::fetch_token(&http, &emu).await;
    let list: Value = http
        .get(format!("{}/users/me/calendarList", emu.api_base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["id"], "primary");
    assert_eq!(list["items"][0]["primary"], true);
    assert_eq!(list["items"][0]["accessRole"], "owner");
    assert_eq!(list["items"][0]["timeZone"], "Europe/Paris");
    let created = http
        .post(format!("{}/emulator/calendars", emu.base_url()))
        .json(&json!({"id": "primary", "summary": "Mine"}))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "creating primary again is a success"
    );
    emu.stop().await;
}

#[tokio::test]
async fn invalid_events_get_googles_400s_on_insert_update_and_patch() {
    let e = Emu::start().await;
    let ok = e.insert(timed("ok", 9)).await;
    let id = ok["id"].as_str().unwrap().to_string();
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"start": {"dateTime": "2030-01-01T10:00:00Z"}, "end": {"dateTime": "2030-01-01T09:00:00Z"}}),
            400,
            "timeRangeEmpty",
            "The specified time range is empty.",
        ),
        (
            json!({"start": {"dateTime": "2030-01-01T10:00:00Z"}, "end": {"dateTime": "2030-01-01T10:00:00Z"}}),
            400,
            "timeRangeEmpty",
            "The specified time range is empty.",
        ),
        (
            json!({"start": {"date": "2030-01-02"}, "end": {"date": "2030-01-01"}}),
            400,
            "timeRangeEmpty",
            "The specified time range is empty.",
        ),
        (
            json!({"start": {"dateTime": "2030-01-01T10:00:00", "timeZone": "Mars/Olympus"}, "end": {"dateTime": "2030-01-01T11:00:00", "timeZone": "Mars/Olympus"}}),
            400,
            "invalid",
            "Invalid time zone definition for start time.",
        ),
        (
            json!({"start": {"dateTime": "2030-01-01T10:00:00Z", "timeZone": "UTC"}, "end": {"dateTime": "2030-01-01T11:00:00Z", "timeZone": "UTC"}, "recurrence": ["RRULE:FREQ=SOMETIMES"]}),
            400,
            "invalid",
            "Invalid recurrence rule.",
        ),
        (
            json!({"start": {"dateTime": "2030-01-01T10:00:00Z"}, "end": {"dateTime": "2030-01-01T11:00:00Z"}, "recurrence": ["EVERY DAY"]}),
            400,
            "invalid",
            "Invalid recurrence rule.",
        ),
        (
            json!({"reminders": {"useDefault": false, "overrides": [{"minutes": 10}]}}),
            400,
            "required",
            "Missing reminder method.",
        ),
        (
            json!({"reminders": {"useDefault": false, "overrides": [{"method": "popup"}]}}),
            400,
            "required",
            "Missing reminder minutes.",
        ),
        (
            json!({"reminders": {"useDefault": false, "overrides": [{"method": "popup", "minutes": 40321}]}}),
            400,
            "invalid",
            "Invalid reminder minutes value.",
        ),
        (
            json!({"reminders": {"useDefault": false, "overrides": vec![json!({"method": "popup", "minutes": 5}); 6]}}),
            400,
            "tooManyReminders",
            "Event being modified contains too many reminders.",
        ),
        (
            json!({"reminders": {"useDefault": true, "overrides": [{"method": "popup", "minutes": 5}]}}),
            400,
            "cannotUseDefaultRemindersAndSpecifyOverride",
            "Cannot specify both default reminders and overrides at the same time.",
        ),
    ];
    for (change, code, why, message) in cases {
        let mut full = timed("bad", 9);
        for (k, v) in change.as_object().unwrap() {
            full[k] = v.clone();
        }
        let insert = e.api(Method::POST, "/calendars/primary/events").json(&full);
        let update = e
            .api(Method::PUT, &format!("/calendars/primary/events/{id}"))
            .json(&full);
        let patch = e
            .api(Method::PATCH, &format!("/calendars/primary/events/{id}"))
            .json(&change);
        for req in [insert, update, patch] {
            let (status, body) = e.call(req).await;
            assert_eq!(status, code, "{change} → {body}");
            assert_eq!(reason(&body), why, "{change} → {body}");
            assert_eq!(body["error"]["message"], message);
            assert_eq!(body["error"]["code"], code);
            assert_eq!(body["error"]["errors"][0]["message"], message);
        }
    }
    let (_, still) = e
        .call(e.api(Method::GET, &format!("/calendars/primary/events/{id}")))
        .await;
    assert_eq!(
        still["etag"], ok["etag"],
        "no refused write changed the event"
    );
}

#[tokio::test]
async fn order_by_start_time_needs_single_events() {
    let e = Emu::start().await;
    let (status, body) = e
        .call(
            e.api(Method::GET, "/calendars/primary/events")
                .query(&[("orderBy", "startTime")]),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(reason(&body), "badRequest");
    assert_eq!(
        body["error"]["message"],
        "The requested ordering is not available for the particular query."
    );
    let (status, _) = e
        .call(
            e.api(Method::GET, "/calendars/primary/events")
                .query(&[("orderBy", "startTime"), ("singleEvents", "true")]),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_floating_time_series_expands_in_its_zone() {
    let e = Emu::start().await;
    let series = e
        .insert(json!({"summary": "stand-up",
            "start": {"dateTime": "2030-03-29T09:00:00", "timeZone": "Europe/Paris"},
            "end": {"dateTime": "2030-03-29T09:15:00", "timeZone": "Europe/Paris"},
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=4"]}))
        .await;
    let (status, body) = e
        .call(e.api(Method::GET, "/calendars/primary/events").query(&[
            ("singleEvents", "true"),
            ("orderBy", "startTime"),
            ("timeMin", "2030-03-01T00:00:00Z"),
            ("timeMax", "2030-04-30T00:00:00Z"),
        ]))
        .await;
    assert_eq!(status, 200, "{body}");
    let starts: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["start"]["dateTime"].as_str().unwrap())
        .collect();
    // 9:00 in Paris on both sides of the switch to summer time (2030-03-31).
    assert_eq!(
        starts,
        [
            "2030-03-29T09:00:00+01:00",
            "2030-03-30T09:00:00+01:00",
            "2030-03-31T09:00:00+02:00",
            "2030-04-01T09:00:00+02:00"
        ]
    );
    let first = &body["items"][0];
    assert_eq!(
        first["id"],
        format!("{}_20300329T080000Z", series["id"].as_str().unwrap())
    );
    assert_eq!(
        first["originalStartTime"]["dateTime"],
        "2030-03-29T09:00:00+01:00"
    );
    assert_eq!(first["recurringEventId"], series["id"]);
}
