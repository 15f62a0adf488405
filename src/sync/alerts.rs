//! System alerts (3 consecutive failures, invalid credentials, no live channel): a sink trait, logged by default.

use std::future::Future;
use std::pin::Pin;

/// What went wrong, with ids only (no event content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    ConsecutiveFailures {
        account: String,
        calendar_id: String,
        casquette: String,
        failures: i32,
        last_error: String,
    },
    /// Google refused an account's credentials: the account is paused (one alert per pause).
    CredentialsRejected { account: String, reason: String },
    NoLiveChannel {
        calendar_id: String,
        casquette: String,
    },
}

impl Alert {
    /// The seed's French text for the System topic.
    pub fn text(&self) -> String {
        match self {
            Self::ConsecutiveFailures {
                account,
                failures,
                last_error,
                casquette,
                ..
            } => format!(
                "🚨 Google Calendar sync: {failures} échecs consécutifs ({casquette}{})\nDernière erreur: {last_error}\nVérifiez les credentials OAuth2 et la config.",
                of_account(account, "compte")
            ),
            Self::CredentialsRejected { account, reason } => format!(
                "🚨 Google Calendar sync: identifiants refusés ({reason}{})\nRelancez `calsync auth login{}`.",
                of_account(account, "compte"),
                login_flag(account)
            ),
            Self::NoLiveChannel { casquette, .. } => format!(
                "🚨 Google Calendar sync: aucun canal push actif ({casquette}); le poll de secours prend le relais."
            ),
        }
    }
}

/// `, <word> <account>` for a named account; nothing for the implicit one (the seed's texts).
pub fn of_account(account: &str, word: &str) -> String {
    if account == crate::config::DEFAULT_ACCOUNT {
        String::new()
    } else {
        format!(", {word} {account}")
    }
}

/// The `--account` flag of `calsync auth login` for a named account.
pub fn login_flag(account: &str) -> String {
    if account == crate::config::DEFAULT_ACCOUNT {
        String::new()
    } else {
        format!(" --account {account}")
    }
}

pub type AlertFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Where alerts go. Implementations must not block syncing: failures are theirs to log.
pub trait AlertSink: Send + Sync {
    fn alert<'a>(&'a self, alert: &'a Alert) -> AlertFuture<'a>;
}

/// The default sink: one structured error log line per alert.
pub struct LogAlerts;

impl AlertSink for LogAlerts {
    fn alert<'a>(&'a self, alert: &'a Alert) -> AlertFuture<'a> {
        Box::pin(async move {
            match alert {
                Alert::ConsecutiveFailures {
                    account,
                    calendar_id,
                    casquette,
                    failures,
                    ..
                } => {
                    tracing::error!(alert = "consecutive_failures", account = %account, calendar = %calendar_id, casquette = %casquette, failures, "system alert");
                }
                Alert::CredentialsRejected { account, .. } => {
                    tracing::error!(alert = "credentials_rejected", account = %account, "system alert");
                }
                Alert::NoLiveChannel {
                    calendar_id,
                    casquette,
                } => {
                    tracing::error!(alert = "no_live_channel", calendar = %calendar_id, casquette = %casquette, "system alert");
                }
            }
        })
    }
}
