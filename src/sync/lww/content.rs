//! What last-write-wins compares of an event: the fields a person edits (text, times, deletion).

use chrono::{DateTime, NaiveDate, Utc};

/// The fields last-write-wins compares, borrowed from either side; equal content means a version
/// is calsync's own write seen back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Content<'a> {
    pub live: bool,
    pub summary: Option<&'a str>,
    pub description: Option<&'a str>,
    pub location: Option<&'a str>,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

impl crate::db::events::EventRow {
    /// The fields last-write-wins compares, of the local row (a deleted row is not live).
    pub fn content(&self) -> Content<'_> {
        Content {
            live: self.deleted_at.is_none(),
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
