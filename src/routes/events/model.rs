//! The events API's JSON: Google's Event field names and shapes (its `EventTime` for start and end),
//! plus `casquette`/`calendar_id` and the local `id`.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::db::events::EventStatus;
use crate::error::ApiError;

pub use crate::google::{EventTime, When};

/// Reads a start or end as the API takes it: an RFC 3339 `dateTime` with offset, or a `date`,
/// with an IANA `timeZone`; no other field.
fn when(t: &EventTime, field: &str) -> Result<When, ApiError> {
    if let Some(k) = t.extra.keys().next() {
        return Err(ApiError::BadRequest(format!(
            "{field}: unknown field `{k}`, expected one of `dateTime`, `date`, `timeZone`"
        )));
    }
    if let Some(tz) = &t.time_zone {
        tz.parse::<chrono_tz::Tz>().map_err(|_| {
            ApiError::BadRequest(format!("{field}.timeZone: {tz:?} is not an IANA time zone"))
        })?;
    }
    match (&t.date_time, &t.date) {
        (Some(dt), None) => DateTime::parse_from_rfc3339(dt)
            .map(|t| When::At(t.with_timezone(&Utc)))
            .map_err(|_| {
                ApiError::BadRequest(format!(
                    "{field}.dateTime: not an RFC 3339 date-time with offset"
                ))
            }),
        (None, Some(d)) => Ok(When::Day(*d)),
        _ => Err(ApiError::BadRequest(format!(
            "{field}: give exactly one of dateTime or date"
        ))),
    }
}

/// `(start_at, end_at, start_date, end_date)`: the `events` columns of a span.
pub type Columns = (
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<NaiveDate>,
    Option<NaiveDate>,
);

/// Validated start/end pair with the zone they carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub start: When,
    pub end: When,
    pub time_zone: Option<String>,
}

impl Span {
    pub fn parse(start: &EventTime, end: &EventTime) -> Result<Self, ApiError> {
        let (s, e) = (when(start, "start")?, when(end, "end")?);
        match (s, e) {
            (When::At(a), When::At(b)) if b < a => {
                Err(ApiError::BadRequest("end is before start".into()))
            }
            (When::Day(a), When::Day(b)) if b <= a => Err(ApiError::BadRequest(
                "end.date must be after start.date (it is exclusive)".into(),
            )),
            (When::At(_), When::Day(_)) | (When::Day(_), When::At(_)) => Err(ApiError::BadRequest(
                "start and end must both be dateTime or both be date".into(),
            )),
            _ => Ok(Self {
                start: s,
                end: e,
                time_zone: start.time_zone.clone().or_else(|| end.time_zone.clone()),
            }),
        }
    }

    pub fn columns(&self) -> Columns {
        match (self.start, self.end) {
            (When::At(a), When::At(b)) => (Some(a), Some(b), None, None),
            (When::Day(a), When::Day(b)) => (None, None, Some(a), Some(b)),
            _ => (None, None, None, None),
        }
    }
}

/// POST body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    pub casquette: Option<String>,
    pub calendar_id: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub location: Option<String>,
    pub start: EventTime,
    pub end: EventTime,
    pub recurrence: Option<Vec<String>>,
    pub reminders: Option<Value>,
    pub status: Option<String>,
}

/// Checks a `status` value (a write may not cancel: DELETE does).
pub fn status(s: Option<&str>) -> Result<EventStatus, ApiError> {
    match s.unwrap_or("confirmed") {
        "confirmed" => Ok(EventStatus::Confirmed),
        "tentative" => Ok(EventStatus::Tentative),
        other => Err(ApiError::BadRequest(format!(
            "status {other:?}: use confirmed or tentative (DELETE to cancel)"
        ))),
    }
}

