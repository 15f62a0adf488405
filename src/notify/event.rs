//! What a notification says about an event (`EventSummary`), built from Google's Event JSON.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;

/// One end of an event: Google's `{"dateTime"}` (an instant) or `{"date"}` (all day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTime {
    DateTime(DateTime<Utc>),
    /// All-day date; as at Google, an event's end date is exclusive.
    Date(NaiveDate),
}

impl EventTime {
    /// Parses a Google `EventDateTime` object. A `dateTime` without an offset is read in `tz`.
    pub fn from_google(value: &Value, tz: Tz) -> Option<Self> {
        if let Some(s) = value.get("dateTime").and_then(Value::as_str) {
            return parse_date_time(s, tz).map(Self::DateTime);
        }
        let s = value.get("date").and_then(Value::as_str)?;
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .map(Self::Date)
    }
}

fn parse_date_time(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The fields a Telegram message shows. Never log them: titles and locations are personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    /// Google's `summary`; empty when the event has none.
    pub title: String,
    pub start: EventTime,
    pub end: EventTime,
    pub location: Option<String>,
    /// The role of the event's calendar ("medecin", "enseignant", "chercheur"…).
    pub casquette: String,
    /// Google's `htmlLink`, when known.
    pub html_link: Option<String>,
    /// Zone in which times are shown.
    pub time_zone: Tz,
}

impl EventSummary {
    /// From a Google Event resource. Times are shown in `start.timeZone` when it is a valid IANA
    /// zone, in `default_tz` (the calendar's zone) otherwise. `None` when the event has no usable
    /// start or end (e.g. a cancelled instance reduced to its id).
    pub fn from_google(event: &Value, casquette: &str, default_tz: Tz) -> Option<Self> {
        let start_value = event.get("start")?;
        let time_zone = start_value
            .get("timeZone")
            .and_then(Value::as_str)
            .and_then(|name| name.parse::<Tz>().ok())
            .unwrap_or(default_tz);
        let start = EventTime::from_google(start_value, time_zone)?;
        let end_value = event.get("end")?;
        let end_tz = end_value
            .get("timeZone")
            .and_then(Value::as_str)
            .and_then(|name| name.parse::<Tz>().ok())
            .unwrap_or(time_zone);
        let end = EventTime::from_google(end_value, end_tz)?;
        Some(Self {
            title: non_empty(event.get("summary")).unwrap_or_default(),
            start,
            end,
            location: non_empty(event.get("location")),
            casquette: casquette.to_string(),
            html_link: non_empty(event.get("htmlLink")),
            time_zone,
        })
    }
}

fn non_empty(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Paris;
    use serde_json::json;

    #[test]
    fn timed_event_with_zone() {
        let e = EventSummary::from_google(
            &json!({
                "summary": "Consultation cardio", "location": " Cabinet médical ",
                "htmlLink": "https://www.google.com/calendar/event?eid=abc",
                "start": {"dateTime": "2026-02-17T14:00:00+01:00", "timeZone": "Europe/Paris"},
                "end": {"dateTime": "2026-02-17T15:00:00+01:00", "timeZone": "Europe/Paris"}
            }),
            "medecin",
            chrono_tz::UTC,
        )
        .expect("valid event");
        assert_eq!(e.title, "Consultation cardio");
        assert_eq!(e.location.as_deref(), Some("Cabinet médical"));
        assert_eq!(e.time_zone, Paris);
        assert_eq!(
            e.start,
            EventTime::DateTime(Utc.with_ymd_and_hms(2026, 2, 17, 13, 0, 0).unwrap())
        );
        assert_eq!(
            e.html_link.as_deref(),
            Some("https://www.google.com/calendar/event?eid=abc")
        );
    }

    #[test]
    fn local_date_time_is_read_in_the_zone_and_unknown_zone_falls_back() {
        let e = EventSummary::from_google(
            &json!({
                "start": {"dateTime": "2026-02-17T14:00:00", "timeZone": "Mars/Olympus"},
                "end": {"dateTime": "2026-02-17T15:00:00"}
            }),
            "chercheur",
            Paris,
        )
        .expect("valid event");
        assert_eq!(e.time_zone, Paris);
        assert_eq!(e.title, "");
        assert_eq!(e.location, None);
        assert_eq!(
            e.start,
            EventTime::DateTime(Utc.with_ymd_and_hms(2026, 2, 17, 13, 0, 0).unwrap())
        );
    }

    #[test]
    fn all_day_event() {
        let e = EventSummary::from_google(
            &json!({"summary": "Congrès", "start": {"date": "2026-02-17"}, "end": {"date": "2026-02-18"}}),
            "chercheur",
            Paris,
        )
        .expect("valid event");
        assert_eq!(
            e.start,
            EventTime::Date(NaiveDate::from_ymd_opt(2026, 2, 17).unwrap())
        );
    }

    #[test]
    fn unusable_events_are_none_not_panics() {
        for raw in [
            json!({"id": "x", "status": "cancelled"}),
            json!({"start": {"dateTime": "yesterday"}, "end": {"dateTime": "2026-02-17T15:00:00Z"}}),
            json!({"start": {"date": "2026-02-30"}, "end": {"date": "2026-03-01"}}),
            json!({"start": {"dateTime": 12}, "end": {}}),
            json!({"start": {"date": "2026-02-17"}}),
            json!("not an object"),
        ] {
            assert!(
                EventSummary::from_google(&raw, "medecin", Paris).is_none(),
                "{raw}"
            );
        }
    }
}
