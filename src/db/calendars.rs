//! Calendars from the config mirrored into PostgreSQL (with their sync state rows) at startup.

use sqlx::PgPool;

use crate::config::{DEFAULT_ACCOUNT, Settings};

/// The local key of `account`'s Google calendar `google_id`, for a calendar stored for the first
/// time: the Google id itself in the implicit account (as before accounts existed), else
/// `<account>:<google id>`. A stored calendar keeps the key it was given.
pub fn key_for(account: &str, google_id: &str) -> String {
    if account == DEFAULT_ACCOUNT {
        google_id.to_string()
    } else {
        format!("{account}:{google_id}")
    }
}

/// The advisory lock that serialises the config mirror across replicas ("calrecon").
const RECONCILE_LOCK_KEY: i64 = 0x6361_6c72_6563_6f6e;

/// A key no calendar has: [`key_for`]'s, else `<account>:<google id>`; recorded in `taken`.
fn fresh_key(
    taken: &mut std::collections::HashSet<String>,
    account: &str,
    google_id: &str,
) -> Result<String, sqlx::Error> {
    let key = [
        key_for(account, google_id),
        format!("{account}:{google_id}"),
    ]
    .into_iter()
    .find(|k| !taken.contains(k))
    .ok_or_else(|| {
        sqlx::Error::Protocol(format!(
            "no free key for calendar {google_id} of account {account}"
        ))
    })?;
    taken.insert(key.clone());
    Ok(key)
}

/// Which Google calendar a calendar key is: its account and its Google id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarRef {
    pub key: String,
    pub account: String,
    pub google_id: String,
}

/// Upserts every configured calendar, creates missing sync-state rows and marks calendars
/// that left the config inactive (those added through the admin API are left alone). Returns the
/// number of configured calendars.
///
/// A calendar stored before accounts existed (account `default`, key = Google id) that the config
/// now gives to one named account is adopted by it, key unchanged; when another account (the
/// default one included) also has that Google id in the config, nobody adopts it: it leaves the
/// config (inactive, its rows kept), and each account's calendar is stored afresh.
pub async fn reconcile(pool: &PgPool, settings: &Settings) -> Result<usize, sqlx::Error> {
    let cals = &settings.google_calendar.calendars;
    let accounts: Vec<String> = cals
        .iter()
        .map(|c| settings.account_of(c).to_string())
        .collect();
    let google_ids: Vec<String> = cals.iter().map(|c| c.id.clone()).collect();
    let names: Vec<String> = cals.iter().map(|c| c.name.clone()).collect();
    let roles: Vec<String> = cals.iter().map(|c| c.casquette.clone()).collect();
    let colors: Vec<Option<String>> = cals.iter().map(|c| c.color.clone()).collect();
    let mut tx = pool.begin().await?;
    // Replicas starting together mirror one at a time: the table has two unique keys (the local
    // key and (account, google_id)), and an upsert arbitrates only one of them.
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", RECONCILE_LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        r#"UPDATE calendars c SET account = n.account, updated_at = now()
             FROM UNNEST($1::text[], $2::text[]) AS n(account, google_id)
            WHERE n.account <> 'default' AND c.id = n.google_id AND c.google_id = n.google_id
              AND c.account = 'default' AND c.source = 'config'
              AND NOT EXISTS (SELECT 1 FROM calendars o
                               WHERE o.account = n.account AND o.google_id = n.google_id)
              AND NOT EXISTS (SELECT 1 FROM UNNEST($1::text[], $2::text[]) AS d(account, google_id)
                               WHERE d.google_id = n.google_id AND d.account <> n.account)"#,
        &accounts,
        &google_ids,
    )
    .execute(&mut *tx)
    .await?;
    // Keys: a stored calendar keeps its own; a new one gets `key_for`, or `<account>:<id>` when
    // that is taken by another calendar (say, an adopted row holds the bare Google id).
    let rows = sqlx::query!("SELECT id, account, google_id FROM calendars")
        .fetch_all(&mut *tx)
        .await?;
    let mut taken: std::collections::HashSet<String> = rows.iter().map(|r| r.id.clone()).collect();
    let known: std::collections::HashMap<(String, String), String> = rows
        .into_iter()
        .map(|r| ((r.account, r.google_id), r.id))
        .collect();
    let mut keys = Vec::with_capacity(cals.len());
    for (account, google_id) in accounts.iter().zip(&google_ids) {
        let key = match known.get(&(account.clone(), google_id.clone())) {
            Some(id) => id.clone(),
            None => fresh_key(&mut taken, account, google_id)?,
        };
        keys.push(key);
    }
    let stored: Vec<String> = sqlx::query_scalar!(
        r#"INSERT INTO calendars (id, account, google_id, name, casquette, color, active, source)
           SELECT *, TRUE, 'config'
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
           ON CONFLICT (account, google_id) DO UPDATE
              SET name = EXCLUDED.name, casquette = EXCLUDED.casquette, color = EXCLUDED.color,
                  active = TRUE, source = 'config', updated_at = now()
           RETURNING id"#,
        &keys,
        &accounts,
        &google_ids,
        &names,
        &roles,
        &colors as &[Option<String>],
    )
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE calendars SET active = FALSE, updated_at = now()
          WHERE active AND source = 'config' AND NOT (id = ANY($1))",
        &stored
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO sync_state (calendar_id) SELECT UNNEST($1::text[]) ON CONFLICT DO NOTHING",
        &stored
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(stored.len())
}

/// Which Google calendar `key` is (inactive calendars too: their outbox may still drain).
pub async fn find(pool: &PgPool, key: &str) -> Result<Option<CalendarRef>, sqlx::Error> {
    sqlx::query_as!(
        CalendarRef,
        "SELECT id AS key, account, google_id FROM calendars WHERE id = $1",
        key
    )
    .fetch_optional(pool)
    .await
}

