//! De-duplication of system alerts: one alert per kind and calendar within a window.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::sync::alerts::Alert;

/// Default window during which the same alert is not sent again.
pub const DEFAULT_ALERT_WINDOW: Duration = Duration::from_secs(3600);

/// What makes two alerts "the same": their kind and calendar (not their error text or count).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AlertKey {
    pub kind: &'static str,
    pub calendar_id: Option<String>,
}

impl AlertKey {
    pub fn of(alert: &Alert) -> Self {
        match alert {
            Alert::ConsecutiveFailures { calendar_id, .. } => Self {
                kind: "consecutive_failures",
                calendar_id: Some(calendar_id.clone()),
            },
            // One per account: another account's refusal is another alert.
            Alert::CredentialsRejected { account, .. } => Self {
                kind: "credentials_rejected",
                calendar_id: Some(account.clone()),
            },
            Alert::NoLiveChannel { calendar_id, .. } => Self {
                kind: "no_live_channel",
                calendar_id: Some(calendar_id.clone()),
            },
        }
    }
}

/// Remembers when each alert was last sent; entries older than the window are forgotten.
#[derive(Debug)]
pub struct AlertDedup {
    window: Duration,
    sent: HashMap<AlertKey, Instant>,
}

impl AlertDedup {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            sent: HashMap::new(),
        }
    }

    /// True when `key` was not sent within the window before `now`.
    pub fn is_new(&mut self, key: &AlertKey, now: Instant) -> bool {
        let window = self.window;
        self.sent
            .retain(|_, at| now.saturating_duration_since(*at) < window);
        !self.sent.contains_key(key)
    }

    /// Records that `key` was sent at `now`.
    pub fn record(&mut self, key: AlertKey, now: Instant) {
        self.sent.insert(key, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(calendar: &str, n: i32) -> Alert {
        Alert::ConsecutiveFailures {
            account: "default".into(),
            calendar_id: calendar.into(),
            casquette: "medecin".into(),
            failures: n,
            last_error: format!("error {n}"),
        }
    }

    #[test]
    fn same_kind_and_calendar_is_held_back_for_the_window() {
        let mut d = AlertDedup::new(Duration::from_secs(3600));
        let t0 = Instant::now();
        let key = AlertKey::of(&failures("primary", 3));
        assert!(d.is_new(&key, t0));
        d.record(key.clone(), t0);
        // Another count or error text is still the same alert.
        let again = AlertKey::of(&failures("primary", 6));
        assert!(!d.is_new(&again, t0 + Duration::from_secs(3599)));
        assert!(d.is_new(&AlertKey::of(&failures("other", 3)), t0));
        let channel = AlertKey::of(&Alert::NoLiveChannel {
            calendar_id: "primary".into(),
            casquette: "medecin".into(),
        });
        assert!(d.is_new(&channel, t0));
        assert!(d.is_new(&again, t0 + Duration::from_secs(3600)));
        assert!(d.sent.is_empty(), "expired entries are dropped");
    }
}
