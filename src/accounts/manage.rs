//! Accounts and calendars at run time, for the CLI (`calsync accounts remove`), the admin API and
//! the connect flow: connecting an account (its token sealed, its pause lifted, its calendars added
//! and watched), adding and removing calendars, and removing an account (its channels stopped, its
//! calendars deactivated, its credentials forgotten, revoked at Google only when asked, its events
//! kept or deleted as the operator chooses).

use serde_json::{Map, Value};
use sqlx::PgPool;

use super::{GoogleAccounts, StoredCredentials};
use crate::config::{AccountSource, Settings};
use crate::db::calendars::{self, CalendarRow};
use crate::db::from_google::{self, GoogleTx};
use crate::db::{account_state, watch_channels};
use crate::google::CredentialVault as _;
use crate::google::GoogleError;
use crate::push::registry::ChannelManager;

/// What happens to a removed account's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventsChoice {
    /// The rows stay (their calendars inactive): nothing is lost.
    Keep,
    /// The rows are deleted here (never at Google).
    Delete,
}

/// What removing an account did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Removed {
    pub calendars: usize,
    pub channels_stopped: usize,
    pub credentials_deleted: bool,
    pub revoked: bool,
    pub events_deleted: u64,
    /// Calendars of the config file that still name the account (they come back at the next start).
    pub still_in_config: usize,
}

/// Why an account or calendar operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error("{0}")]
    Refused(String),
    #[error("no such account: {0}")]
    UnknownAccount(String),
    #[error("google: {0}")]
    Google(#[from] GoogleError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// The pieces an operation needs (all from `Services`).
pub struct Manager<'a> {
    pub pool: &'a PgPool,
    pub settings: &'a Settings,
    pub google: Option<&'a GoogleAccounts>,
    pub channels: Option<&'a ChannelManager>,
}

