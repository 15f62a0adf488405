//! Black-box tests of the calsync server: real HTTP, a real PostgreSQL database per test, real Redis.

mod cli;
mod health;
mod helpers;
mod redis_key;
mod write_contract;
