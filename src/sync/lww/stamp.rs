//! calsync's write stamp: a private extended property on every event calsync writes, saying which
//! local version (its `updated_at`) the content came from, so last-write-wins can tell calsync's own
//! write seen back at Google (timed by when the *local* change was made) from a user's edit there
//! (timed by Google's `updated`).
//!
//! Why: a write that lands at Google after a later local change (a slow request, a crash before its
//! answer was stored) carries a Google `updated` newer than that local change; compared as is, the
//! older content would win. The stamp holds the local time and a digest of the compared fields; it
//! counts only while Google's content still matches the digest, so any edit made at Google since
//! (summary, description, location, times, deletion) falls back to Google's own `updated`.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::content::Content;

/// Private extended property holding `<local updated_at in µs>:<digest>`.
pub const STAMP_PROPERTY: &str = "calsync_written";

impl Content<'_> {
    /// A short, stable digest (SHA-256, 16 hex digits) of the compared fields.
    fn digest(&self) -> String {
        let mut h = Sha256::new();
        let mut field = |v: Option<String>| {
            match v {
                Some(s) => {
                    h.update([1u8]);
                    h.update((s.len() as u64).to_le_bytes());
                    h.update(s.as_bytes());
                }
                None => h.update([0u8]),
            };
        };
        field(Some(self.live.to_string()));
        field(self.summary.map(str::to_string));
        field(self.description.map(str::to_string));
        field(self.location.map(str::to_string));
        // Seconds: what calsync sends and Google keeps.
        field(self.start_at.map(|t| t.timestamp().to_string()));
        field(self.end_at.map(|t| t.timestamp().to_string()));
        field(self.start_date.map(|d| d.to_string()));
        field(self.end_date.map(|d| d.to_string()));
        let out = h.finalize();
        out.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// The stamp for content written from the local version of `updated_at`.
    pub fn stamp(&self, updated_at: DateTime<Utc>) -> String {
        format!("{}:{}", updated_at.timestamp_micros(), self.digest())
    }
}

/// The local time a stamp (an event's [`STAMP_PROPERTY`]) carries, while `content` still matches it.
pub fn written_at(stamp: &str, content: &Content<'_>) -> Option<DateTime<Utc>> {
    let (micros, digest) = stamp.split_once(':')?;
    if digest != content.digest() {
        return None;
    }
    DateTime::from_timestamp_micros(micros.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::Event;
    use serde_json::{Value, json};

    /// The stamp of an event as the mapping reads it.
    fn own_write_time(event: &Event, content: &Content<'_>) -> Option<DateTime<Utc>> {
        written_at(event.private_property(STAMP_PROPERTY)?, content)
    }

    fn content(summary: &str) -> Content<'_> {
        Content {
            live: true,
            summary: Some(summary),
            description: None,
            location: Some("Room 1"),
            start_at: DateTime::from_timestamp(1_900_000_000, 0),
            end_at: DateTime::from_timestamp(1_900_003_600, 0),
            start_date: None,
            end_date: None,
        }
    }

    fn raw_with(stamp: &str) -> Event {
        read(json!({"extendedProperties": {"private": {STAMP_PROPERTY: stamp}}}))
    }

    fn read(raw: Value) -> Event {
        Event::read(&raw).unwrap().event
    }

    #[test]
    fn a_stamp_counts_while_the_content_is_unchanged() {
        let t = DateTime::from_timestamp_micros(1_800_000_000_123_456).unwrap();
        let raw = raw_with(&content("Consultation").stamp(t));
        assert_eq!(own_write_time(&raw, &content("Consultation")), Some(t));
    }

    #[test]
    fn an_edit_at_google_voids_the_stamp() {
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let raw = raw_with(&content("Consultation").stamp(t));
        assert_eq!(own_write_time(&raw, &content("Consultation (moved)")), None);
        let mut deleted = content("Consultation");
        deleted.live = false;
        assert_eq!(own_write_time(&raw, &deleted), None);
    }

    #[test]
    fn missing_or_malformed_stamps_are_ignored() {
        let c = content("x");
        assert_eq!(own_write_time(&read(json!({})), &c), None);
        assert_eq!(own_write_time(&raw_with("garbage"), &c), None);
        assert_eq!(own_write_time(&raw_with("abc:def"), &c), None);
        assert_eq!(
            own_write_time(&read(json!({"extendedProperties": 3})), &c),
            None
        );
    }
}
