//! Admin sign-ins (bearer header, status-page cookie, `/login`): tokens checked against the
//! configured policy, failures counted per client address and minute (429 past the limit) and
//! logged with their reason only: never the token, never the address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::admin_auth::{self, Claims, Refused};
use crate::config::AdminSettings;

/// The window failures are counted over.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most (past it, old windows are dropped first, then all).
const MAX_ADDRESSES: usize = 4096;

/// Why a sign-in did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The token is bad, expired, not yet valid, too long-lived or revoked.
    Refused(Refused),
    /// Too many failures from this address: not even checked; retry after the window.
    Limited,
    /// No admin secret is configured.
    Disabled,
}

/// Failed sign-ins per client address, over fixed one-minute windows.
#[derive(Debug, Default)]
pub struct SignInGuard {
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl SignInGuard {
    /// Checks `token` for a caller at `peer` (`via`: which door, for the log line).
    pub fn check(
        &self,
        admin: &AdminSettings,
        peer: Option<IpAddr>,
        token: &str,
        via: &'static str,
    ) -> Result<Claims, Denied> {
        let secret = admin.jwt_secret.as_ref().ok_or(Denied::Disabled)?;
        let limit = admin.max_failed_signins_per_minute.max(1);
        let now = Instant::now();
        if let Some(ip) = peer
            && self.failures_of(ip, now) >= limit
        {
            tracing::warn!(
                via,
                "admin sign-in refused: too many failures from this address"
            );
            return Err(Denied::Limited);
        }
        match admin_auth::verify_with(secret.expose(), token.trim(), &admin.token_policy()) {
            Ok(claims) => Ok(claims),
            Err(reason) => {
                let failures = peer.map_or(0, |ip| self.record(ip, now));
                // Routine (an expired token, a typo): INFO. WARN is kept for an address over its limit.
                tracing::info!(
                    via,
                    reason = reason.as_str(),
                    failures_this_minute = failures,
                    "admin sign-in refused"
                );
                Err(Denied::Refused(reason))
            }
        }
    }

    /// Whether `peer` used up its failures for this minute (checked before reading a body).
    pub fn is_limited(&self, admin: &AdminSettings, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|ip| {
            self.failures_of(ip, Instant::now()) >= admin.max_failed_signins_per_minute.max(1)
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (Instant, u32)>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn failures_of(&self, ip: IpAddr, now: Instant) -> u32 {
        match self.lock().get(&ip) {
            Some((start, n)) if now.duration_since(*start) < WINDOW => *n,
            _ => 0,
        }
    }

    fn record(&self, ip: IpAddr, now: Instant) -> u32 {
        let mut map = self.lock();
        if map.len() >= MAX_ADDRESSES && !map.contains_key(&ip) {
            map.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            if map.len() >= MAX_ADDRESSES {
                map.clear();
            }
        }
        let entry = map.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(limit: u32) -> AdminSettings {
        let mut a: AdminSettings = serde_yaml_ng::from_str(
            "jwt_secret: test-admin-secret-0123456789abcdef\nrevoked_token_ids: a, b",
        )
        .expect("settings");
        a.max_failed_signins_per_minute = limit;
        a
    }

    #[test]
    fn failures_are_limited_per_address() {
        let guard = SignInGuard::default();
        let a = admin(3);
        assert_eq!(a.revoked_token_ids, ["a", "b"], "comma-separated ids");
        let good = admin_auth::mint(
            "test-admin-secret-0123456789abcdef",
            "x",
            Duration::from_secs(60),
        )
        .expect("mint");
        let me: IpAddr = "192.0.2.1".parse().expect("ip");
        let other: IpAddr = "192.0.2.2".parse().expect("ip");
        for _ in 0..3 {
            assert!(matches!(
                guard.check(&a, Some(me), "nope", "test"),
                Err(Denied::Refused(Refused::Invalid))
            ));
        }
        assert_eq!(
            guard.check(&a, Some(me), &good, "test"),
            Err(Denied::Limited)
        );
        assert!(guard.check(&a, Some(other), &good, "test").is_ok());
    }
}
