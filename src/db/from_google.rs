//! Writes that came from Google, in a [`GoogleTx`]: a transaction that sets `calsync.origin =
//! 'google'` when it begins, so the outbox trigger skips what it writes (the no-echo rule lives in
//! the type). Batched upserts and tombstones of a page, own inserts bound to their rows, a full
//! listing's reconcile, and what the writer stores from Google's answers.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::events::{EventStatus, GoogleVersion};
use super::sync_runs::Counts;

pub use super::google_tx::GoogleTx;

/// Events calsync inserted whose answer never came back (a crash, a lost response) carry the local
/// row's client-chosen id: they belong to that row, never to a second one. Binding them here
/// (before last-write-wins) lets a pending local change still win and keeps the retried insert's
/// 409 adoption on the same row.
pub async fn attach_own_inserts(
    tx: &mut GoogleTx,
    calendar_id: &str,
    rows: &[GoogleVersion],
) -> Result<(), sqlx::Error> {
    let ids: Vec<String> = rows
        .iter()
        .filter(|r| is_client_chosen(&r.external_id))
        .map(|r| r.external_id.clone())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let attached = sqlx::query!(
        r#"UPDATE events e SET external_id = u.id
             FROM UNNEST($2::text[]) AS u(id)
            WHERE e.calendar_id = $1 AND e.external_id IS NULL AND e.id = u.id::uuid"#,
        calendar_id,
        &ids
    )
    .execute(tx.conn())
    .await?
    .rows_affected();
    if attached > 0 {
        tracing::info!(calendar = %calendar_id, attached, "own inserts bound to their local rows");
    }
    Ok(())
}

