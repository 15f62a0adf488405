//! The `events` row: [`EventRow`], the one type for the table's columns; the narrow projections of
//! it that a query reads or writes instead ([`GoogleVersion`]: what a version from Google sets;
//! [`LocalColumns`]: what a local write sets; [`Outgoing`]: a row with its calendar's colour, as
//! the writer sends it); and the table's text enums ([`EventStatus`], [`Origin`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use uuid::Uuid;

/// `events.status`, Google's values (the table's CHECK: `confirmed`, `tentative`, `cancelled`); the
/// API shows it as the same lowercase string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, serde::Serialize)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    /// The default.
    Confirmed,
    /// Marked tentative.
    Tentative,
    /// Deleted: a soft-deleted row, or a cancelled instance of a series kept as an exception.
    Cancelled,
}

impl EventStatus {
    /// The stored value, also Google's and the API's.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Tentative => "tentative",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status named `s` (exactly as stored), if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "confirmed" => Some(Self::Confirmed),
            "tentative" => Some(Self::Tentative),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// `events.origin` (CHECK: `local`, `google`): who wrote the row last, set by the
/// `events_before_write` trigger from the transaction's `calsync.origin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Origin {
    /// A local writer: the API, a manual conflict choice, plain SQL.
    Local,
    /// calsync storing a version from Google (a `GoogleTx`).
    Google,
}

/// One row of `events`, every column but `seen_generation` (which nothing reads or writes). The API,
/// `/today`, the writer and the sync's last-write-wins check read it whole; queries that need fewer
/// columns use the projections of this module.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// The local id; its 32 hex digits are also the id calsync gives the event when inserting it at Google.
    pub id: Uuid,
    /// The calendar (`calendars.id`); an event stays on its calendar.
    pub calendar_id: String,
    /// The calendar's role, kept equal to `calendars.casquette` by the write contract's trigger.
    pub casquette: String,
    /// Google's event id; `None` until calsync's insert reached Google.
    pub external_id: Option<String>,
    /// The title.
    pub summary: Option<String>,
    /// The description (free text).
    pub description: Option<String>,
    /// Where it takes place (free text).
    pub location: Option<String>,
    /// Start of a timed event (with `end_at`; the dates are then `None`).
    pub start_at: Option<DateTime<Utc>>,
    /// End of a timed event.
    pub end_at: Option<DateTime<Utc>>,
    /// First day of an all-day event (with `end_date`; the instants are then `None`).
    pub start_date: Option<NaiveDate>,
    /// The day after an all-day event's last (exclusive, as at Google).
    pub end_date: Option<NaiveDate>,
    /// IANA zone of the start and end (required for a timed series).
    pub time_zone: Option<String>,
    /// The `RRULE`/`EXRULE`/`RDATE`/`EXDATE` lines of a series master.
    pub recurrence: Option<Vec<String>>,
    /// For an exception instance of a series: the master's Google id.
    pub recurring_event_id: Option<String>,
    /// For an exception instance: the occurrence it replaces (Google's `originalStartTime`, its
    /// `dateTime` or `date` as Google wrote it).
    pub original_start: Option<String>,
    /// Google's reminders JSON (`{"useDefault", "overrides"}`); `None`: the calendar's defaults.
    pub reminders: Option<Value>,
    /// Confirmed, tentative, or cancelled (a deleted row or a cancelled instance of a series).
    pub status: EventStatus,
    /// Google's etag of the version last stored: the `If-Match` of the next patch or delete.
    pub etag: Option<String>,
    /// Google's `updated` of that version.
    pub google_updated: Option<DateTime<Utc>>,
    /// The time last-write-wins gives that version: the local time of calsync's own write while
    /// Google holds it unchanged (see `sync::lww::stamp`), else `google_updated`.
    pub google_lww_at: Option<DateTime<Utc>>,
    /// Google's `sequence` of that version.
    pub sequence: Option<i32>,
    /// Google's JSON of that version, unknown fields kept; `None` until Google has answered for it.
    pub raw: Option<Value>,
    /// Who wrote the row last.
    pub origin: Origin,
    /// When the row was inserted.
    pub created_at: DateTime<Utc>,
    /// The last local write (the trigger moves it on a local write that does not set it): the local
    /// side's time for last-write-wins.
    pub updated_at: DateTime<Utc>,
    /// When the event was deleted (a soft delete); `None` while it is live.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl EventRow {
    /// Google's `htmlLink` from the stored version (as `raw->>'htmlLink'` reads it).
    pub fn html_link(&self) -> Option<String> {
        match self.raw.as_ref()?.get("htmlLink")? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}

