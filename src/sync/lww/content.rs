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