/// calsync's insert ids: the 32 lowercase hex digits of a UUID (`writer::body::google_id`).
pub fn is_client_chosen(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub async fn upsert_live(
    tx: &mut GoogleTx,
    calendar_id: &str,
    casquette: &str,
    rows: &[GoogleVersion],
) -> Result<Counts, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Counts::default());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.external_id.clone()).collect();
    let status: Vec<EventStatus> = rows.iter().map(|r| r.status).collect();
    let summary: Vec<Option<String>> = rows.iter().map(|r| r.summary.clone()).collect();
    let description: Vec<Option<String>> = rows.iter().map(|r| r.description.clone()).collect();
    let location: Vec<Option<String>> = rows.iter().map(|r| r.location.clone()).collect();
    let start_at: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.start_at).collect();
    let end_at: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.end_at).collect();
    let start_date: Vec<Option<NaiveDate>> = rows.iter().map(|r| r.start_date).collect();
    let end_date: Vec<Option<NaiveDate>> = rows.iter().map(|r| r.end_date).collect();
    let time_zone: Vec<Option<String>> = rows.iter().map(|r| r.time_zone.clone()).collect();
    let recurrence: Vec<Value> = rows
        .iter()
        .map(|r| {
            r.recurrence
                .as_ref()
                .map(|v| Value::from(v.clone()))
                .unwrap_or(Value::Null)
        })
        .collect();
    let recurring: Vec<Option<String>> =
        rows.iter().map(|r| r.recurring_event_id.clone()).collect();
    let original: Vec<Option<String>> = rows.iter().map(|r| r.original_start.clone()).collect();
    let reminders: Vec<Value> = rows
        .iter()
        .map(|r| r.reminders.clone().unwrap_or(Value::Null))
        .collect();
    let etag: Vec<Option<String>> = rows.iter().map(|r| r.etag.clone()).collect();
    let updated: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.google_updated).collect();
    let lww_at: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.google_lww_at).collect();
    let sequence: Vec<Option<i32>> = rows.iter().map(|r| r.sequence).collect();
    let raw: Vec<Value> = rows.iter().map(|r| r.raw.clone()).collect();

    let inserted: Vec<bool> = sqlx::query_scalar!(
        r#"INSERT INTO events (calendar_id, casquette, external_id, status, summary, description, location,
                start_at, end_at, start_date, end_date, time_zone, recurrence, recurring_event_id,
                original_start, reminders, etag, google_updated, google_lww_at, sequence, raw,
                deleted_at)
           SELECT $1, $2, u.id, u.status, u.summary, u.description, u.location,
                  u.start_at, u.end_at, u.start_date, u.end_date, u.time_zone,
                  CASE WHEN jsonb_typeof(u.recurrence) = 'array'
                       THEN ARRAY(SELECT jsonb_array_elements_text(u.recurrence)) END,
                  u.recurring, u.original, NULLIF(u.reminders, 'null'::jsonb), u.etag, u.updated,
                  u.lww_at, u.sequence, u.raw, NULL
             FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::timestamptz[], $9::timestamptz[], $10::date[], $11::date[], $12::text[],
                         $13::jsonb[], $14::text[], $15::text[], $16::jsonb[], $17::text[],
                         $18::timestamptz[], $19::int4[], $20::jsonb[], $21::timestamptz[])
                  AS u(id, status, summary, description, location, start_at, end_at, start_date,
                       end_date, time_zone, recurrence, recurring, original, reminders, etag,
                       updated, sequence, raw, lww_at)
           ON CONFLICT (calendar_id, external_id) DO UPDATE SET
                status = EXCLUDED.status, summary = EXCLUDED.summary,
                description = EXCLUDED.description, location = EXCLUDED.location,
                start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at,
                start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date,
                time_zone = EXCLUDED.time_zone, recurrence = EXCLUDED.recurrence,
                recurring_event_id = EXCLUDED.recurring_event_id,
                original_start = EXCLUDED.original_start, reminders = EXCLUDED.reminders,
                etag = EXCLUDED.etag, google_updated = EXCLUDED.google_updated,
                google_lww_at = EXCLUDED.google_lww_at,
                sequence = EXCLUDED.sequence, raw = EXCLUDED.raw, deleted_at = NULL
           WHERE (events.etag IS DISTINCT FROM EXCLUDED.etag OR events.deleted_at IS NOT NULL)
             -- a page listed before a newer version was stored (a slow run, a lost race) is stale
             AND (events.google_updated IS NULL OR EXCLUDED.google_updated IS NULL
                  OR EXCLUDED.google_updated >= events.google_updated)
             -- a local write newer than this version, committed after last-write-wins looked (a
             -- race), stays: its outbox entry sends it; a deletion made after this version stays too
             AND NOT COALESCE(
                      (events.origin = 'local' AND events.updated_at > EXCLUDED.google_lww_at)
                      OR (events.deleted_at IS NOT NULL AND EXCLUDED.google_lww_at <= events.deleted_at),
                      FALSE)
           RETURNING (xmax = 0) AS "inserted!""#,
        calendar_id,
        casquette,
        &ids,
        &status as &[EventStatus],
        &summary as &[Option<String>],
        &description as &[Option<String>],
        &location as &[Option<String>],
        &start_at as &[Option<DateTime<Utc>>],
        &end_at as &[Option<DateTime<Utc>>],
        &start_date as &[Option<NaiveDate>],
        &end_date as &[Option<NaiveDate>],
        &time_zone as &[Option<String>],
        &recurrence,
        &recurring as &[Option<String>],
        &original as &[Option<String>],
        &reminders,
        &etag as &[Option<String>],
        &updated as &[Option<DateTime<Utc>>],
        &sequence as &[Option<i32>],
        &raw,
        &lww_at as &[Option<DateTime<Utc>>],
    )
    .fetch_all(tx.conn())
    .await?;
    let created = inserted.iter().filter(|i| **i).count() as u64;
    let updated = inserted.len() as u64 - created;
    Ok(Counts {
        created,
        updated,
        deleted: 0,
        unchanged: rows.len() as u64 - inserted.len() as u64,
    })
}