/// Checks a PATCH's `status`: a string naming an allowed status; null or any other type is an
/// error (it used to fall back to `confirmed`, silently un-tentativing the event).
pub fn patched_status(v: &Value) -> Result<EventStatus, ApiError> {
    let kind = match v {
        Value::String(s) => return status(Some(s)),
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    Err(ApiError::BadRequest(format!(
        "status must be a string, not {kind}: use confirmed or tentative (DELETE to cancel)"
    )))
}

/// Checks recurrence lines with the RRULE parser; the error names the line (`recurrence[i]`).
pub fn recurrence(lines: &[String]) -> Result<(), ApiError> {
    crate::recurrence::check_lines(lines)
        .map(|_| ())
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

pub use crate::db::events::EventRow;

/// A stored start or end as the API shows it: a timed one in its zone (UTC without one).
fn time_json(at: Option<DateTime<Utc>>, day: Option<NaiveDate>, tz: &Option<String>) -> Value {
    let time = match (at, day) {
        (Some(at), _) => {
            let shown = match tz.as_deref().and_then(|z| z.parse::<chrono_tz::Tz>().ok()) {
                Some(z) => at
                    .with_timezone(&z)
                    .to_rfc3339_opts(SecondsFormat::Secs, false),
                None => at.to_rfc3339_opts(SecondsFormat::Secs, true),
            };
            Some(EventTime::at(shown, tz.clone()))
        }
        (None, Some(d)) => Some(EventTime::day(d)),
        _ => None,
    };
    json!(time)
}

impl EventRow {
    /// The API's JSON of a row (Google's field names, plus `id`, `calendar_id` and `casquette`).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("calendar_id".into(), json!(self.calendar_id));
        m.insert("casquette".into(), json!(self.casquette));
        m.insert("googleId".into(), json!(self.external_id));
        m.insert("summary".into(), json!(self.summary));
        m.insert("description".into(), json!(self.description));
        m.insert("location".into(), json!(self.location));
        m.insert(
            "start".into(),
            time_json(self.start_at, self.start_date, &self.time_zone),
        );
        m.insert(
            "end".into(),
            time_json(self.end_at, self.end_date, &self.time_zone),
        );
        if let Some(r) = &self.recurrence {
            m.insert("recurrence".into(), json!(r));
        }
        if let Some(r) = &self.recurring_event_id {
            m.insert("recurringEventId".into(), json!(r));
        }
        if let Some(o) = &self.original_start {
            let key = if o.len() == 10 { "date" } else { "dateTime" };
            m.insert("originalStartTime".into(), json!({key: o}));
        }
        m.insert(
            "reminders".into(),
            self.reminders
                .clone()
                .unwrap_or(json!({"useDefault": true})),
        );
        m.insert("status".into(), json!(self.status));
        m.insert("etag".into(), json!(self.etag));
        m.insert(
            "updated".into(),
            json!(
                self.google_updated
                    .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
            ),
        );
        m.insert(
            "updated_at".into(),
            json!(self.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true)),
        );
        m.insert(
            "created".into(),
            json!(self.created_at.to_rfc3339_opts(SecondsFormat::Millis, true)),
        );
        if let Some(link) = self.html_link() {
            m.insert("htmlLink".into(), json!(link));
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: Value) -> EventTime {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn patched_status_accepts_only_known_strings() {
        assert_eq!(
            patched_status(&json!("tentative")).unwrap().as_str(),
            "tentative"
        );
        assert_eq!(
            patched_status(&json!("confirmed")).unwrap().as_str(),
            "confirmed"
        );
        for bad in [
            json!(null),
            json!(1),
            json!(true),
            json!(["tentative"]),
            json!("cancelled"),
            json!("bogus"),
        ] {
            let err = patched_status(&bad).expect_err("rejected");
            assert!(
                matches!(&err, ApiError::BadRequest(m) if m.contains("status")),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn spans_are_validated() {
        let ok = Span::parse(
            &t(json!({"dateTime": "2026-02-17T14:00:00+01:00", "timeZone": "Europe/Paris"})),
            &t(json!({"dateTime": "2026-02-17T15:00:00+01:00"})),
        )
        .unwrap();
        assert_eq!(ok.time_zone.as_deref(), Some("Europe/Paris"));
        assert!(
            Span::parse(
                &t(json!({"dateTime": "2026-02-17T14:00:00Z"})),
                &t(json!({"dateTime": "2026-02-17T13:00:00Z"}))
            )
            .is_err()
        );
        assert!(
            Span::parse(
                &t(json!({"date": "2026-02-17"})),
                &t(json!({"date": "2026-02-17"}))
            )
            .is_err()
        );
        assert!(
            Span::parse(
                &t(json!({"date": "2026-02-17"})),
                &t(json!({"dateTime": "2026-02-17T13:00:00Z"}))
            )
            .is_err()
        );
        assert!(
            Span::parse(
                &t(json!({"dateTime": "2026-02-17T14:00:00Z", "timeZone": "Mars/Olympus"})),
                &t(json!({"dateTime": "2026-02-17T15:00:00Z"}))
            )
            .is_err()
        );
        assert!(
            Span::parse(
                &t(json!({"dateTime": "2026-02-17T14:00:00Z", "precision": "ms"})),
                &t(json!({"dateTime": "2026-02-17T15:00:00Z"}))
            )
            .is_err_and(|e| e.to_string().contains("unknown field `precision`"))
        );
        assert!(
            Span::parse(
                &t(json!({"dateTime": "tomorrow"})),
                &t(json!({"dateTime": "2026-02-17T15:00:00Z"}))
            )
            .is_err()
        );
    }
}
