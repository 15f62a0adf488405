//! The events table, as local writers (the HTTP API, a manual conflict choice) and readers use it;
//! its row type and projections are in `row`. Rows written because Google changed go through
//! `db::from_google` instead.

mod row;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

pub use row::{EventRow, EventStatus, GoogleVersion, LocalColumns, Origin, Outgoing};

/// Soft-deletes an event (the trigger queues the delete for Google).
pub async fn soft_delete(
    tx: &mut Transaction<'_, Postgres>,
    event_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE events SET deleted_at = now(), status = 'cancelled' WHERE id = $1",
        event_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes `v` over event `event_id` as a fresh local change (it reaches Google through the outbox):
/// the version a manual conflict choice kept. A version without a zone or reminders keeps the row's.
pub async fn restore_version(
    tx: &mut Transaction<'_, Postgres>,
    event_id: Uuid,
    v: &LocalColumns<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
            "UPDATE events SET summary = $2, description = $3, location = $4, start_at = $5, end_at = $6,
                    start_date = $7, end_date = $8, time_zone = COALESCE($9, time_zone), recurrence = $10,
                    reminders = COALESCE($11, reminders), status = $12, deleted_at = NULL, updated_at = now()
              WHERE id = $1",
            event_id,
            v.summary,
            v.description,
            v.location,
            v.start_at,
            v.end_at,
            v.start_date,
            v.end_date,
            v.time_zone,
            v.recurrence,
            v.reminders,
            v.status as EventStatus,
        )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A live (not deleted) event by its local id.
pub async fn fetch(pool: &PgPool, id: Uuid) -> Result<Option<EventRow>, sqlx::Error> {
    sqlx::query_as!(
        EventRow,
        r#"SELECT id, calendar_id, casquette, external_id, summary, description, location, start_at, end_at,
                  start_date, end_date, time_zone, recurrence, recurring_event_id, original_start, reminders,
                  status AS "status: EventStatus", etag, google_updated, google_lww_at, sequence, raw,
                  origin AS "origin: Origin", created_at, updated_at, deleted_at
             FROM events WHERE id = $1 AND deleted_at IS NULL"#,
        id
    )
    .fetch_optional(pool)
    .await
}

/// The API list's filters; `limit` and `offset` page by start time.
pub struct ListFilter<'a> {
    /// Only this account's calendars (an account-scoped caller, or `?account=`).
    pub account: Option<&'a str>,
    pub calendar: Option<&'a str>,
    pub casquette: Option<&'a str>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: i64,
    pub offset: i64,
}

/// Live events matching `q`, by start time.
pub async fn list(pool: &PgPool, q: &ListFilter<'_>) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as!(
        EventRow,
        r#"SELECT id, calendar_id, casquette, external_id, summary, description, location, start_at, end_at,
                  start_date, end_date, time_zone, recurrence, recurring_event_id, original_start, reminders,
                  status AS "status: EventStatus", etag, google_updated, google_lww_at, sequence, raw,
                  origin AS "origin: Origin", created_at, updated_at, deleted_at
             FROM events
            WHERE deleted_at IS NULL
              AND ($1::text IS NULL OR calendar_id = $1)
              AND ($2::text IS NULL OR casquette = $2)
              AND ($3::timestamptz IS NULL OR COALESCE(end_at, end_date::timestamptz) > $3)
              AND ($4::timestamptz IS NULL OR COALESCE(start_at, start_date::timestamptz) < $4)
              AND ($7::text IS NULL OR calendar_id IN (SELECT id FROM calendars WHERE account = $7))
            ORDER BY COALESCE(start_at, start_date::timestamptz), id
            LIMIT $5 OFFSET $6"#,
        q.calendar,
        q.casquette,
        q.from,
        q.to,
        q.limit,
        q.offset,
        q.account,
    )
    .fetch_all(pool)
    .await
}

