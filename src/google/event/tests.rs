//! The typed Event against real Google payloads (`tests/fixtures/google/`) and against malformed ones.

use super::*;
use serde_json::json;

/// Real captures: `events.list` pages, a bare array of events, events under export names.
const SAMPLES: [(&str, &str); 7] = [
    (
        "compass_incremental_cancelled_instance",
        include_str!("../../../tests/fixtures/google/compass_incremental_cancelled_instance.json"),
    ),
    (
        "compass_incremental_deleted_series",
        include_str!("../../../tests/fixtures/google/compass_incremental_deleted_series.json"),
    ),
    (
        "compass_modified_instance_exception",
        include_str!("../../../tests/fixtures/google/compass_modified_instance_exception.json"),
    ),
    (
        "compass_this_and_following_split",
        include_str!("../../../tests/fixtures/google/compass_this_and_following_split.json"),
    ),
    (
        "event_conferenceData_and_recurring_master",
        include_str!(
            "../../../tests/fixtures/google/event_conferenceData_and_recurring_master.json"
        ),
    ),
    (
        "event_items_attendees_allday_2017",
        include_str!("../../../tests/fixtures/google/event_items_attendees_allday_2017.json"),
    ),
    (
        "events_list_singleEvents_allday_page",
        include_str!("../../../tests/fixtures/google/events_list_singleEvents_allday_page.json"),
    ),
];

fn sample_events() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (name, text) in SAMPLES {
        let doc: Value = serde_json::from_str(text).expect(name);
        let events: Vec<Value> = match doc {
            Value::Object(mut m) if m.contains_key("items") => match m.remove("items") {
                Some(Value::Array(items)) => items,
                other => panic!("{name}: items is {other:?}"),
            },
            Value::Array(items) => items,
            Value::Object(m) => m.into_iter().map(|(_, v)| v).collect(),
            other => panic!("{name}: {other}"),
        };
        out.extend(
            events
                .into_iter()
                .enumerate()
                .map(|(i, e)| (format!("{name}[{i}]"), e)),
        );
    }
    out
}

#[test]
fn every_real_sample_round_trips_whole() {
    let events = sample_events();
    assert!(events.len() >= 30, "{} events", events.len());
    for (name, raw) in &events {
        let strict: Event = serde_json::from_value(raw.clone()).expect(name);
        assert_eq!(&strict.to_value(), raw, "{name}");
        // Through text too, as it goes to Google and to PostgreSQL.
        let text = serde_json::to_string(&strict).unwrap();
        assert_eq!(
            &serde_json::from_str::<Value>(&text).unwrap(),
            raw,
            "{name}"
        );
        let read = Event::read(raw).expect(name);
        assert!(read.unfit.is_empty(), "{name}: {:?}", read.unfit);
        assert_eq!(read.event, strict, "{name}");
        assert!(strict.id.is_some(), "{name}");
    }
}

#[test]
fn the_fields_calsync_reads_are_typed() {
    let events: Vec<Event> = sample_events()
        .into_iter()
        .map(|(_, v)| serde_json::from_value(v).unwrap())
        .collect();
    let cancelled = events
        .iter()
        .find(|e| e.is_cancelled() && e.recurring_event_id.is_some())
        .expect("a cancelled instance");
    assert!(cancelled.summary.is_none() && cancelled.start.is_none());
    assert!(
        cancelled
            .original_start_time
            .as_ref()
            .unwrap()
            .when(None)
            .is_some()
    );
    let day = events
        .iter()
        .find(|e| e.start.as_ref().is_some_and(|s| s.date.is_some()))
        .expect("an all-day event");
    assert!(matches!(
        day.start.as_ref().unwrap().when(None),
        Some(When::Day(_))
    ));
    let master = events
        .iter()
        .find(|e| e.recurrence.is_some())
        .expect("a series");
    assert!(master.recurrence.as_ref().unwrap()[0].starts_with("RRULE:"));
    assert!(master.ical_uid.is_some() && master.sequence.is_some());
    assert!(master.updated_time().unwrap().is_some());
    assert!(events.iter().any(|e| e.extra.contains_key("attendees")));
    assert!(
        events
            .iter()
            .any(|e| e.extra.contains_key("conferenceData"))
    );
}

