//! Google event JSON → the columns of one `events` row that Google's version sets (a
//! `db::events::GoogleVersion`; raw JSON kept whole, unknown fields included).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::db::events::{EventStatus, GoogleVersion};

/// Why an item of a Google page cannot be stored (the page is rejected, nothing half-applied).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MappingError {
    #[error("event without an id")]
    MissingId,
    #[error("event {id}: unreadable {field}")]
    BadField { id: String, field: &'static str },
}

impl GoogleVersion {
    /// Reads one item of an `events.list` page.
    pub fn from_google(raw: &Value) -> Result<Self, MappingError> {
        let id = raw
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(MappingError::MissingId)?
            .to_string();
        let text = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_string);
        let status = match raw.get("status").and_then(Value::as_str) {
            None => EventStatus::Confirmed,
            Some(s) => EventStatus::parse(s).ok_or_else(|| MappingError::BadField {
                id: id.clone(),
                field: "status",
            })?,
        };
        let (start_at, start_date, start_tz) = when(raw.get("start"), &id, "start")?;
        let (end_at, end_date, end_tz) = when(raw.get("end"), &id, "end")?;
        let cancelled = status == EventStatus::Cancelled;
        // A live event needs both ends of one kind (the table's check); cancelled tombstones may have none.
        let timed = start_at.is_some() && end_at.is_some();
        let all_day = start_date.is_some() && end_date.is_some();
        if !cancelled && !timed && !all_day {
            return Err(MappingError::BadField {
                id,
                field: "start/end",
            });
        }
        let recurrence = match raw.get("recurrence") {
            None | Some(Value::Null) => None,
            Some(Value::Array(lines)) => Some(
                lines
                    .iter()
                    .map(|l| l.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| MappingError::BadField {
                        id: id.clone(),
                        field: "recurrence",
                    })?,
            ),
            Some(_) => {
                return Err(MappingError::BadField {
                    id,
                    field: "recurrence",
                });
            }
        };
        let original_start = raw.get("originalStartTime").and_then(|o| {
            o.get("dateTime")
                .or_else(|| o.get("date"))
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        let google_updated = match raw.get("updated").and_then(Value::as_str) {
            Some(s) => Some(parse_instant(s).ok_or_else(|| MappingError::BadField {
                id: id.clone(),
                field: "updated",
            })?),
            None => None,
        };
        let mut row = Self {
            status,
            summary: text("summary"),
            description: text("description"),
            location: text("location"),
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
            time_zone: start_tz.or(end_tz),
            recurrence,
            recurring_event_id: text("recurringEventId"),
            original_start,
            reminders: raw.get("reminders").cloned(),
            etag: text("etag"),
            google_updated,
            sequence: raw
                .get("sequence")
                .and_then(Value::as_i64)
                .and_then(|n| i32::try_from(n).ok()),
            raw: raw.clone(),
            external_id: id,
            google_lww_at: google_updated,
        };
        if let Some(t) = super::stamp::own_write_time(raw, &row.content()) {
            row.google_lww_at = Some(t);
        }
        Ok(row)
    }

    /// The fields last-write-wins compares.
    pub fn content(&self) -> super::stamp::Content<'_> {
        super::stamp::Content {
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

type When = (Option<DateTime<Utc>>, Option<NaiveDate>, Option<String>);

/// An `EventDateTime`: `{dateTime, timeZone}` or `{date}`.
fn when(v: Option<&Value>, id: &str, field: &'static str) -> Result<When, MappingError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok((None, None, None));
    };
    let bad = || MappingError::BadField {
        id: id.to_string(),
        field,
    };
    let tz = v
        .get("timeZone")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(dt) = v.get("dateTime").and_then(Value::as_str) {
        // Google allows a date-time without offset when `timeZone` says where it is.
        let at = parse_instant(dt)
            .or_else(|| local_instant(dt, tz.as_deref()?))
            .ok_or_else(bad)?;
        return Ok((Some(at), None, tz));
    }
    if let Some(d) = v.get("date").and_then(Value::as_str) {
        let date = NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| bad())?;
        return Ok((None, Some(date), tz));
    }
    Err(bad())
}

/// `2026-02-17T14:00:00` in the IANA zone `tz` (the earliest instant when a DST fold repeats it).
fn local_instant(s: &str, tz: &str) -> Option<DateTime<Utc>> {
    use chrono::TimeZone;
    let zone: chrono_tz::Tz = tz.parse().ok()?;
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

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