/// Inserts a new local event on `calendar_id` (the trigger resolves the role and queues it for Google).
pub async fn insert_local(
    pool: &PgPool,
    calendar_id: &str,
    e: &LocalColumns<'_>,
) -> Result<EventRow, sqlx::Error> {
    // The stored row comes back with the insert, in one statement: the API answers it without a
    // second statement, which could fail after this one committed (a pooled connection broken by
    // a PostgreSQL restart) and turn a stored insert into an error the client would retry.
    sqlx::query_as!(
        EventRow,
        r#"INSERT INTO events (calendar_id, summary, description, location, start_at, end_at, start_date, end_date,
                             time_zone, recurrence, reminders, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         RETURNING id, calendar_id, casquette, external_id, summary, description, location, start_at, end_at,
                   start_date, end_date, time_zone, recurrence, recurring_event_id, original_start, reminders,
                   status AS "status: EventStatus", etag, google_updated, google_lww_at, sequence, raw,
                   origin AS "origin: Origin", created_at, updated_at, deleted_at"#,
        calendar_id,
        e.summary,
        e.description,
        e.location,
        e.start_at,
        e.end_at,
        e.start_date,
        e.end_date,
        e.time_zone,
        e.recurrence,
        e.reminders,
        e.status as EventStatus,
    )
    .fetch_one(pool)
    .await
}

/// A partial change: `Some(v)` sets a column to `v` (`Some(None)` clears it), `None` keeps it.
pub struct LocalPatch<'a> {
    pub summary: Option<Option<&'a str>>,
    pub description: Option<Option<&'a str>>,
    pub location: Option<Option<&'a str>>,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub time_zone: Option<&'a str>,
    pub recurrence: Option<Option<&'a [String]>>,
    pub reminders: Option<Option<&'a Value>>,
    pub status: EventStatus,
}

pub async fn patch_local(
    pool: &PgPool,
    id: Uuid,
    p: &LocalPatch<'_>,
) -> Result<Option<EventRow>, sqlx::Error> {
    // The changed row comes back with the update (as `insert_local`'s does): no second statement
    // that could fail after this one committed and have the client send the change again.
    sqlx::query_as!(
        EventRow,
        r#"UPDATE events SET
            summary = CASE WHEN $2 THEN $3 ELSE summary END,
            description = CASE WHEN $4 THEN $5 ELSE description END,
            location = CASE WHEN $6 THEN $7 ELSE location END,
            start_at = $8, end_at = $9, start_date = $10, end_date = $11, time_zone = $12,
            recurrence = CASE WHEN $13 THEN $14 ELSE recurrence END,
            reminders = CASE WHEN $15 THEN $16 ELSE reminders END,
            status = $17
          WHERE id = $1 AND deleted_at IS NULL
          RETURNING id, calendar_id, casquette, external_id, summary, description, location, start_at, end_at,
                    start_date, end_date, time_zone, recurrence, recurring_event_id, original_start, reminders,
                    status AS "status: EventStatus", etag, google_updated, google_lww_at, sequence, raw,
                    origin AS "origin: Origin", created_at, updated_at, deleted_at"#,
        id,
        p.summary.is_some(),
        p.summary.flatten(),
        p.description.is_some(),
        p.description.flatten(),
        p.location.is_some(),
        p.location.flatten(),
        p.start_at,
        p.end_at,
        p.start_date,
        p.end_date,
        p.time_zone,
        p.recurrence.is_some(),
        p.recurrence.flatten(),
        p.reminders.is_some(),
        p.reminders.flatten(),
        p.status as EventStatus,
    )
    .fetch_optional(pool)
    .await
}

/// Soft-deletes a live event; the number of rows deleted (0: none was live).
pub async fn delete_local(pool: &PgPool, id: Uuid) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE events SET deleted_at = now(), status = 'cancelled' WHERE id = $1 AND deleted_at IS NULL",
        id
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// The rows that may fall in one day of a calendar: the day's live events, every live series and
/// every exception, soft-deleted ones included (`deleted_at` says so: they still replace an
/// occurrence of their series).
pub async fn for_day(
    pool: &PgPool,
    calendar_id: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    day: NaiveDate,
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as!(
        EventRow,
        r#"SELECT id, calendar_id, casquette, external_id, summary, description, location, start_at, end_at,
                  start_date, end_date, time_zone, recurrence, recurring_event_id, original_start, reminders,
                  status AS "status: EventStatus", etag, google_updated, google_lww_at, sequence, raw,
                  origin AS "origin: Origin", created_at, updated_at, deleted_at
             FROM events
            WHERE calendar_id = $1 AND (
                  (recurrence IS NOT NULL AND deleted_at IS NULL)
               OR recurring_event_id IS NOT NULL
               OR (deleted_at IS NULL AND start_at < $3 AND end_at > $2)
               OR (deleted_at IS NULL AND start_date <= $4 AND end_date > $4))"#,
        calendar_id,
        from,
        until,
        day,
    )
    .fetch_all(pool)
    .await
}