/// The active calendars' keys, for every account or one.
pub async fn active_keys(pool: &PgPool, account: Option<&str>) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM calendars WHERE active AND ($1::text IS NULL OR account = $1) ORDER BY id",
        account
    )
    .fetch_all(pool)
    .await
}

/// The account a calendar key belongs to (None: no such calendar).
pub async fn account_of(pool: &PgPool, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!("SELECT account FROM calendars WHERE id = $1", key)
        .fetch_optional(pool)
        .await
}

/// An active calendar's id and the zone Google last reported for it.
pub struct CalendarZone {
    pub id: String,
    pub account: String,
    pub google_id: String,
    pub time_zone: Option<String>,
}

/// Active calendars (of one role, of one account, when given), with their reported zones.
pub async fn active_zones(
    pool: &PgPool,
    casquette: Option<&str>,
    account: Option<&str>,
) -> Result<Vec<CalendarZone>, sqlx::Error> {
    sqlx::query_as!(
        CalendarZone,
        "SELECT id, account, google_id, time_zone FROM calendars
          WHERE active AND ($1::text IS NULL OR casquette = $1) AND ($2::text IS NULL OR account = $2)
          ORDER BY id",
        casquette,
        account
    )
    .fetch_all(pool)
    .await
}

/// The zone Google reported for a calendar (`UTC` when it reported none; None: no such calendar).
pub async fn zone_of(pool: &PgPool, id: &str) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        "SELECT COALESCE(time_zone, 'UTC') FROM calendars WHERE id = $1",
        id
    )
    .fetch_optional(pool)
    .await?
    .flatten())
}

/// A stored calendar, as the API, the sync endpoint and the admin routes show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CalendarRow {
    /// The local key (`calendar_id` in every other table).
    pub id: String,
    pub account: String,
    pub google_id: String,
    pub name: String,
    pub casquette: String,
    pub color: Option<String>,
    /// `config` (the YAML) or `api` (the admin API, the connect flow).
    pub source: String,
}

/// The active calendars, of every account or one, by key.
pub async fn list_active(
    pool: &PgPool,
    account: Option<&str>,
) -> Result<Vec<CalendarRow>, sqlx::Error> {
    sqlx::query_as!(
        CalendarRow,
        "SELECT id, account, google_id, name, casquette, color, source FROM calendars
          WHERE active AND ($1::text IS NULL OR account = $1) ORDER BY account, id",
        account
    )
    .fetch_all(pool)
    .await
}

/// Adds (or re-activates) `account`'s Google calendar at run time (the admin API, the connect
/// flow), with its sync-state row marked pending; returns it. The config mirror leaves it alone.
pub async fn add(
    pool: &PgPool,
    account: &str,
    google_id: &str,
    name: &str,
    casquette: &str,
    color: Option<&str>,
) -> Result<CalendarRow, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", RECONCILE_LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    let existing = sqlx::query_scalar!(
        "SELECT id FROM calendars WHERE account = $1 AND google_id = $2",
        account,
        google_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let key = match existing {
        Some(id) => id,
        None => {
            let candidates = [
                key_for(account, google_id),
                format!("{account}:{google_id}"),
            ];
            let mut taken: std::collections::HashSet<String> = sqlx::query_scalar!(
                "SELECT id FROM calendars WHERE id = ANY($1)",
                &candidates[..]
            )
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            fresh_key(&mut taken, account, google_id)?
        }
    };
    let row = sqlx::query_as!(
        CalendarRow,
        "INSERT INTO calendars (id, account, google_id, name, casquette, color, active, source)
         VALUES ($1, $2, $3, $4, $5, $6, TRUE, 'api')
         ON CONFLICT (account, google_id) DO UPDATE
            SET name = EXCLUDED.name, casquette = EXCLUDED.casquette, color = EXCLUDED.color,
                active = TRUE, source = 'api', updated_at = now()
         RETURNING id, account, google_id, name, casquette, color, source",
        key,
        account,
        google_id,
        name,
        casquette,
        color
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO sync_state (calendar_id) VALUES ($1)
         ON CONFLICT (calendar_id) DO UPDATE SET pending = TRUE,
             pending_since = COALESCE(sync_state.pending_since, now()), updated_at = now()",
        row.id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Deactivates a calendar (its channels are stopped by the renewal pass; its rows are kept);
/// true when it was active.
pub async fn deactivate(pool: &PgPool, key: &str) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "UPDATE calendars SET active = FALSE, updated_at = now() WHERE id = $1 AND active",
        key
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// Every calendar of `account`, active or not.
pub async fn keys_of(pool: &PgPool, account: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM calendars WHERE account = $1 ORDER BY id",
        account
    )
    .fetch_all(pool)
    .await
}

/// The account names that calendars or connected credentials use, with their active calendars
/// added at run time (those of the config file are counted from the config).
pub async fn accounts(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT n.account AS "name!",
                  count(c.id) FILTER (WHERE c.active AND c.source = 'api') AS "calendars!"
             FROM (SELECT account FROM calendars UNION SELECT name FROM accounts) n
             LEFT JOIN calendars c ON c.account = n.account
            GROUP BY n.account ORDER BY n.account"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.name, r.calendars)).collect())
}

/// The calendars `id` names among `rows`: the one whose key it is, else those whose Google id it
/// is (several when several accounts have that id).
pub fn named<'a>(rows: &'a [CalendarRow], id: &str) -> Vec<&'a CalendarRow> {
    match rows.iter().find(|c| c.id == id) {
        Some(exact) => vec![exact],
        None => rows.iter().filter(|c| c.google_id == id).collect(),
    }
}
