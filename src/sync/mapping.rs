//! A Google event (read into the typed `google::Event`) → the columns of one `events` row that
//! Google's version sets (a `db::events::GoogleVersion`), the JSON it came from kept whole in `raw`,
//! unknown fields included.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::lww::content::Content;
use super::lww::stamp::{STAMP_PROPERTY, written_at};
use crate::db::events::{EventStatus, GoogleVersion};
use crate::google::{Event, EventTime, Read, When};

/// Why an item of a Google page cannot be stored (the page is rejected, nothing half-applied).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MappingError {
    #[error("event without an id")]
    MissingId,
    #[error("event {id}: unreadable {field}")]
    BadField { id: String, field: &'static str },
}

impl GoogleVersion {
    /// Reads one item of an `events.list` page (or Google's answer to a write).
    pub fn from_google(raw: &Value) -> Result<Self, MappingError> {
        let read = Event::read(raw).map_err(|_| MappingError::MissingId)?;
        Self::from_event(read, raw.clone())
    }

    /// One event as [`Event::read`] gave it; `raw` is the JSON it was read from, kept whole.
    /// Unreadable `start`, `end`, `recurrence` or `updated`, or a `status` that is not one of
    /// Google's three, refuse the event; any other field that does not fit its type is taken as
    /// absent (and stays in `raw`).
    pub fn from_event(read: Read, raw: Value) -> Result<Self, MappingError> {
        let Read { event, unfit } = read;
        let stamp = event.private_property(STAMP_PROPERTY).map(str::to_string);
        let updated = event.updated_time();
        let id = event
            .id
            .filter(|s| !s.is_empty())
            .ok_or(MappingError::MissingId)?;
        let bad = |field: &'static str| MappingError::BadField {
            id: id.clone(),
            field,
        };
        let when = |t: &Option<EventTime>, field: &'static str| -> Result<Ends, MappingError> {
            if unfit.contains(&field) {
                return Err(bad(field));
            }
            match t.as_ref().map(|t| t.when(None)) {
                None => Ok((None, None)),
                Some(Some(When::At(at))) => Ok((Some(at), None)),
                Some(Some(When::Day(d))) => Ok((None, Some(d))),
                Some(None) => Err(bad(field)),
            }
        };
        let (start_at, start_date) = when(&event.start, "start")?;
        let (end_at, end_date) = when(&event.end, "end")?;
        let status = match event.status.as_deref() {
            None => EventStatus::Confirmed,
            Some(s) => EventStatus::parse(s).ok_or_else(|| bad("status"))?,
        };
        let cancelled = status == EventStatus::Cancelled;
        // A live event needs both ends of one kind (the table's check); cancelled tombstones may have none.
        let timed = start_at.is_some() && end_at.is_some();
        let all_day = start_date.is_some() && end_date.is_some();
        if !cancelled && !timed && !all_day {
            return Err(bad("start/end"));
        }
        if unfit.contains(&"recurrence") {
            return Err(bad("recurrence"));
        }
        let google_updated = match updated {
            Some(None) => return Err(bad("updated")),
            Some(t) => t,
            None => None,
        };
        let original_start = event.original_start_time.and_then(|o| {
            o.date_time
                .or_else(|| o.date.map(|d| d.format("%Y-%m-%d").to_string()))
        });
        let time_zone = [&event.start, &event.end]
            .into_iter()
            .find_map(|t| t.as_ref()?.time_zone.clone());
        let mut row = Self {
            status,
            summary: event.summary,
            description: event.description,
            location: event.location,
            start_at: if timed { start_at } else { None },
            end_at: if timed { end_at } else { None },
            start_date: if timed {
                None
            } else {
                start_date.filter(|_| all_day)
            },
            end_date: if timed {
                None
            } else {
                end_date.filter(|_| all_day)
            },
            time_zone,
            recurrence: event.recurrence,
            recurring_event_id: event.recurring_event_id,
            original_start,
            reminders: event.reminders,
            etag: event.etag,
            google_updated,
            sequence: event.sequence.and_then(|n| i32::try_from(n).ok()),
            raw,
            external_id: id,
            google_lww_at: google_updated,
        };
        if let Some(t) = stamp.and_then(|s| written_at(&s, &row.content())) {
            row.google_lww_at = Some(t);
        }
        Ok(row)
    }

    /// The fields last-write-wins compares.
    pub fn content(&self) -> Content<'_> {
        Content {
            live: !self.is_cancelled(),
            summary: self.summary.as_deref(),
            description: self.description.as_deref(),
            location: self.location.as_deref(),
            start_at: self.start_at,
            end_at: self.end_at,
            start_date: self.start_date,
            end_date: self.end_date,
        }
    }
}