/// Cancellations: known rows are soft-deleted; cancelled instances of a series are kept as cancelled rows.
pub async fn apply_cancelled(
    tx: &mut GoogleTx,
    calendar_id: &str,
    casquette: &str,
    rows: &[GoogleVersion],
) -> Result<Counts, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Counts::default());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.external_id.clone()).collect();
    let etag: Vec<Option<String>> = rows.iter().map(|r| r.etag.clone()).collect();
    let updated: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.google_updated).collect();
    let raw: Vec<Value> = rows.iter().map(|r| r.raw.clone()).collect();
    let recurring: Vec<Option<String>> =
        rows.iter().map(|r| r.recurring_event_id.clone()).collect();
    let original: Vec<Option<String>> = rows.iter().map(|r| r.original_start.clone()).collect();

    let was_live: Vec<bool> = sqlx::query_scalar!(
        r#"WITH hit AS (
               SELECT e.id, e.deleted_at IS NULL AS was_live, u.etag, u.updated, u.raw
                 FROM events e
                 JOIN UNNEST($2::text[], $3::text[], $4::timestamptz[], $5::jsonb[])
                      AS u(id, etag, updated, raw) ON e.external_id = u.id
                WHERE e.calendar_id = $1
                  AND (e.deleted_at IS NULL OR e.etag IS DISTINCT FROM u.etag)
                  AND (e.google_updated IS NULL OR u.updated IS NULL OR u.updated >= e.google_updated)
                  AND NOT (e.origin = 'local' AND u.updated IS NOT NULL AND e.updated_at > u.updated)
                FOR UPDATE OF e)
           UPDATE events SET status = 'cancelled', deleted_at = COALESCE(events.deleted_at, now()),
                  etag = hit.etag, google_updated = COALESCE(hit.updated, events.google_updated),
                  raw = events.raw || hit.raw
             FROM hit WHERE events.id = hit.id
           RETURNING hit.was_live AS "was_live!""#,
        calendar_id,
        &ids,
        &etag as &[Option<String>],
        &updated as &[Option<DateTime<Utc>>],
        &raw,
    )
    .fetch_all(tx.conn())
    .await?;
    let inserted = sqlx::query!(
        r#"INSERT INTO events (calendar_id, casquette, external_id, status, recurring_event_id,
                original_start, etag, google_updated, raw, deleted_at)
           SELECT $1, $2, u.id, 'cancelled', u.recurring, u.original, u.etag, u.updated, u.raw, now()
             FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::jsonb[])
                  AS u(id, recurring, original, etag, updated, raw)
            WHERE u.recurring IS NOT NULL
           ON CONFLICT (calendar_id, external_id) DO NOTHING"#,
        calendar_id,
        casquette,
        &ids,
        &recurring as &[Option<String>],
        &original as &[Option<String>],
        &etag as &[Option<String>],
        &updated as &[Option<DateTime<Utc>>],
        &raw,
    )
    .execute(tx.conn())
    .await?
    .rows_affected();
    let deleted = was_live.iter().filter(|l| **l).count() as u64;
    Ok(Counts {
        created: inserted,
        updated: 0,
        deleted,
        unchanged: (rows.len() as u64).saturating_sub(deleted + inserted),
    })
}

