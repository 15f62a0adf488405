//! A local `events` row → the Google `Event` calsync sends (role color, default reminders, calsync's private tag).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::config::Reminder;
use crate::db::events::{EventRow, EventStatus, Outgoing};
use crate::google::{Event, EventTime, ExtendedProperties};
use crate::sync::lww::content::Content;
use crate::sync::lww::stamp::STAMP_PROPERTY;

/// Private extended property that marks events calsync wrote (value: the local UUID).
pub const CALSYNC_PROPERTY: &str = "calsync_id";

/// Google's client-chosen id for a local UUID: its 32 lowercase hex digits (a subset of base32hex).
pub fn google_id(local: Uuid) -> String {
    local.simple().to_string()
}

/// One end as calsync sends it: an instant in UTC (with the row's zone), or an all-day date.
fn when(at: Option<DateTime<Utc>>, date: Option<NaiveDate>, tz: Option<&str>) -> Option<EventTime> {
    match (at, date) {
        (Some(at), _) => Some(EventTime::at(
            at.to_rfc3339_opts(SecondsFormat::Secs, true),
            tz.map(str::to_string),
        )),
        (None, Some(d)) => Some(EventTime::day(d)),
        (None, None) => None,
    }
}

/// Google's event palette (colors.get → event): the id whose color is nearest to `hex`.
pub fn color_id(hex: &str) -> Option<&'static str> {
    const PALETTE: [(&str, (i32, i32, i32)); 11] = [
        ("1", (0xa4, 0xbd, 0xfc)),
        ("2", (0x7a, 0xe7, 0xbf)),
        ("3", (0xdb, 0xad, 0xff)),
        ("4", (0xff, 0x88, 0x7c)),
        ("5", (0xfb, 0xd7, 0x5b)),
        ("6", (0xff, 0xb8, 0x78)),
        ("7", (0x46, 0xd6, 0xdb)),
        ("8", (0xe1, 0xe1, 0xe1)),
        ("9", (0x54, 0x84, 0xed)),
        ("10", (0x51, 0xb7, 0x49)),
        ("11", (0xdc, 0x21, 0x27)),
    ];
    let hex = hex.strip_prefix('#')?;
    if hex.len() != 6 {
        return None;
    }
    let c = |i: usize| i32::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    let (r, g, b) = (c(0)?, c(2)?, c(4)?);
    PALETTE
        .iter()
        .min_by_key(|(_, (pr, pg, pb))| (r - pr).pow(2) + (g - pg).pow(2) + (b - pb).pow(2))
        .map(|(id, _)| *id)
}

/// The full body for insert (with `id`) or patch (without): every field calsync owns, nulls included
/// so a cleared local field clears at Google too.
pub fn event_body(out: &Outgoing, default_reminders: &[Reminder], with_id: bool) -> Value {
    let e = &out.event;
    let reminders = match &e.reminders {
        Some(r) => r.clone(),
        None if default_reminders.is_empty() => json!({"useDefault": true}),
        None => json!({"useDefault": false, "overrides": default_reminders}),
    };
    let event = Event {
        id: with_id.then(|| google_id(e.id)),
        summary: e.summary.clone(),
        description: e.description.clone(),
        location: e.location.clone(),
        start: when(e.start_at, e.start_date, e.time_zone.as_deref()),
        end: when(e.end_at, e.end_date, e.time_zone.as_deref()),
        status: Some(
            match e.status {
                EventStatus::Cancelled => "confirmed",
                live => live.as_str(),
            }
            .into(),
        ),
        recurrence: e.recurrence.clone(),
        reminders: Some(reminders),
        color_id: out.color.as_deref().and_then(color_id).map(str::to_string),
        extended_properties: Some(ExtendedProperties::private([
            (CALSYNC_PROPERTY, e.id.to_string()),
            (STAMP_PROPERTY, stamp_of(e)),
        ])),
        ..Event::default()
    };
    let mut body = event.to_value();
    // Nulls where the row is empty, so a cleared local field clears at Google too; an insert
    // leaves out an absent recurrence.
    let cleared: &[&str] = if with_id {
        &["summary", "description", "location", "start", "end"]
    } else {
        &[
            "summary",
            "description",
            "location",
            "start",
            "end",
            "recurrence",
        ]
    };
    if let Value::Object(fields) = &mut body {
        for key in cleared {
            fields.entry(*key).or_insert(Value::Null);
        }
    }
    body
}

