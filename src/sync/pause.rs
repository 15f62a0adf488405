//! An account Google refused (`invalid_grant`): paused, so its calendars and writes wait while the
//! other accounts go on, with one alert per pause whichever replica or path saw it first.

use sqlx::PgPool;

use super::alerts::{Alert, AlertSink};

/// Google refused `account`'s credentials (`invalid_grant`): pauses the account, so its calendars
/// and writes wait and the other accounts go on, and alerts once per pause, whichever replica or
/// path (a sync run, a write) saw the refusal first.
pub async fn refused(
    pool: &PgPool,
    alerts: &dyn AlertSink,
    account: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    if crate::db::account_state::pause(pool, account, reason).await? {
        tracing::warn!(account = %account, "account paused: Google refused its credentials");
        alerts
            .alert(&Alert::CredentialsRejected {
                account: account.to_string(),
                reason: reason.to_string(),
            })
            .await;
    }
    Ok(())
}
