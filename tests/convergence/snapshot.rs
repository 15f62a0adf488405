//! Both sides as they are now: every calendar of every account listed at Google with its own user's token
//! (tombstones included), PostgreSQL's live rows, the outbox, and what is paused (accounts, calendars).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::google::Google;
use crate::model::{Fields, Model, tag_of};
use crate::world::{CALS, Cal};

/// One Google event: fields when live, None for a tombstone.
pub struct GoogleEvent {
    pub cal: &'static Cal,
    pub id: String,
    pub tag: Option<String>,
    pub live: Option<Fields>,
}

pub struct LocalRow {
    /// The calendar key.
    pub cal: String,
    pub id: Uuid,
    pub external_id: Option<String>,
    pub fields: Fields,
}

pub struct OutboxRow {
    pub event_id: Uuid,
    pub cal: String,
    pub parked: bool,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub detail: String,
}

pub struct Snapshot {
    pub google: Vec<GoogleEvent>,
    pub local: Vec<LocalRow>,
    pub outbox: Vec<OutboxRow>,
    /// Paused accounts: (account, reason).
    pub paused_accounts: Vec<(String, String)>,
    /// Paused calendars: (key, reason).
    pub paused_calendars: Vec<(String, String)>,
}

fn when(v: &Value) -> DateTime<Utc> {
    v["dateTime"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub async fn snapshot(model: &Model, google: &Google, pool: &PgPool) -> Result<Snapshot, String> {
    let mut events = Vec::new();
    for cal in &CALS {
        for item in google.list_all(cal).await? {
            let id = item["id"].as_str().unwrap_or_default().to_string();
            let live = (item["status"] != "cancelled").then(|| Fields {
                summary: item["summary"].as_str().unwrap_or_default().to_string(),
                start: when(&item["start"]),
                end: when(&item["end"]),
            });
            let mut tag = live.as_ref().map(|f| tag_of(&f.summary).to_string());
            if tag.is_none() {
                // A tombstone carries no summary: the model knows its ids (in whichever account it
                // meant them), Google knows the others.
                tag = match model.events.iter().find(|e| e.google_id == id) {
                    Some(e) => Some(e.tag.clone()),
                    None => google
                        .peek(cal, &id)
                        .await
                        .and_then(|e| e["summary"].as_str().map(|s| tag_of(s).to_string())),
                };
            }
            events.push(GoogleEvent { cal, id, tag, live });
        }
    }
    type Row = (
        String,
        Uuid,
        Option<String>,
        Option<String>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = sqlx::query_as(
            "SELECT calendar_id, id, external_id, summary, start_at, end_at FROM events WHERE deleted_at IS NULL",
        )
        .fetch_all(pool)
        .await
        .map_err(|e| format!("local rows: {e}"))?;
    let local = rows
        .into_iter()
        .map(|(cal, id, external_id, summary, start, end)| LocalRow {
            cal,
            id,
            external_id,
            fields: Fields {
                summary: summary.unwrap_or_default(),
                start: start.unwrap_or(DateTime::<Utc>::MIN_UTC),
                end: end.unwrap_or(DateTime::<Utc>::MIN_UTC),
            },
        })
        .collect();
    type Queued = (Uuid, String, bool, i32, Option<String>, String);
    let queued: Vec<Queued> = sqlx::query_as(
        "SELECT event_id, calendar_id, parked_at IS NOT NULL, attempts, last_error,
                format('generation %s, next attempt %s, lease until %s', generation,
                       to_char(next_attempt_at, 'HH24:MI:SS.MS'), COALESCE(to_char(lease_until, 'HH24:MI:SS.MS'), '-'))
           FROM outbox ORDER BY enqueued_at",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| format!("outbox: {e}"))?;
    let outbox = queued
        .into_iter()
        .map(
            |(event_id, cal, parked, attempts, last_error, detail)| OutboxRow {
                event_id,
                cal,
                parked,
                attempts,
                last_error,
                detail,
            },
        )
        .collect();
    let paused_accounts: Vec<(String, String)> = sqlx::query_as(
        "SELECT account, paused_reason FROM account_state WHERE paused_reason IS NOT NULL ORDER BY account",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| format!("account_state: {e}"))?;
    let paused_calendars: Vec<(String, String)> = sqlx::query_as(
        "SELECT calendar_id, error_reason FROM sync_state WHERE error_reason IS NOT NULL ORDER BY calendar_id",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| format!("sync_state: {e}"))?;
    Ok(Snapshot {
        google: events,
        local,
        outbox,
        paused_accounts,
        paused_calendars,
    })
}