/// An event as the writer sends it to Google: its row (deleted or not) and its calendar's colour.
pub async fn for_writer(pool: &PgPool, event_id: Uuid) -> Result<Option<Outgoing>, sqlx::Error> {
    let found = sqlx::query!(
        r#"SELECT e.id, e.calendar_id, e.casquette, e.external_id, e.summary, e.description, e.location,
                  e.start_at, e.end_at, e.start_date, e.end_date, e.time_zone, e.recurrence,
                  e.recurring_event_id, e.original_start, e.reminders, e.status AS "status: EventStatus",
                  e.etag, e.google_updated, e.google_lww_at, e.sequence, e.raw,
                  e.origin AS "origin: Origin", e.created_at, e.updated_at, e.deleted_at, c.color
             FROM events e JOIN calendars c ON c.id = e.calendar_id
            WHERE e.id = $1"#,
        event_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(found.map(|r| Outgoing {
        event: EventRow {
            id: r.id,
            calendar_id: r.calendar_id,
            casquette: r.casquette,
            external_id: r.external_id,
            summary: r.summary,
            description: r.description,
            location: r.location,
            start_at: r.start_at,
            end_at: r.end_at,
            start_date: r.start_date,
            end_date: r.end_date,
            time_zone: r.time_zone,
            recurrence: r.recurrence,
            recurring_event_id: r.recurring_event_id,
            original_start: r.original_start,
            reminders: r.reminders,
            status: r.status,
            etag: r.etag,
            google_updated: r.google_updated,
            google_lww_at: r.google_lww_at,
            sequence: r.sequence,
            raw: r.raw,
            origin: r.origin,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
        },
        color: r.color,
    }))
}

/// The events of `ids` with a pending (not parked) local change, locked in the order a local write
/// takes them (row, then its outbox entry).
pub async fn pending_local_changes(
    tx: &mut super::google_tx::GoogleTx,
    calendar_id: &str,
    ids: &[String],
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as!(
        EventRow,
        r#"SELECT e.id, e.calendar_id, e.casquette, e.external_id, e.summary, e.description, e.location,
                  e.start_at, e.end_at, e.start_date, e.end_date, e.time_zone, e.recurrence,
                  e.recurring_event_id, e.original_start, e.reminders, e.status AS "status: EventStatus",
                  e.etag, e.google_updated, e.google_lww_at, e.sequence, e.raw,
                  e.origin AS "origin: Origin", e.created_at, e.updated_at, e.deleted_at
             FROM outbox o JOIN events e ON e.id = o.event_id
            WHERE o.calendar_id = $1 AND o.parked_at IS NULL AND e.external_id = ANY($2)
              FOR UPDATE OF e"#,
        calendar_id,
        ids
    )
    .fetch_all(tx.conn())
    .await
}

/// The local version of event `id` as a conflict keeps it (the columns a local write sets, as
/// JSON), read in the transaction that locked the row.
pub async fn local_version(
    tx: &mut super::google_tx::GoogleTx,
    id: Uuid,
) -> Result<Value, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT jsonb_build_object(
                      'id', e.id, 'summary', e.summary, 'description', e.description,
                      'location', e.location, 'status', e.status, 'recurrence', e.recurrence,
                      'reminders', e.reminders, 'updated_at', e.updated_at,
                      'deleted', e.deleted_at IS NOT NULL,
                      'start', CASE WHEN e.start_at IS NOT NULL
                                    THEN jsonb_build_object('dateTime', e.start_at, 'timeZone', e.time_zone)
                                    ELSE jsonb_build_object('date', e.start_date) END,
                      'end', CASE WHEN e.end_at IS NOT NULL
                                  THEN jsonb_build_object('dateTime', e.end_at, 'timeZone', e.time_zone)
                                  ELSE jsonb_build_object('date', e.end_date) END) AS "local_version!"
             FROM events e WHERE e.id = $1"#,
        id
    )
    .fetch_one(tx.conn())
    .await
}
