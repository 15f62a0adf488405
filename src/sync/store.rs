//! Applying Google pages to PostgreSQL: batched upserts in the caller's transaction, tombstones, and full-resync reconciliation.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::{Postgres, Transaction};

use super::mapping::EventRow;
pub use crate::db::sync_state::Counts;


/// Marks the transaction's writes as coming from Google: the outbox trigger skips them (no echo).
pub async fn mark_from_google(tx: &mut Transaction<'_, Postgres>) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT set_config('calsync.origin', 'google', true)")
        .fetch_one(&mut **tx)
        .await?;
    Ok(())
}

/// Opens a transaction whose writes the outbox trigger ignores (they come from Google), in one
/// round trip: `BEGIN; SET LOCAL calsync.origin = 'google'`.
pub async fn begin_from_google(
    pool: &sqlx::PgPool,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    pool.begin_with("BEGIN; SET LOCAL calsync.origin = 'google'")
        .await
}

/// Upserts one page of Google events: one statement for live events, two for cancellations.
pub async fn apply_page(
    tx: &mut Transaction<'_, Postgres>,
    calendar_id: &str,
    casquette: &str,
    rows: Vec<EventRow>,
) -> Result<Counts, sqlx::Error> {
    // Google never repeats an id within a page, but a retried page must not trip
    // "ON CONFLICT cannot affect a row twice": the last occurrence wins.
    let mut last: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        last.insert(r.external_id.clone(), i);
    }
    let rows: Vec<EventRow> = rows
        .into_iter()
        .enumerate()
        .filter(|(i, r)| last.get(&r.external_id) == Some(i))
        .map(|(_, r)| r)
        .collect();
    attach_own_inserts(tx, calendar_id, &rows).await?;
    let (rows, held) = super::lww::last_write_wins(tx, calendar_id, rows).await?;
    let (live, cancelled): (Vec<EventRow>, Vec<EventRow>) =
        rows.into_iter().partition(|r| !r.is_cancelled());
    let mut counts = upsert_live(tx, calendar_id, casquette, &live).await?;
    counts.unchanged += held;
    counts.add(apply_cancelled(tx, calendar_id, casquette, &cancelled).await?);
    Ok(counts)
}

/// Events calsync inserted whose answer never came back (a crash, a lost response) carry the local
/// row's client-chosen id: they belong to that row, never to a second one. Binding them here
/// (before last-write-wins) lets a pending local change still win and keeps the retried insert's
/// 409 adoption on the same row.
async fn attach_own_inserts(
    tx: &mut Transaction<'_, Postgres>,
    calendar_id: &str,
    rows: &[EventRow],
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
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if attached > 0 {
        tracing::info!(calendar = %calendar_id, attached, "own inserts bound to their local rows");
    }
    Ok(())
}

/// calsync's insert ids: the 32 lowercase hex digits of a UUID (`writer::body::google_id`).
fn is_client_chosen(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

async fn upsert_live(
    tx: &mut Transaction<'_, Postgres>,
    calendar_id: &str,
    casquette: &str,
    rows: &[EventRow],
) -> Result<Counts, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Counts::default());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.external_id.clone()).collect();
    let status: Vec<String> = rows.iter().map(|r| r.status.clone()).collect();
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
    let lww_at: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.effective_updated).collect();
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
        &status,
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
    .fetch_all(&mut **tx)
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
async fn apply_cancelled(
    tx: &mut Transaction<'_, Postgres>,
    calendar_id: &str,
    casquette: &str,
    rows: &[EventRow],
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
    .fetch_all(&mut **tx)
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
    .execute(&mut **tx)
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
    tx: &mut Transaction<'_, Postgres>,
    calendar_id: &str,
    tz: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE calendars SET time_zone = $2 WHERE id = $1 AND time_zone IS DISTINCT FROM $2",
        calendar_id,
        tz
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The stored Google JSON of the live events a page is about to change (id → raw).
pub async fn previous_versions(
    pool: &sqlx::PgPool,
    calendar_id: &str,
    rows: &[EventRow],
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