/// The write stamp of the content this body carries (see `sync::lww::stamp`).
fn stamp_of(e: &EventRow) -> String {
    Content {
        live: true,
        ..e.content()
    }
    .stamp(e.updated_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::events::Origin;

    fn local(all_day: bool) -> Outgoing {
        let at = |s: &str| Some(s.parse::<DateTime<Utc>>().unwrap());
        let day = |s: &str| Some(s.parse::<NaiveDate>().unwrap());
        let updated_at = "2030-01-01T00:00:00Z".parse().unwrap();
        let event = EventRow {
            id: "0b5a6a2e-3f5e-4c1a-9d8e-1f2a3b4c5d6e".parse().unwrap(),
            calendar_id: "c".into(),
            casquette: "medecin".into(),
            external_id: None,
            summary: Some("Consultation".into()),
            description: None,
            location: Some("Cabinet".into()),
            start_at: if all_day {
                None
            } else {
                at("2030-02-17T13:00:00.5Z")
            },
            end_at: if all_day {
                None
            } else {
                at("2030-02-17T14:00:00Z")
            },
            start_date: if all_day { day("2030-02-17") } else { None },
            end_date: if all_day { day("2030-02-18") } else { None },
            time_zone: Some("Europe/Paris".into()),
            recurrence: None,
            recurring_event_id: None,
            original_start: None,
            reminders: None,
            status: EventStatus::Tentative,
            etag: None,
            google_updated: None,
            google_lww_at: None,
            sequence: None,
            raw: None,
            origin: Origin::Local,
            created_at: updated_at,
            updated_at,
            deleted_at: None,
        };
        Outgoing {
            event,
            color: Some("#ff0000".into()),
        }
    }

    #[test]
    fn bodies_carry_every_owned_field_with_nulls_for_the_empty_ones() {
        let timed = local(false);
        let stamp = stamp_of(&timed.event);
        let private = json!({"private": {CALSYNC_PROPERTY: timed.event.id.to_string(), STAMP_PROPERTY: stamp}});
        assert_eq!(
            event_body(&timed, &[], true),
            json!({"id": "0b5a6a2e3f5e4c1a9d8e1f2a3b4c5d6e", "summary": "Consultation",
                "description": null, "location": "Cabinet",
                "start": {"dateTime": "2030-02-17T13:00:00Z", "timeZone": "Europe/Paris"},
                "end": {"dateTime": "2030-02-17T14:00:00Z", "timeZone": "Europe/Paris"},
                "status": "tentative", "reminders": {"useDefault": true}, "colorId": "11",
                "extendedProperties": private})
        );
        let mut day = local(true);
        day.color = None;
        day.event.recurrence = Some(vec!["RRULE:FREQ=YEARLY".into()]);
        day.event.deleted_at = day.event.start_at;
        day.event.status = EventStatus::Cancelled;
        let reminders = [Reminder {
            method: "popup".into(),
            minutes: 10,
        }];
        let stamp = stamp_of(&day.event);
        assert_eq!(
            event_body(&day, &reminders, false),
            json!({"summary": "Consultation", "description": null, "location": "Cabinet",
                "start": {"date": "2030-02-17"}, "end": {"date": "2030-02-18"},
                "status": "confirmed", "recurrence": ["RRULE:FREQ=YEARLY"],
                "reminders": {"useDefault": false, "overrides": [{"method": "popup", "minutes": 10}]},
                "extendedProperties": {"private": {CALSYNC_PROPERTY: day.event.id.to_string(), STAMP_PROPERTY: stamp}}})
        );
        day.event.recurrence = None;
        day.event.start_date = None;
        day.event.end_date = None;
        let patch = event_body(&day, &[], false);
        assert_eq!(
            (&patch["recurrence"], &patch["start"], &patch["end"]),
            (&Value::Null, &Value::Null, &Value::Null)
        );
        assert!(patch.as_object().unwrap().contains_key("recurrence"));
        assert!(
            !event_body(&day, &[], true)
                .as_object()
                .unwrap()
                .contains_key("recurrence")
        );
    }

    #[test]
    fn role_colors_map_to_googles_palette() {
        assert_eq!(color_id("#ff0000"), Some("11"));
        assert_eq!(color_id("#00ff00"), Some("10"));
        assert_eq!(color_id("#0000ff"), Some("9"));
        assert_eq!(color_id("red"), None);
    }

    #[test]
    fn google_ids_are_base32hex() {
        let id = google_id(Uuid::new_v4());
        assert_eq!(id.len(), 32);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='v').contains(&c))
        );
    }
}
