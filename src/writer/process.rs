//! One outbox entry → Google: insert with the client-chosen id (409 = already done), patch or delete with
//! `If-Match`; a 412 (or a 409 whose copy changed since) is settled by `sync::lww::decide` and the loser recorded.

use serde_json::Value;
use sqlx::PgPool;

use super::body::{event_body, google_id};
use crate::accounts::GoogleAccounts;
use crate::config::Reminder;
use crate::db::conflicts::{self, Conflict, Winner};
use crate::db::events::{GoogleVersion, Outgoing};
use crate::db::from_google::{self, GoogleTx};
use crate::db::outbox::Job;
use crate::google::{GoogleClient, GoogleError};
use crate::sync::lww::{self, Decision, Google, Local, Met, Sides};
use crate::sync::store;

/// How one job ended.
#[derive(Debug)]
pub enum Done {
    Written,
    /// A new event now exists at Google (its JSON, for the "event added" message).
    Created {
        event: Value,
        casquette: String,
    },
    /// Nothing to do at Google (a local-only row deleted before it was ever sent).
    Skipped,
    /// Google's newer version was kept; the local change is in `conflicts`.
    GoogleWon,
}

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("google: {0}")]
    Google(#[from] GoogleError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the event no longer exists locally")]
    Vanished,
    #[error("google's answer was unreadable: {0}")]
    Mapping(#[from] crate::sync::mapping::MappingError),
    /// The job's task panicked (or was cut short): retried like any transient failure.
    #[error("the job did not complete (its task panicked)")]
    Panicked,
}

pub async fn load(pool: &PgPool, job: &Job) -> Result<Option<Outgoing>, sqlx::Error> {
    crate::db::events::for_writer(pool, job.event_id).await
}

/// Stores what Google answered (id, etag, updated, raw) without re-entering the outbox, unless a
/// sync stored a newer Google version meanwhile (its etag and JSON must not be rolled back).
pub async fn adopt(pool: &PgPool, local: &Outgoing, google: &Value) -> Result<(), JobError> {
    let row = GoogleVersion::from_google(google)?;
    let mut tx = GoogleTx::begin(pool).await?;
    from_google::store_answer(&mut tx, local.event.id, &row).await?;
    tx.commit().await?;
    Ok(())
}

fn local_json(out: &Outgoing, defaults: &[Reminder]) -> Value {
    let e = &out.event;
    let mut v = event_body(out, defaults, false);
    v["id"] = Value::from(e.id.to_string());
    v["updated_at"] = Value::from(e.updated_at.to_rfc3339());
    v["deleted"] = Value::from(e.deleted_at.is_some());
    v
}

/// Sends one local change to Google.
pub async fn process(
    pool: &PgPool,
    google: &GoogleAccounts,
    defaults: &[Reminder],
    job: &Job,
) -> Result<Done, JobError> {
    let out = load(pool, job).await?.ok_or(JobError::Vanished)?;
    let local = &out.event;
    // The calendar's account's credentials, and its Google id (the key is calsync's own).
    let (client, target) = google.for_calendar(&local.calendar_id).await?;
    let (client, cal) = (client.as_ref(), target.google_id.as_str());
    match (&local.external_id, local.deleted_at.is_some()) {
        // Deleted before its insert was acknowledged: the insert may still have reached Google
        // (an answer lost to a crash), under the id calsync chose; delete that copy if it exists.
        (None, true) => match client.delete_event(cal, &google_id(local.id), None).await {
            Ok(()) => Ok(Done::Written),
            Err(e) if e.is_gone() || e.is_not_found() => Ok(Done::Skipped),
            Err(e) => Err(e.into()),
        },
        (None, false) => {
            let body = event_body(&out, defaults, true);
            let created = match client.insert_event(cal, &body).await {
                Ok(v) => v,
                // Our earlier attempt got through (the answer was lost): never a second copy.
                Err(e) if e.is_duplicate() => {
                    let id = google_id(local.id);
                    let theirs = client.get_event(cal, &id).await?;
                    let row = GoogleVersion::from_google(&theirs)?;
                    let sides = Sides {
                        met: Met::Listed,
                        local: Local::of(local),
                        google: Google::of(&row),
                    };
                    match lww::decide(&sides) {
                        Decision::Echo | Decision::Unchanged => theirs,
                        // Changed (or deleted) at Google since: settle it like any two-sided edit.
                        Decision::LocalWins | Decision::GoogleWins => {
                            return adopt_changed(pool, client, cal, defaults, job, out, &row)
                                .await;
                        }
                    }
                }
                Err(e) => return Err(e.into()),
            };
            adopt(pool, &out, &created).await?;
            Ok(Done::Created {
                event: created,
                casquette: local.casquette.clone(),
            })
        }
        // No etag: bound to its Google id by an insert retry that met 409 and did not finish
        // settling (`adopt_changed` cut short, by a database failure say). Nothing says which
        // Google version this change started from, and a write without `If-Match` would overwrite,
        // or revive, whatever Google holds now (a deletion made there since): settle it instead.
        (Some(ext), _) if local.etag.is_none() => {
            settle(pool, client, cal, defaults, job, &out, ext).await
        }
        (Some(ext), true) => match client.delete_event(cal, ext, local.etag.as_deref()).await {
            Ok(()) => Ok(Done::Written),
            Err(e) if e.is_gone() || e.is_not_found() => Ok(Done::Written),
            Err(e) if e.is_precondition_failed() => {
                settle(pool, client, cal, defaults, job, &out, ext).await
            }
            Err(e) => Err(e.into()),
        },
        (Some(ext), false) => {
            let body = event_body(&out, defaults, false);
            match client
                .patch_event(cal, ext, &body, local.etag.as_deref())
                .await
            {
                Ok(v) => {
                    adopt(pool, &out, &v).await?;
                    Ok(Done::Written)
                }
                Err(e) if e.is_precondition_failed() => {
                    settle(pool, client, cal, defaults, job, &out, ext).await
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// An insert that reached Google unacknowledged, and was edited or deleted there since: the row
/// takes the Google id (and Google's `updated`), then the newer of the two versions wins on both
/// sides.
async fn adopt_changed(
    pool: &PgPool,
    client: &GoogleClient,
    gcal: &str,
    defaults: &[Reminder],
    job: &Job,
    mut out: Outgoing,
    theirs: &GoogleVersion,
) -> Result<Done, JobError> {
    let id = theirs.external_id.clone();
    let mut tx = GoogleTx::begin(pool).await?;
    from_google::bind_google_id(&mut tx, out.event.id, &id, theirs.google_updated).await?;
    tx.commit().await?;
    out.event.external_id = Some(id.clone());
    out.event.etag = None;
    settle(pool, client, gcal, defaults, job, &out, &id).await
}

/// Both sides changed (Google refused `If-Match`, or the row has no etag to send): last-write-wins
/// settles it on both sides.
/// `gcal` is the calendar's id at Google; the row's `calendar_id` is calsync's key for it.
async fn settle(
    pool: &PgPool,
    client: &GoogleClient,
    gcal: &str,
    defaults: &[Reminder],
    job: &Job,
    out: &Outgoing,
    ext: &str,
) -> Result<Done, JobError> {
    let local = &out.event;
    let cal = local.calendar_id.as_str();
    let theirs = match client.get_event(gcal, ext).await {
        // A deletion that finds the event gone at Google is done.
        Err(e) if local.deleted_at.is_some() && (e.is_gone() || e.is_not_found()) => {
            return Ok(Done::Written);
        }
        read => read?,
    };
    let row = GoogleVersion::from_google(&theirs)?;
    let decision = lww::decide(&Sides {
        met: Met::Refused,
        local: Local::of(local),
        google: Google::of(&row),
    });
    let conflict = |winner| Conflict {
        event_id: local.id,
        calendar_id: cal,
        external_id: Some(ext),
        winner,
        local_version: local_json(out, defaults),
        google_version: theirs.clone(),
        local_updated_at: Some(local.updated_at),
        google_updated: row.google_updated,
    };
    if decision == Decision::LocalWins {
        let their_etag = row.etag.as_deref();
        if local.deleted_at.is_some() {
            match client.delete_event(gcal, ext, their_etag).await {
                Ok(()) => {}
                Err(e) if e.is_gone() || e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        } else {
            let body = event_body(out, defaults, false);
            let v = client.patch_event(gcal, ext, &body, their_etag).await?;
            adopt(pool, out, &v).await?;
        }
        conflicts::record(pool, &conflict(Winner::Local)).await?;
        tracing::info!(calendar = %cal, event = %local.id, winner = "local", "conflict settled");
        return Ok(Done::Written);
    }
    // Google's version replaces the local row. The local change is kept in `conflicts`, unless
    // Google's version is this very change (`Echo`: stamped by an earlier attempt whose answer was
    // lost, a retried patch meeting its own etag change): only the new etag then. (`Unchanged` is
    // never decided after a refusal.)
    let lost = decision.winner().map(conflict);
    let mut tx = GoogleTx::begin(pool).await?;
    // The event row first, its outbox entry second: the order a local write takes them in (row,
    // then the trigger's outbox upsert), so the two never deadlock. The stored etag stays: if a
    // newer local write holds Google's version back, its patch must still meet If-Match (a blank
    // etag would let it overwrite, or revive, whatever Google holds by then).
    from_google::lock_event(&mut tx, local.id).await?;
    if let Some(c) = &lost {
        conflicts::record_in(tx.transaction(), c).await?;
    }
    crate::db::outbox::complete_in(tx.conn(), job).await?;
    store::apply_page(&mut tx, cal, &local.casquette, vec![row]).await?;
    tx.commit().await?;
    if lost.is_none() {
        tracing::info!(calendar = %cal, event = %local.id, "retried write found already at google");
        return Ok(Done::Written);
    }
    tracing::info!(calendar = %cal, event = %local.id, winner = "google", "conflict settled");
    Ok(Done::GoogleWon)
}