/// An event as Google holds it: the columns of its row that a version from Google sets (a sync
/// page's upsert, the writer storing Google's answer), read from Google's JSON by `sync::mapping`.
/// It has no local id: Google does not know it, and the row is found by `external_id` (or, for the
/// writer, by the local id it already has).
#[derive(Debug, Clone, PartialEq)]
pub struct GoogleVersion {
    /// Google's event id (`events.external_id`).
    pub external_id: String,
    /// Google's `status` (`confirmed` when absent).
    pub status: EventStatus,
    /// Google's `summary`.
    pub summary: Option<String>,
    /// Google's `description`.
    pub description: Option<String>,
    /// Google's `location`.
    pub location: Option<String>,
    /// Start of a timed event, as an instant; a live event has these two or the dates, a cancelled
    /// tombstone may have neither.
    pub start_at: Option<DateTime<Utc>>,
    /// End of a timed event.
    pub end_at: Option<DateTime<Utc>>,
    /// First day of an all-day event.
    pub start_date: Option<NaiveDate>,
    /// The day after an all-day event's last (exclusive).
    pub end_date: Option<NaiveDate>,
    /// The `timeZone` of the start (else of the end).
    pub time_zone: Option<String>,
    /// Google's `recurrence` lines (a series master).
    pub recurrence: Option<Vec<String>>,
    /// Google's `recurringEventId` (an instance of a series).
    pub recurring_event_id: Option<String>,
    /// Google's `originalStartTime`, its `dateTime` or `date` as written.
    pub original_start: Option<String>,
    /// Google's `reminders` JSON.
    pub reminders: Option<Value>,
    /// Google's `etag`.
    pub etag: Option<String>,
    /// Google's `updated`.
    pub google_updated: Option<DateTime<Utc>>,
    /// The time last-write-wins compares: the local time of the version calsync wrote when Google
    /// still holds exactly that (see `sync::lww::stamp`), else Google's `updated`.
    pub google_lww_at: Option<DateTime<Utc>>,
    /// Google's `sequence`.
    pub sequence: Option<i32>,
    /// Google's JSON, whole (unknown fields included).
    pub raw: Value,
}

impl GoogleVersion {
    /// A deletion at Google (a tombstone, or a cancelled instance of a series).
    pub fn is_cancelled(&self) -> bool {
        self.status == EventStatus::Cancelled
    }
}

/// What a local write sets: the write contract's columns, for a new event or a version that a
/// manual conflict choice restores. The trigger fills in the rest (role, outbox entry, `updated_at`).
#[derive(Debug, Clone, Copy)]
pub struct LocalColumns<'a> {
    /// `events.summary`.
    pub summary: Option<&'a str>,
    /// `events.description`.
    pub description: Option<&'a str>,
    /// `events.location`.
    pub location: Option<&'a str>,
    /// Start of a timed event (the dates are then `None`).
    pub start_at: Option<DateTime<Utc>>,
    /// End of a timed event.
    pub end_at: Option<DateTime<Utc>>,
    /// First day of an all-day event (the instants are then `None`).
    pub start_date: Option<NaiveDate>,
    /// The day after an all-day event's last (exclusive).
    pub end_date: Option<NaiveDate>,
    /// `events.time_zone` (restoring a version without one keeps the row's).
    pub time_zone: Option<&'a str>,
    /// `events.recurrence`.
    pub recurrence: Option<&'a [String]>,
    /// `events.reminders` (restoring a version without them keeps the row's).
    pub reminders: Option<&'a Value>,
    /// Confirmed or tentative: a local write does not cancel, it deletes.
    pub status: EventStatus,
}

/// An event on its way to Google, as the writer reads it for one outbox entry (one query): its
/// row, and its calendar's colour.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The event's row, deleted or not.
    pub event: EventRow,
    /// `calendars.color` (`#rrggbb`), sent as the nearest of Google's event colours.
    pub color: Option<String>,
}
