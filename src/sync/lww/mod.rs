//! Last-write-wins, the one rule for a local change that Google's version of the same event meets
//! before Google has acknowledged it: what is compared ([`Content`]), calsync's write stamp
//! ([`stamp`]), and [`decide`], which turns both sides ([`Sides`]) into the [`Decision`] its caller
//! acts on. Two callers: the sync, a page against pending local changes ([`last_write_wins`]), and
//! the writer, Google's current version after a 412 or the copy a 409 found (`writer::process`).
//! The loser of a decision is kept in `conflicts`.

pub mod content;
mod page;
pub mod stamp;

use chrono::{DateTime, Utc};

pub use content::Content;
pub(crate) use page::last_write_wins;
pub use stamp::{STAMP_PROPERTY, written_at};

use crate::db::conflicts::Winner;
use crate::db::events::{EventRow, GoogleVersion};

/// Where the two versions met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Met {
    /// Google's version came on its own: in a listed page (the sync), or as the copy an insert
    /// found already there (a 409). The same content is calsync's own write seen back.
    Listed,
    /// Google refused the writer's `If-Match` (412); this is its current version. Only calsync's
    /// stamp of this very local change, on unchanged content, makes it the writer's own write.
    Refused,
}

/// The local side: a change Google has not acknowledged yet.
#[derive(Debug, Clone, Copy)]
pub struct Local<'a> {
    /// When the change was made (`events.updated_at`).
    pub updated_at: DateTime<Utc>,
    /// The etag stored with the row: the Google version the change started from.
    pub etag: Option<&'a str>,
    pub content: Content<'a>,
}

/// Google's side.
#[derive(Debug, Clone, Copy)]
pub struct Google<'a> {
    pub etag: Option<&'a str>,
    pub content: Content<'a>,
    /// Its time as last-write-wins sees it (`GoogleVersion::google_lww_at`): Google's `updated`, or
    /// the local time calsync's stamp carries while the content is calsync's own write.
    pub time: Option<DateTime<Utc>>,
}

/// Both versions of one event, and where they met.
#[derive(Debug, Clone, Copy)]
pub struct Sides<'a> {
    pub met: Met,
    pub local: Local<'a>,
    pub google: Google<'a>,
}

/// What to do with the two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Google still holds the version the local change started from (same etag): store it as
    /// bookkeeping; the local change goes on to Google. Nothing is lost.
    Unchanged,
    /// Google's version is the local change itself (calsync's own write seen back): store it,
    /// record no conflict.
    Echo,
    /// The local change is newer: Google's version is held back (sync) or written over (writer),
    /// and kept in `conflicts` by the writer.
    LocalWins,
    /// Google's version is newer: it replaces the local change, which is kept in `conflicts`.
    GoogleWins,
}

impl Decision {
    /// The side that won a conflict; `None` when there was none.
    pub fn winner(self) -> Option<Winner> {
        match self {
            Self::Unchanged | Self::Echo => None,
            Self::LocalWins => Some(Winner::Local),
            Self::GoogleWins => Some(Winner::Google),
        }
    }
}

/// The rule. Met in a listing: the same etag means Google did not change (unchanged); the same
/// content means Google holds the local change (an echo). After a refused write: an echo only
/// while Google's time is the local change's own (its stamp) and the content is unchanged.
/// Otherwise the newer side wins ([`newer`]).
pub fn decide(s: &Sides<'_>) -> Decision {
    let same_content = s.local.content == s.google.content;
    match s.met {
        Met::Listed if s.local.etag.is_some() && s.local.etag == s.google.etag => {
            return Decision::Unchanged;
        }
        Met::Listed if same_content => return Decision::Echo,
        Met::Refused if same_content && s.google.time == Some(s.local.updated_at) => {
            return Decision::Echo;
        }
        Met::Listed | Met::Refused => {}
    }
    match newer(s.local.updated_at, s.google.time) {
        Winner::Local => Decision::LocalWins,
        Winner::Google => Decision::GoogleWins,
    }
}

/// Who wins between a local change made at `local_updated_at` and Google's version, timed as
/// last-write-wins sees it. A tie goes to Google; a version without a time never wins over a local
/// change.
pub fn newer(local_updated_at: DateTime<Utc>, google_time: Option<DateTime<Utc>>) -> Winner {
    if google_time.is_none_or(|g| local_updated_at > g) {
        Winner::Local
    } else {
        Winner::Google
    }
}

impl<'a> Local<'a> {
    /// A local row whose change Google has not acknowledged: pending when a sync page meets it, or
    /// the one the writer is sending.
    pub fn of(e: &'a EventRow) -> Self {
        Self {
            updated_at: e.updated_at,
            etag: e.etag.as_deref(),
            content: e.content(),
        }
    }
}

impl<'a> Google<'a> {
    /// Google's version as the mapping read it.
    pub fn of(row: &'a GoogleVersion) -> Self {
        Self {
            etag: row.etag.as_deref(),
            content: row.content(),
            time: row.google_lww_at,
        }
    }
}

#[cfg(test)]
mod tests;
