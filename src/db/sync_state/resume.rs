//! Lifting pauses: an explicit sync of a calendar (its own pause, its account's, and the account's
//! credential pauses and held writes), or new credentials for an account.

use sqlx::PgPool;

/// What an explicit sync lifted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resumed {
    /// Accounts whose pause was lifted (the calendar's).
    pub accounts: i64,
    /// Calendars whose pause was lifted.
    pub calendars: i64,
    /// Outbox entries sent again now.
    pub entries: i64,
}

/// Lifts the pauses an explicit sync of `calendar_id` covers, so that it retries: the operator
/// fixed the cause, or wants to know whether it is gone. That is the calendar's pause, whatever
/// its reason, and everything [`resume_account`] lifts for its account (never another account's).
/// The calendar's parked outbox entries come back too. The writer is woken.
pub async fn resume(pool: &PgPool, calendar_id: &str) -> Result<Resumed, sqlx::Error> {
    match super::super::calendars::account_of(pool, calendar_id).await? {
        Some(account) => lift(pool, Some(calendar_id), &account).await,
        None => Ok(Resumed::default()),
    }
}

/// New credentials for `account` (a connect, `calsync auth login --account`): lifts its pause,
/// its calendars' credential pauses (`invalid_grant`, `credentials`) and sends its writes held by
/// a credentials failure again (parked, or waiting out a hold). The writer is woken.
pub async fn resume_account(pool: &PgPool, account: &str) -> Result<Resumed, sqlx::Error> {
    lift(pool, None, account).await
}

/// [`resume`] and [`resume_account`] in one statement: `calendar` (any pause, its parked entries)
/// when given, and `account`'s credential pauses and held entries.
async fn lift(
    pool: &PgPool,
    calendar: Option<&str>,
    account: &str,
) -> Result<Resumed, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH mine AS (
               SELECT id FROM calendars WHERE account = $2
           ), lifted AS (
               UPDATE sync_state SET error_reason = NULL, retry_at = NULL, pending = TRUE,
                      pending_since = COALESCE(pending_since, now()), updated_at = now()
                WHERE error_reason IS NOT NULL
                  AND (calendar_id = $1 OR (error_reason IN ('invalid_grant', 'credentials')
                                            AND calendar_id IN (SELECT id FROM mine)))
            RETURNING calendar_id
           ), requeued AS (
               UPDATE outbox SET parked_at = NULL, attempts = 0, next_attempt_at = now()
                WHERE (calendar_id = $1 AND parked_at IS NOT NULL)
                   OR (lease_owner IS NULL AND last_error LIKE 'google: credentials%'
                       AND (parked_at IS NOT NULL OR next_attempt_at > now())
                       AND calendar_id IN (SELECT id FROM mine))
            RETURNING calendar_id
           ), unpaused AS (
               UPDATE account_state SET paused_reason = NULL, paused_at = NULL, updated_at = now()
                WHERE account = $2 AND paused_reason IS NOT NULL
            RETURNING account
           ), woken AS (
               SELECT pg_notify('calsync_outbox', COALESCE($1, $2))
           )
           SELECT (SELECT count(*) FROM lifted) AS "calendars!",
                  (SELECT count(*) FROM unpaused) AS "accounts!",
                  (SELECT count(*) FROM requeued) AS "entries!",
                  (SELECT count(*) FROM woken) AS "woken!""#,
        calendar,
        account
    )
    .fetch_one(pool)
    .await?;
    Ok(Resumed {
        accounts: row.accounts,
        calendars: row.calendars,
        entries: row.entries,
    })
}
