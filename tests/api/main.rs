//! Black-box tests of the calsync server: real HTTP, a real PostgreSQL database per test, real Redis.
//! The harness (TestApp, the emulated Google, the fake Telegram, waits) is the `calsync-testkit` crate.

mod admin_tokens;
mod auth_login;
mod body_deadline;
mod channel_admin;
mod cli;
mod conflict_resolve;
mod credentials_resume;
mod database_errors;
mod docs_recipe;
mod events_api;
mod full_resync;
mod google_client;
mod health;
mod input_checks;
mod listen;
mod lww_races;
mod messages;
mod push_pipeline;
mod recurrence_limits;
mod redis_key;
mod renewal;
mod runner;
mod shutdown;
mod sops_tokens;
mod status_page;
mod sync_engine;
mod telegram_server;
mod webhook;
mod write_checks;
mod write_contract;
mod writer;
mod writer_conflicts;
mod writer_loop;
mod writer_retries;
