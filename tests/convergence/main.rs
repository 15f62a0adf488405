//! Fault-injection convergence suite: random operations on both sides (Google through the emulator, PostgreSQL
//! through plain SQL) under API faults, push faults, 410s, channel expiry, SIGKILLed calsync processes and a
//! PostgreSQL restart; then both sides must converge on the last write of every event, with no duplicate.
//! Run on demand: `cargo test --test convergence -- --ignored --nocapture` (see docs/testing.md).

mod chaos;
mod checks;
mod forwarder;
mod google;
mod model;
mod postgres;
mod process;
mod scenario;

use scenario::{Topology, run_seeds};

/// The two tests restart the one PostgreSQL server: never both at once.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}")),
        Err(_) => default,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fault-injection suite (minutes): run with --ignored; CONVERGENCE_SEEDS, CONVERGENCE_FIRST_SEED"]
async fn convergence_over_random_seeds() {
    let _one_at_a_time = SERIAL.lock().await;
    let count = env_u64("CONVERGENCE_SEEDS", 20);
    let first = env_u64("CONVERGENCE_FIRST_SEED", 1);
    run_seeds(first, count, Topology::Single).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fault-injection suite (minutes): run with --ignored; REPLICA_SEEDS, REPLICA_FIRST_SEED"]
async fn three_replicas_behind_a_round_robin_converge_when_one_dies() {
    let _one_at_a_time = SERIAL.lock().await;
    let count = env_u64("REPLICA_SEEDS", 3);
    let first = env_u64("REPLICA_FIRST_SEED", 1);
    run_seeds(first, count, Topology::Replicas(3)).await;
}