impl Manager<'_> {
    /// Seals `document` (a google-auth token document) as `account`'s credentials, lifts its pause
    /// and drops the client built from its old credentials. Accounts of the config file are refused:
    /// names are one namespace, and theirs come from files.
    pub async fn connect(
        &self,
        account: &str,
        document: &Map<String, Value>,
    ) -> Result<(), ManageError> {
        if !super::valid_name(account) {
            return Err(ManageError::Refused(format!(
                "{account:?} is not an account name ({})",
                super::NAME_RULE
            )));
        }
        if matches!(
            self.settings.account_source(account),
            AccountSource::Files(_)
        ) {
            return Err(ManageError::Refused(format!(
                "account {account} takes its credentials from the config file"
            )));
        }
        let refresh = document.get("refresh_token").and_then(Value::as_str);
        if refresh.is_none_or(str::is_empty) {
            return Err(ManageError::Refused(
                "the token document has no refresh_token".into(),
            ));
        }
        let keys = self
            .settings
            .secrets
            .keys()
            .map_err(|e| ManageError::Refused(e.to_string()))?;
        let vault = StoredCredentials::new(self.pool.clone(), account, keys);
        // Connecting again must be the same Google user: its calendars, sync tokens and queued
        // writes are that user's. (Credentials that no longer open may be replaced.)
        let email =
            |d: &Map<String, Value>| d.get("account").and_then(Value::as_str).map(str::to_string);
        if let (Some(new), Ok(old)) = (email(document), vault.load().await)
            && let Some(old) = email(&old)
            && old != new
        {
            return Err(ManageError::Refused(format!(
                "account {account} is connected as another Google user; remove it first \
                 (`calsync accounts remove {account}`) to connect this one"
            )));
        }
        vault.connect(document).await?;
        if let Some(g) = self.google {
            g.forget(account);
        }
        tracing::info!(account = %account, "account connected");
        Ok(())
    }

    /// Adds `account`'s Google calendar, marked for a first sync, and gives it a channel when push
    /// is configured (a channel that cannot be created now is retried by the renewal pass).
    pub async fn add_calendar(
        &self,
        account: &str,
        google_id: &str,
        name: &str,
        casquette: &str,
        color: Option<&str>,
    ) -> Result<CalendarRow, ManageError> {
        if !self
            .settings
            .google_calendar
            .casquettes
            .iter()
            .any(|c| c == casquette)
        {
            return Err(ManageError::Refused(format!(
                "unknown casquette {casquette:?}; known: {}",
                self.settings.google_calendar.casquettes.join(", ")
            )));
        }
        if google_id.trim().is_empty() || google_id.len() > 1024 {
            return Err(ManageError::Refused("a calendar id is required".into()));
        }
        let configured = self.settings.configured_accounts().contains(account);
        if !configured
            && crate::db::accounts::sealed(self.pool, account)
                .await?
                .is_none()
        {
            return Err(ManageError::UnknownAccount(account.to_string()));
        }
        let row = calendars::add(self.pool, account, google_id, name, casquette, color).await?;
        if let Some(ch) = self.channels
            && let Err(e) = ch.create(&row.id).await
        {
            tracing::warn!(account = %account, calendar = %row.id, error.cause = %e,
                "no channel yet for the new calendar: the fallback poll serves it until renewal creates one");
        }
        tracing::info!(account = %account, calendar = %row.id, casquette = %casquette, "calendar added");
        Ok(row)
    }

    /// Deactivates a calendar and stops its channels; true when it was active.
    pub async fn remove_calendar(&self, key: &str) -> Result<(bool, usize), ManageError> {
        let was_active = calendars::deactivate(self.pool, key).await?;
        let stopped = self.stop_channels(key).await;
        Ok((was_active, stopped))
    }

    async fn stop_channels(&self, key: &str) -> usize {
        let Some(ch) = self.channels else { return 0 };
        let live = match watch_channels::live_channels(self.pool, key).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(calendar = %key, error.cause = %e, "channels not read");
                return 0;
            }
        };
        let mut stopped = 0;
        for id in live {
            match ch.stop(&id).await {
                Ok(()) => stopped += 1,
                Err(e) => tracing::warn!(calendar = %key, channel = %id, error.cause = %e,
                    "channel not stopped (it ends at its expiry)"),
            }
        }
        stopped
    }

    /// Removes `account`: deactivates its calendars (so no renewal watches them again) and stops
    /// their channels while its credentials still work, revokes its grant at Google when `revoke`
    /// (a failure stops here, and running the removal again finishes it), then deletes its sealed
    /// credentials and its pause, and its events when asked, in one transaction.
    pub async fn remove_account(
        &self,
        account: &str,
        revoke: bool,
        events: EventsChoice,
    ) -> Result<Removed, ManageError> {
        let keys = calendars::keys_of(self.pool, account).await?;
        let active = calendars::active_keys(self.pool, Some(account)).await?;
        let stored = crate::db::accounts::sealed(self.pool, account)
            .await?
            .is_some();
        if active.is_empty() && !stored {
            return Err(ManageError::UnknownAccount(account.to_string()));
        }
        if revoke && self.google.is_none() {
            return Err(ManageError::Refused(
                "Google sync is off: cannot revoke".into(),
            ));
        }
        let mut removed = Removed::default();
        for key in &keys {
            let (_, stopped) = self.remove_calendar(key).await?;
            removed.channels_stopped += stopped;
        }
        removed.calendars = active.len();
        if let (true, Some(google)) = (revoke, self.google) {
            google.client(account).await?.revoke().await?;
            removed.revoked = true;
        }
        // The database's part in one transaction: a failure leaves the credentials stored, so the
        // account is still known and running the removal again finishes it (a grant already
        // revoked answers 400, which counts as revoked).
        let mut tx = GoogleTx::begin(self.pool).await?;
        removed.credentials_deleted = crate::db::accounts::remove(tx.conn(), account).await?;
        account_state::forget(tx.conn(), account).await?;
        if events == EventsChoice::Delete {
            removed.events_deleted = from_google::delete_calendars(&mut tx, &keys).await?;
            crate::db::sync_state::forget_tokens(tx.conn(), &keys).await?;
        }
        tx.commit().await?;
        if let Some(g) = self.google {
            g.forget(account);
        }
        removed.still_in_config = self
            .settings
            .google_calendar
            .calendars
            .iter()
            .filter(|c| self.settings.account_of(c) == account)
            .count();
        tracing::info!(account = %account, calendars = removed.calendars,
            channels_stopped = removed.channels_stopped, revoked = removed.revoked,
            events_deleted = removed.events_deleted, "account removed");
        Ok(removed)
    }
}
