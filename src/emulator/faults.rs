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
