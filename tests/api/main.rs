//! Black-box tests of the calsync server: real HTTP, a real PostgreSQL database per test, real Redis.

mod auth_login;
mod cli;
mod events_api;
mod google_client;
mod google_env;
mod health;
mod helpers;
mod push_pipeline;
mod redis_key;
mod status_page;
mod sync_engine;
mod webhook;
mod write_contract;
mod writer;
