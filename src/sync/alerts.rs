//! System alerts (3 consecutive failures, invalid credentials, no live channel): a sink trait, logged by default.

use std::future::Future;
use std::pin::Pin;

/// What went wrong, with ids only (no event content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    ConsecutiveFailures {
        calendar_id: String,
        casquette: String,
        failures: i32,
        last_error: String,
    },
    CredentialsRejected {
        reason: String,
    },
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
                failures,
                last_error,
                casquette,
                ..
            } => format!(
                "🚨 Google Calendar sync: {failures} échecs consécutifs ({casquette})\nDernière erreur: {last_error}\nVérifiez les credentials OAuth2 et la config."
            ),
            Self::CredentialsRejected { reason } => format!(
                "🚨 Google Calendar sync: identifiants refusés ({reason})\nRelancez `calsync auth login`."
            ),
            Self::NoLiveChannel { casquette, .. } => format!(
                "🚨 Google Calendar sync: aucun canal push actif ({casquette}); le poll de secours prend le relais."
            ),
        }
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
                    calendar_id,
                    casquette,
                    failures,
                    ..
                } => {
                    tracing::error!(alert = "consecutive_failures", calendar = %calendar_id, casquette = %casquette, failures, "system alert");
                }
                Alert::CredentialsRejected { .. } => {
                    tracing::error!(alert = "credentials_rejected", "system alert");
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
