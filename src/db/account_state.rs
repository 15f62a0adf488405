//! Per-account state: the pause of an account whose credentials Google refused, set once (one
//! alert per pause) and lifted by an explicit sync or new credentials.

use sqlx::PgPool;

/// A paused account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paused {
    pub account: String,
    pub reason: String,
    pub since: chrono::DateTime<chrono::Utc>,
}

/// Pauses `account` for `reason`; true when this call paused it (it was not paused already), so
/// exactly one caller alerts, whichever replica it runs on.
pub async fn pause(pool: &PgPool, account: &str, reason: &str) -> Result<bool, sqlx::Error> {
    let row = sqlx::query_scalar!(
        "INSERT INTO account_state (account, paused_reason, paused_at) VALUES ($1, $2, now())
         ON CONFLICT (account) DO UPDATE
            SET paused_reason = EXCLUDED.paused_reason, paused_at = now(), updated_at = now()
          WHERE account_state.paused_reason IS NULL
         RETURNING account",
        account,
        reason
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.is_some())
}

/// Forgets `account`'s state (the account was removed).
pub async fn forget(conn: &mut sqlx::PgConnection, account: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM account_state WHERE account = $1", account)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every paused account.
pub async fn paused(pool: &PgPool) -> Result<Vec<Paused>, sqlx::Error> {
    sqlx::query_as!(
        Paused,
        r#"SELECT account, paused_reason AS "reason!", paused_at AS "since!"
             FROM account_state WHERE paused_reason IS NOT NULL ORDER BY account"#
    )
    .fetch_all(pool)
    .await
}
