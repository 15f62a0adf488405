//! The chaos of a seed: when to SIGKILL, restart PostgreSQL, invalidate sync tokens and expire a channel, the
//! random fault sets posted to the emulator, and a timeline of what happened when.

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

/// A random fault set: error rates (at most 0.2 each, 0.3 in all), Retry-After 0 or 1, latency, push faults.
pub fn random_faults(rng: &mut StdRng) -> Value {
    let budget = rng.random_range(0.0..0.3);
    let weights: Vec<f64> = (0..4)
        .map(|_| {
            if rng.random_bool(0.7) {
                rng.random_range(0.1..1.0)
            } else {
                0.0
            }
        })
        .collect();
    let total: f64 = weights.iter().sum::<f64>().max(f64::EPSILON);
    let rate = |w: f64| (budget * w / total).min(0.2);
    let drop = [0.0, 0.1, 0.3][rng.random_range(0..3)];
    let duplicate = [0.0, 0.2][rng.random_range(0..2)];
    json!({
        "seed": rng.random::<u32>(),
        "rate_429": rate(weights[0]),
        "rate_403_rate_limit": rate(weights[1]),
        "rate_500": rate(weights[2]),
        "rate_503": rate(weights[3]),
        "retry_after_secs": rng.random_range(0..=1),
        "latency_ms": rng.random_range(0..=80),
        "push_drop_rate": drop,
        "push_duplicate_rate": duplicate,
        "push_reorder": rng.random_bool(0.3),
    })
}

/// Chaos left out on demand: `CONVERGENCE_SKIP=kill,pg` (to tell which one a failure needs).
pub fn skipped(what: &str) -> bool {
    std::env::var("CONVERGENCE_SKIP").is_ok_and(|v| v.split(',').any(|s| s.trim() == what))
}

/// What happened when, printed with a failure.
#[derive(Default)]
pub struct Timeline(pub Vec<String>);

impl Timeline {
    pub fn note(&mut self, what: impl std::fmt::Display) -> DateTime<Utc> {
        let now = Utc::now();
        self.0
            .push(format!("{} {what}", now.format("%H:%M:%S%.3f")));
        now
    }
}

/// The chaos of one seed, drawn up front from its own generator (operations draw from another).
pub struct Plan {
    pub ops: usize,
    pub kill_at: usize,
    pub pg_restart_at: usize,
    pub invalidate_at: Vec<usize>,
    pub expire_at: usize,
}

impl Plan {
    pub fn draw(rng: &mut StdRng) -> Self {
        let ops = rng.random_range(36..=44);
        let invalidations = rng.random_range(1..=2);
        Self {
            ops,
            kill_at: rng.random_range(ops / 4..ops / 2),
            pg_restart_at: rng.random_range(ops / 2..ops * 3 / 4),
            invalidate_at: (0..invalidations)
                .map(|_| rng.random_range(2..ops - 2))
                .collect(),
            expire_at: rng.random_range(2..ops - 2),
        }
    }
}
