//! What a notification says about an event (`EventSummary`), built from a Google `Event`.

use chrono_tz::Tz;
use serde_json::Value;

use crate::google::{Event, When};

/// The fields a Telegram message shows. Never log them: titles and locations are personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    /// Google's `summary`; empty when the event has none.
    pub title: String,
    pub start: When,
    pub end: When,
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
    pub fn from_event(event: &Event, casquette: &str, default_tz: Tz) -> Option<Self> {
        let start_value = event.start.as_ref()?;
        let time_zone = start_value.zone().unwrap_or(default_tz);
        let start = start_value.when(Some(time_zone))?;
        let end_value = event.end.as_ref()?;
        let end = end_value.when(Some(end_value.zone().unwrap_or(time_zone)))?;
        Some(Self {
            title: non_empty(event.summary.as_deref()).unwrap_or_default(),
            start,
            end,
            location: non_empty(event.location.as_deref()),
            casquette: casquette.to_string(),
            html_link: non_empty(event.html_link.as_deref()),
            time_zone,
        })
    }

    /// From Google's JSON of an event (read as [`Event::read`] does); `None` when it is not one.
    pub fn from_google(event: &Value, casquette: &str, default_tz: Tz) -> Option<Self> {
        Self::from_event(&Event::read(event).ok()?.event, casquette, default_tz)
    }
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};
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
            When::At(Utc.with_ymd_and_hms(2026, 2, 17, 13, 0, 0).unwrap())
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
            When::At(Utc.with_ymd_and_hms(2026, 2, 17, 13, 0, 0).unwrap())
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
            When::Day(NaiveDate::from_ymd_opt(2026, 2, 17).unwrap())
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
