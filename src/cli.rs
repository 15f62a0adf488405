//! Command-line interface: `calsync <command>`, with `--help` on every subcommand.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Two-way, push-driven sync between a PostgreSQL event store and Google Calendar.
#[derive(Debug, Parser)]
#[command(name = "calsync", version, about, propagate_version = true)]
pub struct Cli {
    /// Config file (default: $CALENDAR_CONFIG_PATH, else config/calendar_config.yaml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server and the background workers.
    Serve {
        /// Do not apply database migrations at start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Run one sync now.
    Sync {
        /// Only this calendar (Google id); all configured calendars otherwise.
        #[arg(long, value_name = "ID")]
        calendar: Option<String>,
        /// Drop the sync token and list everything again.
        #[arg(long)]
        full: bool,
    },
    /// Manage push (watch) channels.
    Channels {
        #[command(subcommand)]
        command: ChannelsCommand,
    },
    /// Google OAuth credentials.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
    /// Google accounts: those of the config and those connected (`calsync auth login --account NAME`,
    /// the connect flow; credentials sealed in PostgreSQL).
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// The keys that seal credentials stored in PostgreSQL (`CALSYNC_SECRET_KEY`).
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Exit 0 when the Redis health key `calendar:last_sync` is present and fresh.
    Healthcheck {
        /// Oldest acceptable sync, in minutes (default: twice the fallback-poll interval).
        #[arg(long, value_name = "MINUTES")]
        max_age_minutes: Option<u64>,
    },
    #[cfg(feature = "emulator")]
    /// Run the Google Calendar emulator on its own.
    Emulator {
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:8085", value_name = "ADDR")]
        bind: String,
        /// Write the development client-secret and token files into this directory.
        #[arg(long, value_name = "DIR")]
        write_credentials: Option<PathBuf>,
        /// Seed for fault injection.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    #[cfg(feature = "emulator")]
    /// Emulator + server + the three role calendars, with changes made at "Google" every few seconds.
    Demo {
        /// Stop after this many changes (runs until ctrl-c otherwise).
        #[arg(long)]
        changes: Option<u32>,
        /// Seconds between changes.
        #[arg(long, default_value_t = 4)]
        every: u64,
    },
    #[cfg(feature = "emulator")]
    /// Measure push delay, webhook throughput, full sync and write path against the emulator; prints a
    /// table (runs the `calsync-bench` binary built beside this one: `cargo build -p calsync-bench`).
    Bench {
        /// A small run (seconds), for smoke tests (with `--scale`: 100 accounts instead of 1,000).
        #[arg(long)]
        quick: bool,
        /// The scale run: 1,000 Google accounts × 3 calendars on the emulator, one process then
        /// three replicas (one killed); needs the `calsync` executable beside `calsync-bench`.
        #[arg(long)]
        scale: bool,
    },
    /// Mint an admin JWT for the admin API; the token alone is on the last line.
    AdminToken {
        /// Lifetime, e.g. 30m, 1h, 7d.
        #[arg(long, default_value = "1h")]
        ttl: String,
        /// Subject recorded in the token.
        #[arg(long, default_value = "admin")]
        subject: String,
        /// Limit the token to one account's events, conflicts, channels and status.
        #[arg(long)]
        account: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ChannelsCommand {
    /// List stored channels.
    List,
    /// Renew channels now (all, or one calendar's).
    Renew {
        #[arg(long, value_name = "ID")]
        calendar: Option<String>,
    },
    /// Stop one channel.
    Stop {
        #[arg(value_name = "CHANNEL_ID")]
        channel_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// OAuth installed-app flow with PKCE and a loopback redirect; prints the URL. On a headless
    /// server, open the URL anywhere and paste the redirect URL back.
    Login {
        /// Loopback port for Google's redirect (0: a free one).
        #[arg(long, default_value_t = 0, value_name = "PORT")]
        port: u16,
        /// Give up after this many seconds without a redirect.
        #[arg(long, default_value_t = 600, value_name = "SECONDS")]
        timeout: u64,
        /// Connect this account: its token goes to PostgreSQL, sealed under `CALSYNC_SECRET_KEY`,
        /// instead of a token file; calendars name it with `account: NAME`.
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
    },
    /// Show the identity, scopes and access-token expiry (no secrets).
    Status {
        /// Only read the token file; do not ask Google.
        #[arg(long)]
        offline: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// List accounts: name, where the credentials are, the key that seals them, calendars, pause
    /// (no secret).
    List,
    /// Remove an account: its channels stopped, its calendars deactivated, its stored credentials
    /// deleted; its events are kept unless --delete-events.
    Remove {
        #[arg(value_name = "NAME")]
        name: String,
        /// Also revoke calsync's access at Google (the grant the user gave).
        #[arg(long)]
        revoke: bool,
        /// Delete the account's events here too (never at Google).
        #[arg(long)]
        delete_events: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Print a new random key for `CALSYNC_SECRET_KEY` (32 bytes, base64).
    NewKey,
    /// Reseal every stored credential under the current key (`CALSYNC_SECRET_KEY`); the old key must
    /// still be given (`CALSYNC_SECRET_KEY_PREVIOUS` or the key file's later lines) to open them.
    Rotate,
}
