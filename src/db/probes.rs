//! What the demo and the benchmark read and write directly, as an integrator or an operator would:
//! counts and etags they wait on, plain-SQL inserts, and the benchmark's baseline writes (in a
//! [`GoogleTx`], so they enter no outbox). Only with the `emulator` feature.

use futures_util::StreamExt;
use sqlx::PgPool;
use uuid::Uuid;

use super::from_google::GoogleTx;

/// Calendars that are waiting for or running a sync.
pub async fn busy_calendars(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM sync_state WHERE pending OR lease_owner IS NOT NULL",
    )
    .fetch_one(pool)
    .await
}

/// Calendars of `account` waiting for or running a sync.
pub async fn busy_calendars_of(pool: &PgPool, account: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM sync_state s JOIN calendars c ON c.id = s.calendar_id
          WHERE c.account = $1 AND (s.pending OR s.lease_owner IS NOT NULL)",
    )
    .bind(account)
    .fetch_one(pool)
    .await
}

/// Runs of `account` in flight: its calendars held by a live lease.
pub async fn runs_of(pool: &PgPool, account: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM sync_state s JOIN calendars c ON c.id = s.calendar_id
          WHERE c.account = $1 AND s.lease_until > now()",
    )
    .bind(account)
    .fetch_one(pool)
    .await
}

pub async fn active_channels(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM watch_channels WHERE state = 'active'")
        .fetch_one(pool)
        .await
}

/// One active channel of a calendar: its id and resource id.
pub async fn active_channel(
    pool: &PgPool,
    calendar_id: &str,
) -> Result<(String, String), sqlx::Error> {
    sqlx::query_as(
        "SELECT id, resource_id FROM watch_channels WHERE calendar_id = $1 AND state = 'active' LIMIT 1",
    )
    .bind(calendar_id)
    .fetch_one(pool)
    .await
}

/// The stored etag of a Google event (None: not synced yet).
pub async fn etag_of(pool: &PgPool, calendar_id: &str, external_id: &str) -> Option<String> {
    sqlx::query_scalar::<_, Option<String>>(
        "SELECT etag FROM events WHERE calendar_id = $1 AND external_id = $2",
    )
    .bind(calendar_id)
    .bind(external_id)
    .fetch_optional(pool)
    .await
    .ok()
    .flatten()
    .flatten()
}

pub async fn live_events(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE deleted_at IS NULL")
        .fetch_one(pool)
        .await
        .unwrap_or(0)
}

pub async fn outbox_depth(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox")
        .fetch_one(pool)
        .await
}

/// The demo's plain-SQL insert, as another service would write it.
pub async fn insert_sample(pool: &PgPool, calendar_id: &str) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO events (calendar_id, summary, start_at, end_at, time_zone)
                 VALUES ($1, 'Ajouté depuis PostgreSQL', now() + interval '1 day', now() + interval '25 hours', 'Europe/Paris') RETURNING id",
    )
    .bind(calendar_id)
    .fetch_one(pool)
    .await
}

/// `n` local inserts in one statement (the benchmark's write path).
pub async fn insert_local_batch(
    pool: &PgPool,
    calendar_id: &str,
    n: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO events (calendar_id, summary, start_at, end_at)
         SELECT $2, 'local ' || g, now() + g * interval '1 hour', now() + g * interval '1 hour' + interval '30 minutes'
           FROM generate_series(1, $1) g",
    )
    .bind(n)
    .bind(calendar_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// The push-delay floor's one write: Google's JSON stored as the sync would.
pub async fn store_raw(
    pool: &PgPool,
    calendar_id: &str,
    external_id: &str,
    raw: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    let mut tx = GoogleTx::begin(pool).await?;
    sqlx::query("UPDATE events SET raw = $2 WHERE calendar_id = $3 AND external_id = $1")
        .bind(external_id)
        .bind(raw)
        .bind(calendar_id)
        .execute(tx.conn())
        .await?;
    tx.commit().await
}

/// Drops a calendar's rows without queuing deletes for Google (before a timed full sync).
pub async fn forget_calendar_rows(pool: &PgPool, calendar_id: &str) -> Result<(), sqlx::Error> {
    let mut tx = GoogleTx::begin(pool).await?;
    sqlx::query("DELETE FROM events WHERE calendar_id = $1")
        .bind(calendar_id)
        .execute(tx.conn())
        .await?;
    tx.commit().await
}

/// The full-sync peer floor: a calendar's `columns` copied out, and back in with COPY.
pub async fn copy_out(pool: &PgPool, columns: &str, calendar_id: &str) -> anyhow::Result<Vec<u8>> {
    let mut conn = pool.acquire().await?;
    let mut dump = Vec::new();
    // `calendar_id` is the benchmark's own constant, never outside input.
    let mut out = conn
        .copy_out_raw(&format!(
            "COPY (SELECT {columns} FROM events WHERE calendar_id = '{calendar_id}') TO STDOUT"
        ))
        .await?;
    while let Some(chunk) = out.next().await {
        dump.extend_from_slice(&chunk?);
    }
    Ok(dump)
}

pub async fn copy_in(pool: &PgPool, columns: &str, dump: Vec<u8>) -> anyhow::Result<u64> {
    let mut tx = GoogleTx::begin(pool).await?;
    let mut copy = tx
        .conn()
        .copy_in_raw(&format!("COPY events ({columns}) FROM STDIN"))
        .await?;
    copy.send(dump).await?;
    let copied = copy.finish().await?;
    tx.commit().await?;
    Ok(copied)
}

/// The channel on which [`notify_event_updates`] announces updated event rows (the new etag as payload).
pub const EVENT_UPDATES: &str = "calsync_bench";

/// Makes every `UPDATE` of an `events` row notify [`EVENT_UPDATES`] (a benchmark-only trigger), so
/// the benchmark sees a row's commit without polling.
pub async fn notify_event_updates(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(
        "CREATE OR REPLACE FUNCTION bench_notify() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_notify('calsync_bench', COALESCE(NEW.etag, '')); RETURN NEW; END $$;
         DROP TRIGGER IF EXISTS bench_notify ON events;
         CREATE TRIGGER bench_notify AFTER UPDATE ON events FOR EACH ROW EXECUTE FUNCTION bench_notify();",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Drops the trigger of [`notify_event_updates`].
pub async fn stop_notifying_event_updates(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::raw_sql("DROP TRIGGER IF EXISTS bench_notify ON events")
        .execute(pool)
        .await?;
    Ok(())
}