#[test]
fn unknown_fields_survive_at_every_level() {
    let raw = json!({"id": "a", "futureField": {"x": [1, 2]},
        "start": {"dateTime": "2026-02-17T14:00:00+01:00", "timeZone": "Europe/Paris", "precision": "ms"},
        "end": {"dateTime": "2026-02-17T15:00:00+01:00"},
        "extendedProperties": {"private": {"calsync_written": "1:ab", "n": 3}, "other": true}});
    let e: Event = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(e.extra["futureField"]["x"][1], 2);
    assert_eq!(e.start.as_ref().unwrap().extra["precision"], "ms");
    assert_eq!(e.private_property("calsync_written"), Some("1:ab"));
    assert_eq!(e.private_property("n"), None, "not a string");
    assert_eq!(e.to_value(), raw);
}

#[test]
fn fields_that_do_not_fit_are_set_aside_named_and_kept() {
    let raw = json!({"id": "x", "summary": 3, "start": {"dateTime": 12},
        "end": {"date": "2026-02-30"}, "sequence": "7", "extendedProperties": 3,
        "updated": "2026-02-16T10:00:00Z", "location": "Room 1"});
    assert!(
        serde_json::from_value::<Event>(raw.clone()).is_err(),
        "strict"
    );
    let read = Event::read(&raw).unwrap();
    assert_eq!(
        read.unfit,
        ["summary", "start", "end", "sequence", "extendedProperties"]
    );
    let e = &read.event;
    assert_eq!(e.id.as_deref(), Some("x"));
    assert_eq!(e.location.as_deref(), Some("Room 1"));
    assert!(e.summary.is_none() && e.start.is_none() && e.sequence.is_none());
    assert_eq!(e.extra["summary"], 3);
    assert_eq!(e.to_value(), raw, "nothing lost");
    assert_eq!(Event::read(&json!("not an object")), Err(NotAnObject));
    assert_eq!(Event::read(&json!([1])), Err(NotAnObject));
}

#[test]
fn an_explicit_null_reminders_is_kept_and_other_nulls_read_as_absent() {
    let e = Event::read(&json!({"id": "x", "reminders": null, "summary": null}))
        .unwrap()
        .event;
    assert_eq!(e.reminders, Some(Value::Null));
    assert_eq!(e.summary, None);
    assert_eq!(e.to_value(), json!({"id": "x", "reminders": null}));
}

#[test]
fn event_times_read_as_google_means_them() {
    let t = |v: Value| serde_json::from_value::<EventTime>(v).unwrap();
    let paris: Tz = "Europe/Paris".parse().unwrap();
    let at = |s: &str| When::At(s.parse::<DateTime<Utc>>().unwrap());
    assert_eq!(
        t(json!({"dateTime": "2026-02-17T14:00:00+01:00"})).when(None),
        Some(at("2026-02-17T13:00:00Z"))
    );
    // Without an offset: in its own zone, else in the fallback, else unreadable.
    let local = json!({"dateTime": "2026-02-17T14:00:00", "timeZone": "Europe/Paris"});
    assert_eq!(t(local).when(None), Some(at("2026-02-17T13:00:00Z")));
    let unknown_zone = t(json!({"dateTime": "2026-02-17T14:00:00", "timeZone": "Mars/Olympus"}));
    assert_eq!(unknown_zone.zone(), None);
    assert_eq!(unknown_zone.when(None), None);
    assert_eq!(
        unknown_zone.when(Some(paris)),
        Some(at("2026-02-17T13:00:00Z"))
    );
    assert_eq!(
        t(json!({"dateTime": "2026-02-17T14:00:00"})).when(None),
        None
    );
    let d = NaiveDate::from_ymd_opt(2017, 6, 17).unwrap();
    assert_eq!(
        t(json!({"date": "2017-06-17"})).when(None),
        Some(When::Day(d))
    );
    // A `dateTime` that does not read is not replaced by the `date` beside it.
    assert_eq!(
        t(json!({"dateTime": "yesterday", "date": "2017-06-17"})).when(Some(paris)),
        None
    );
    assert_eq!(t(json!({})).when(Some(paris)), None);
    assert_eq!(
        serde_json::to_value(EventTime::at("2026-02-17T13:00:00Z".into(), None)).unwrap(),
        json!({"dateTime": "2026-02-17T13:00:00Z"})
    );
    assert_eq!(
        serde_json::to_value(EventTime::day(d)).unwrap(),
        json!({"date": "2017-06-17"})
    );
}

#[test]
fn updated_reads_or_says_it_does_not() {
    let e = |u: &str| Event {
        updated: Some(u.into()),
        ..Event::default()
    };
    assert_eq!(
        e("2026-02-16T10:00:00.123Z").updated_time(),
        Some(Some("2026-02-16T10:00:00.123Z".parse().unwrap()))
    );
    assert_eq!(e("soon").updated_time(), Some(None));
    assert_eq!(Event::default().updated_time(), None);
}