/// One end read: `(dateTime, date)`.
type Ends = (Option<DateTime<Utc>>, Option<NaiveDate>);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timed_event_keeps_unknown_fields_in_raw() {
        let raw = json!({"id": "abc", "etag": "\"1\"", "status": "confirmed", "summary": "s",
            "start": {"dateTime": "2026-02-17T14:00:00+01:00", "timeZone": "Europe/Paris"},
            "end": {"dateTime": "2026-02-17T15:00:00+01:00"}, "updated": "2026-02-16T10:00:00.123Z",
            "futureField": {"x": 1}, "sequence": 2});
        let row = GoogleVersion::from_google(&raw).unwrap();
        assert_eq!(
            row.start_at.unwrap().to_rfc3339(),
            "2026-02-17T13:00:00+00:00"
        );
        assert_eq!(row.time_zone.as_deref(), Some("Europe/Paris"));
        assert_eq!(row.sequence, Some(2));
        assert_eq!(row.raw["futureField"]["x"], 1);
    }

    #[test]
    fn all_day_and_cancelled_instance_shapes() {
        let day = GoogleVersion::from_google(
            &json!({"id": "d1", "start": {"date": "2017-06-17"}, "end": {"date": "2017-06-18"}}),
        )
        .unwrap();
        assert_eq!(day.start_date.unwrap().to_string(), "2017-06-17");
        assert!(day.start_at.is_none());
        let gone =
            GoogleVersion::from_google(&json!({"id": "m_20250324T123000Z", "status": "cancelled",
            "recurringEventId": "m", "originalStartTime": {"dateTime": "2025-03-24T12:30:00Z"}}))
            .unwrap();
        assert!(gone.is_cancelled());
        assert_eq!(gone.original_start.as_deref(), Some("2025-03-24T12:30:00Z"));
    }

    #[test]
    fn date_times_without_offset_use_their_time_zone() {
        let row = GoogleVersion::from_google(&json!({"id": "x",
            "start": {"dateTime": "2026-02-17T14:00:00", "timeZone": "Europe/Paris"},
            "end": {"dateTime": "2026-02-17T15:00:00", "timeZone": "Europe/Paris"}}))
        .unwrap();
        assert_eq!(
            row.start_at.unwrap().to_rfc3339(),
            "2026-02-17T13:00:00+00:00"
        );
        let no_zone = json!({"id": "x", "start": {"dateTime": "2026-02-17T14:00:00"},
            "end": {"dateTime": "2026-02-17T15:00:00"}});
        assert!(
            GoogleVersion::from_google(&no_zone).is_err(),
            "no offset and no zone"
        );
    }

    #[test]
    fn real_google_events_map_and_odd_fields_are_absent_but_kept() {
        let page: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/google/compass_this_and_following_split.json"
        ))
        .unwrap();
        for item in page["items"].as_array().unwrap() {
            let row = GoogleVersion::from_google(item).unwrap();
            assert_eq!(&row.raw, item);
            assert_eq!(row.time_zone.as_deref(), Some("America/Chicago"));
        }
        // Outside start, end, recurrence and updated, a field of the wrong type reads as absent.
        let raw = json!({"id": "x", "summary": 3, "status": 1, "sequence": "2", "etag": [],
            "start": {"date": "2020-01-01"}, "end": {"date": "2020-01-02"}});
        let row = GoogleVersion::from_google(&raw).unwrap();
        assert_eq!((row.summary, row.sequence, row.etag), (None, None, None));
        assert_eq!(row.status, EventStatus::Confirmed);
        assert_eq!(row.raw, raw);
        let odd_status = json!({"id": "x", "status": "postponed",
            "start": {"date": "2020-01-01"}, "end": {"date": "2020-01-02"}});
        assert_eq!(
            GoogleVersion::from_google(&odd_status),
            Err(MappingError::BadField {
                id: "x".into(),
                field: "status"
            })
        );
        let bad_end = json!({"id": "x", "start": {"date": "2020-01-01"}, "end": {"dateTime": 12}});
        assert_eq!(
            GoogleVersion::from_google(&bad_end),
            Err(MappingError::BadField {
                id: "x".into(),
                field: "end"
            })
        );
    }

    #[test]
    fn broken_items_are_errors_not_panics() {
        assert_eq!(
            GoogleVersion::from_google(&json!({"summary": "x"})),
            Err(MappingError::MissingId)
        );
        assert!(
            GoogleVersion::from_google(
                &json!({"id": "x", "start": {"dateTime": "yesterday"}, "end": {"dateTime": "x"}})
            )
            .is_err()
        );
        assert!(
            GoogleVersion::from_google(&json!({"id": "x", "start": {"date": "2020-01-01"}}))
                .is_err()
        );
        assert!(GoogleVersion::from_google(&json!({"id": "x", "recurrence": "RRULE", "start": {"date": "2020-01-01"}, "end": {"date": "2020-01-02"}})).is_err());
    }
}