/// Keeps the calendar time zone Google reports (a zone set in the config still wins where it is read).
pub async fn remember_time_zone(
    tx: &mut GoogleTx,
    calendar_id: &str,
    tz: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE calendars SET time_zone = $2 WHERE id = $1 AND time_zone IS DISTINCT FROM $2",
        calendar_id,
        tz
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The stored Google JSON of the live events a page is about to change (id → raw).
pub async fn previous_versions(
    pool: &PgPool,
    calendar_id: &str,
    rows: &[GoogleVersion],
) -> Result<Vec<(String, Value)>, sqlx::Error> {
    let ids: Vec<String> = rows.iter().map(|r| r.external_id.clone()).collect();
    let found = sqlx::query!(
        r#"SELECT external_id AS "external_id!", raw AS "raw!" FROM events
            WHERE calendar_id = $1 AND external_id = ANY($2) AND deleted_at IS NULL AND raw IS NOT NULL"#,
        calendar_id,
        &ids
    )
    .fetch_all(pool)
    .await?;
    Ok(found.into_iter().map(|r| (r.external_id, r.raw)).collect())
}

/// After a full listing: rows Google no longer has are soft-deleted (a full list carries no tombstones).
/// Rows that reached Google after the listing began are spared, and so, when the listing was limited
/// to a `window` (`timeMin`, `timeMax`), is every row Google would not have listed (it lists what overlaps the window; a
/// day's margin for all-day dates, whose zone is the calendar's): its absence says nothing. A series
/// that began before the window keeps its row here; an incremental run's tombstone deletes it.
pub async fn soft_delete_unlisted(
    tx: &mut GoogleTx,
    calendar_id: &str,
    seen: &[String],
    listing_started: DateTime<Utc>,
    window: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<u64, sqlx::Error> {
    let (from, until) = (window.map(|w| w.0), window.map(|w| w.1));
    let gone = sqlx::query!(
        r#"UPDATE events SET status = 'cancelled', deleted_at = now()
            WHERE calendar_id = $1 AND external_id IS NOT NULL AND deleted_at IS NULL
              AND NOT (external_id = ANY($2))
              AND (google_updated IS NULL OR google_updated < $3)
              AND ($4::timestamptz IS NULL
                   OR (end_at > $4 AND start_at < $5)
                   OR (end_date > ($4 AT TIME ZONE 'UTC')::date + 1
                       AND start_date < ($5 AT TIME ZONE 'UTC')::date - 1))"#,
        calendar_id,
        seen,
        listing_started,
        from,
        until,
    )
    .execute(tx.conn())
    .await?;
    Ok(gone.rows_affected())
}

/// Stores what Google answered a write (id, etag, updated, raw), unless a sync stored a newer
/// Google version meanwhile (its etag and JSON must not be rolled back).
pub async fn store_answer(
    tx: &mut GoogleTx,
    local_id: Uuid,
    row: &GoogleVersion,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE events SET external_id = $2, etag = $3, google_updated = $4, sequence = $5, raw = $6,
                google_lww_at = $7
          WHERE id = $1
            AND (google_updated IS NULL OR $4::timestamptz IS NULL OR google_updated <= $4)",
        local_id,
        row.external_id,
        row.etag,
        row.google_updated,
        row.sequence,
        row.raw,
        row.google_lww_at,
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Gives a row whose insert reached Google unacknowledged its Google id, with the `updated` of the
/// version Google holds.
///
/// The stamp is what keeps a concurrent full resync from reconciling the row away: a listing that
/// started before the insert reached Google cannot hold it, and [`soft_delete_unlisted`] spares
/// only the rows Google stamped after the listing began. Bound without it, such a row was
/// soft-deleted here while Google kept the event (the convergence suite's seed 184,
/// docs/testing.md). The etag stays unset: last-write-wins still compares the contents, and the
/// writer settles a row without an etag rather than write to Google without `If-Match`.
pub async fn bind_google_id(
    tx: &mut GoogleTx,
    local_id: Uuid,
    id: &str,
    google_updated: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE events SET external_id = $2, google_updated = $3
          WHERE id = $1 AND external_id IS NULL",
        local_id,
        id,
        google_updated
    )
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Locks an event row (before its outbox entry: the order a local write takes them).
pub async fn lock_event(tx: &mut GoogleTx, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT id FROM events WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(tx.conn())
        .await?;
    Ok(())
}

/// Deletes every event of these calendars here, never at Google (an account removed with its
/// events): as Google's write, so nothing is queued; their outbox entries go with them.
pub async fn delete_calendars(tx: &mut GoogleTx, keys: &[String]) -> Result<u64, sqlx::Error> {
    let n = sqlx::query!("DELETE FROM events WHERE calendar_id = ANY($1)", keys)
        .execute(tx.conn())
        .await?
        .rows_affected();
    Ok(n)
}
