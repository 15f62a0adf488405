//! A local `events` row → the Google Event JSON calsync sends (role color, default reminders, calsync's private tag).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::config::Reminder;
use crate::db::events::{EventRow, EventStatus, Outgoing};
use crate::sync::stamp::{Content, STAMP_PROPERTY};

/// Private extended property that marks events calsync wrote (value: the local UUID).
pub const CALSYNC_PROPERTY: &str = "calsync_id";

/// Google's client-chosen id for a local UUID: its 32 lowercase hex digits (a subset of base32hex).
pub fn google_id(local: Uuid) -> String {
    local.simple().to_string()
}

fn when(at: Option<DateTime<Utc>>, date: Option<NaiveDate>, tz: Option<&str>) -> Value {
    match (at, date) {
        (Some(at), _) => {
            let mut v = json!({"dateTime": at.to_rfc3339_opts(SecondsFormat::Secs, true)});
            if let Some(tz) = tz {
                v["timeZone"] = json!(tz);
            }
            v
        }
        (None, Some(d)) => json!({"date": d.format("%Y-%m-%d").to_string()}),
        (None, None) => Value::Null,
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
    let mut body = Map::new();
    if with_id {
        body.insert("id".into(), json!(google_id(e.id)));
    }
    body.insert("summary".into(), json!(e.summary));
    body.insert("description".into(), json!(e.description));
    body.insert("location".into(), json!(e.location));
    body.insert(
        "start".into(),
        when(e.start_at, e.start_date, e.time_zone.as_deref()),
    );
    body.insert(
        "end".into(),
        when(e.end_at, e.end_date, e.time_zone.as_deref()),
    );
    body.insert(
        "status".into(),
        json!(match e.status {
            EventStatus::Cancelled => "confirmed",
            live => live.as_str(),
        }),
    );
    if let Some(rec) = &e.recurrence {
        body.insert("recurrence".into(), json!(rec));
    } else if !with_id {
        body.insert("recurrence".into(), Value::Null);
    }
    let reminders = match &e.reminders {
        Some(r) => r.clone(),
        None if default_reminders.is_empty() => json!({"useDefault": true}),
        None => json!({"useDefault": false, "overrides": default_reminders}),
    };
    body.insert("reminders".into(), reminders);
    if let Some(color) = out.color.as_deref().and_then(color_id) {
        body.insert("colorId".into(), json!(color));
    }
    body.insert(
        "extendedProperties".into(),
        json!({"private": {
            CALSYNC_PROPERTY: e.id.to_string(),
            STAMP_PROPERTY: stamp_of(e),
        }}),
    );
    Value::Object(body)
}

/// The write stamp of the content this body carries (see `sync::stamp`).
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
