//! calsync's test kit: what the test binaries under tests/ share instead of each redefining it.
//!
//! - [`api`]: admin tokens and authenticated calls to the admin API;
//! - [`app`]: [`TestApp`], calsync on a fresh PostgreSQL database with its own Redis key prefix and a
//!   port of its own, built with [`TestApp::builder`] from typed [`Settings`](calsync::config::Settings)
//!   edits (or the environment's string pairs, as the older [`spawn_app_with`] takes them);
//! - [`database`]: the test databases themselves and admin statements against their server;
//! - [`google`]: the emulated Google of one test ([`Google`]), and [`google_users`]: its other accounts
//!   ([`GoogleUser`], [`Google::add_user`], [`Google::user`]);
//! - [`synced`]: calsync wired to it ([`spawn_synced_app`], [`spawn_on_database`], [`syncer`]);
//! - [`emulator`]: a bare emulator handle for tests of the emulator itself ([`Emu`]);
//! - [`telegram`]: a local fake of Telegram's Bot API ([`FakeTelegram`]);
//! - [`wait`]: polling until something holds ([`wait_for`], [`poll`], [`poll_until`], [`wait_ok`]).
//!
//! Everything here panics with a message naming what failed: it serves tests, not production.

pub mod api;
pub mod app;
pub mod database;
pub mod emulator;
pub mod google;
pub mod google_users;
pub mod synced;
pub mod telegram;
pub mod wait;

pub use app::{SAMPLE_CONFIG, TestApp, TestAppBuilder, spawn_app, spawn_app_with, test_settings};
pub use database::{ADMIN_URL, REDIS_URL, admin_exec, create_database, database_url, pg_dump};
pub use emulator::Emu;
pub use google::{CALENDARS, Google, GoogleUser};
pub use synced::{spawn_on_database, spawn_synced_app, start_synced_app, syncer};
pub use telegram::{FakeTelegram, Recorded, Reply, unreachable_base_url};

/// A free loopback port (bound, then released for a child process to bind).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
pub use wait::{poll, poll_until, wait_for, wait_ok};
