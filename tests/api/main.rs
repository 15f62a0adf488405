//! Black-box tests of the calsync server: real HTTP, a real PostgreSQL database per test, real Redis.

mod cli;
mod events_api;
mod health;
mod helpers;
mod redis_key;
mod webhook;
mod write_contract;
