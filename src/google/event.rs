//! Google's Event resource, typed: the fields calsync reads, every other field kept whole in `extra`
//! (so an event read and written back loses nothing), and the one `EventTime` with its reading.
//!
//! Two ways in. `Deserialize` is strict: a known field of the wrong JSON type is an error.
//! [`Event::read`] is how calsync reads what Google sends: a known field whose JSON does not fit
//! its type is left out of the typed field, kept in `extra` as it came, and named in
//! [`Read::unfit`], so each caller decides whether that field matters (the sync refuses an event
//! whose `start`, `end` or `recurrence` is unreadable; a Telegram message just goes without it).

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// A Google Calendar `Event`. A JSON `null` reads as an absent field, except in `reminders`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// `confirmed`, `tentative` or `cancelled`; Google omits it on some tombstones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<EventTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<EventTime>,
    /// RRULE/EXRULE/RDATE/EXDATE lines of a series' master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<Vec<String>>,
    /// The master's id, on an instance or exception.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurring_event_id: Option<String>,
    /// Where the series put an instance (its key within the series, even once moved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_start_time: Option<EventTime>,
    /// Kept as JSON (`{"useDefault", "overrides"}`): calsync stores and sends it whole. Present
    /// means present: an explicit `null` stays `Some(Value::Null)`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub reminders: Option<Value>,
    /// RFC 3339, as Google wrote it (see [`Event::updated_time`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    #[serde(default, rename = "iCalUID", skip_serializing_if = "Option::is_none")]
    pub ical_uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_properties: Option<ExtendedProperties>,
    /// Every other field, as Google sent it.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The JSON names of the typed fields of [`Event`].
const FIELDS: [&str; 18] = [
    "id",
    "etag",
    "status",
    "summary",
    "description",
    "location",
    "start",
    "end",
    "recurrence",
    "recurringEventId",
    "originalStartTime",
    "reminders",
    "updated",
    "iCalUID",
    "sequence",
    "htmlLink",
    "colorId",
    "extendedProperties",
];

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Google's `EventDateTime`: `{"date"}` for an all-day end, `{"dateTime", "timeZone"}` for a timed one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventTime {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    /// RFC 3339 as written; without an offset when `timeZone` says where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_time: Option<String>,
    /// An IANA zone name (not checked here: see [`EventTime::zone`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Any other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An `EventTime` read: an instant, or an all-day date (an event's end date is exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    At(DateTime<Utc>),
    Day(NaiveDate),
}

impl EventTime {
    /// A timed end: `dateTime` as given, with its zone.
    pub fn at(date_time: String, time_zone: Option<String>) -> Self {
        Self {
            date_time: Some(date_time),
            time_zone,
            ..Self::default()
        }
    }

    /// An all-day end.
    pub fn day(date: NaiveDate) -> Self {
        Self {
            date: Some(date),
            ..Self::default()
        }
    }

    /// `timeZone`, when it names an IANA zone.
    pub fn zone(&self) -> Option<Tz> {
        self.time_zone.as_deref().and_then(|z| z.parse().ok())
    }

    /// What this end says: `dateTime` when present (a date-time without offset is read in its own
    /// zone, else in `fallback`; the earliest instant when a DST fold repeats it), else `date`.
    /// `None` when neither reads.
    pub fn when(&self, fallback: Option<Tz>) -> Option<When> {
        if let Some(s) = &self.date_time {
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(When::At(t.with_timezone(&Utc)));
            }
            let zone = self.zone().or(fallback)?;
            let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
            return zone
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| When::At(t.with_timezone(&Utc)));
        }
        self.date.map(When::Day)
    }
}

/// `extendedProperties`: calsync's tags live in `private`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendedProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ExtendedProperties {
    /// Private properties only (what calsync writes).
    pub fn private<'a>(props: impl IntoIterator<Item = (&'a str, String)>) -> Self {
        Self {
            private: Some(
                props
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), Value::String(v)))
                    .collect(),
            ),
            ..Self::default()
        }
    }
}

/// What [`Event::read`] gives: the event, and the known fields that did not fit their type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub event: Event,
    /// JSON names of known fields whose value did not fit (kept as sent in `event.extra`).
    pub unfit: Vec<&'static str>,
}

/// The JSON was not an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a Google event must be a JSON object")]
pub struct NotAnObject;

impl Event {
    /// Reads an event as Google sent it; see the module's note for the fields that do not fit.
    pub fn read(raw: &Value) -> Result<Read, NotAnObject> {
        let Value::Object(map) = raw else {
            return Err(NotAnObject);
        };
        if let Ok(event) = Self::deserialize(raw) {
            return Ok(Read {
                event,
                unfit: Vec::new(),
            });
        }
        // Rare: find the fields that do not fit, one at a time, and set them aside.
        let (mut fit, mut aside, mut unfit) = (Map::new(), Map::new(), Vec::new());
        for (k, v) in map {
            let alone = Value::Object(Map::from_iter([(k.clone(), v.clone())]));
            if Self::deserialize(&alone).is_ok() {
                fit.insert(k.clone(), v.clone());
            } else {
                // Only a typed field can fail: `extra` takes any value.
                unfit.extend(FIELDS.into_iter().find(|f| f == k));
                aside.insert(k.clone(), v.clone());
            }
        }
        let mut event = Self::deserialize(Value::Object(fit)).unwrap_or_default();
        event.extra.extend(aside);
        Ok(Read { event, unfit })
    }

    /// The event as JSON (every field, `extra` included).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    pub fn is_cancelled(&self) -> bool {
        self.status.as_deref() == Some("cancelled")
    }

    /// `updated` read: `None` when absent, `Some(None)` when it is not RFC 3339.
    pub fn updated_time(&self) -> Option<Option<DateTime<Utc>>> {
        self.updated.as_deref().map(|s| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })
    }

    /// A private extended property, when it is a string.
    pub fn private_property(&self, key: &str) -> Option<&str> {
        self.extended_properties
            .as_ref()?
            .private
            .as_ref()?
            .get(key)?
            .as_str()
    }
}

#[cfg(test)]
mod tests;
