//! Google → PostgreSQL: the incremental sync engine, its per-calendar state, the worker and the fallback poll.

pub mod alerts;
pub mod engine;
pub mod lww;
pub mod mapping;
pub mod pause;
pub mod poll;
pub mod reconcile;
pub mod runner;
pub mod store;
pub mod worker;

pub use runner::{Outcome, Syncer, Trigger};
