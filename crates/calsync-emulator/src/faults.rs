//! Fault injection for `/calendar/v3/*`: error rates (with or without Retry-After), latency, a quota per
//! minute, and push faults (drop, duplicate, reorder); all drawn from one seeded generator.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand::Rng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

/// The faults in force (`POST /emulator/faults` replaces them; `{}` clears them).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    pub seed: Option<u64>,
    pub rate_429: f64,
    pub rate_403_rate_limit: f64,
    pub rate_500: f64,
    pub rate_503: f64,
    /// Sent as `Retry-After` on injected 429/403/503 answers.
    pub retry_after_secs: Option<u64>,
    pub latency_ms: u64,
    /// Delay added after a request was processed (a client that times out has still changed state).
    pub response_delay_ms: u64,
    /// Calendars (as they appear in the request path) the two delays above apply to; empty: all.
    pub slow_calendars: Vec<String>,
    /// Requests per minute; beyond it, 403 rateLimitExceeded (Google's per-user quota answer).
    pub quota_per_minute: Option<u32>,
    pub push_drop_rate: f64,
    pub push_duplicate_rate: f64,
    pub push_reorder: bool,
    #[serde(skip)]
    pub window: VecDeque<Instant>,
}

/// An injected answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    Status(u16),
    RateLimit403,
}

impl Faults {
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }

    /// Whether the delays apply to a request on `path` (`/calendar/v3/calendars/{cal}/...`).
    pub fn slows(&self, path: &str) -> bool {
        if self.slow_calendars.is_empty() {
            return true;
        }
        let mut segments = path.split('/');
        let calendar = segments
            .by_ref()
            .find(|s| *s == "calendars")
            .and_then(|_| segments.next());
        calendar.is_some_and(|c| self.slow_calendars.iter().any(|s| s == c))
    }

    /// Decides whether this request gets an injected error.
    pub fn draw(&mut self, rng: &mut StdRng) -> Option<Injected> {
        if let Some(limit) = self.quota_per_minute {
            let now = Instant::now();
            while self
                .window
                .front()
                .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
            {
                self.window.pop_front();
            }
            if self.window.len() >= limit as usize {
                return Some(Injected::RateLimit403);
            }
            self.window.push_back(now);
        }
        let roll: f64 = rng.random();
        let mut edge = self.rate_429;
        if roll < edge {
            return Some(Injected::Status(429));
        }
        edge += self.rate_403_rate_limit;
        if roll < edge {
            return Some(Injected::RateLimit403);
        }
        edge += self.rate_500;
        if roll < edge {
            return Some(Injected::Status(500));
        }
        edge += self.rate_503;
        if roll < edge {
            return Some(Injected::Status(503));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_can_be_limited_to_some_calendars() {
        let all = Faults::default();
        assert!(all.slows("/calendar/v3/calendars/primary/events"));
        let some = Faults {
            slow_calendars: vec!["primary".into()],
            ..Faults::default()
        };
        assert!(some.slows("/calendar/v3/calendars/primary/events/abc"));
        assert!(!some.slows("/calendar/v3/calendars/other/events"));
        assert!(!some.slows("/calendar/v3/channels/stop"));
    }
}
