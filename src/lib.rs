//! calsync: two-way, push-driven sync between PostgreSQL and Google Calendar.

pub mod accounts;
pub mod admin_auth;
pub mod background;
pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod error;
pub mod google;
pub mod metrics;
pub mod notify;
pub mod push;
pub mod redis_health;
pub mod retry;
pub mod routes;
pub mod runner;
pub mod secrets;
pub mod services;
pub mod shutdown;
pub mod signin;
pub mod startup;
pub mod status;
pub mod sync;
pub mod telemetry;
pub mod writer;

/// The recurrence expander, its own crate (`crates/calsync-recurrence`).
pub use calsync_recurrence as recurrence;

/// The Google Calendar emulator, its own crate (`crates/calsync-emulator`); only with the `emulator` feature.
#[cfg(feature = "emulator")]
pub use calsync_emulator as emulator;
