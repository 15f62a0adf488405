//! A faithful Google Calendar v3 emulator: the offline sandbox, the demo's "Google" and the tests' peer.
//! Same paths and shapes as Google (`/calendar/v3/...`, `/token`, `/revoke`), for several Google
//! accounts (users), plus a control API under `/emulator/...`.
// Handlers' helpers return a finished Google error response as their `Err`: large, but only on the
// error path of a test peer, and it keeps every error body in one place (errors.rs).
#![allow(clippy::result_large_err)]

mod api;
mod calendars;
mod channels;
mod control;
mod credentials;
mod errors;
mod events;
mod faults;
mod fields;
mod gate;
mod instances;
mod list;
mod moves;
mod oauth;
mod push;
mod recurrence;
mod revoke;
mod routes;
mod state;
mod token;
mod tokens;
mod users;
mod validate;

use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::web;
use tokio_util::sync::CancellationToken;

pub use channels::MAX_TTL_SECS as MAX_CHANNEL_TTL_SECS;
pub use faults::Faults;

/// The development credentials the emulator accepts.
pub mod dev_credentials {
    pub use super::credentials::{CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, write, write_token};
    pub use super::oauth::USER_EMAIL;
}

/// How to start an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Listen address; port 0 picks a free one.
    pub bind: String,
    /// Seed of every random draw (faults, ids).
    pub seed: u64,
    /// Lifetime of issued access tokens.
    pub access_token_ttl: Duration,
    /// Base URL clients see, when not `http://<bind>`.
    pub public_base_url: Option<String>,
    /// Time zone of the `primary` calendar every fresh account (user) has.
    pub primary_time_zone: String,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:0".into(),
            seed: 1,
            access_token_ttl: Duration::from_secs(3600),
            public_base_url: None,
            primary_time_zone: "UTC".into(),
        }
    }
}

/// State shared by the handlers.
pub struct Shared {
    state: Arc<Mutex<state::State>>,
    pusher: push::Pusher,
    base_url: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running emulator.
pub struct Emulator {
    base_url: String,
    port: u16,
    handle: ServerHandle,
}

impl Emulator {
    /// Binds and serves on the current tokio runtime.
    pub async fn start(config: EmulatorConfig) -> anyhow::Result<Emulator> {
        let listener = TcpListener::bind(&config.bind)?;
        let port = listener.local_addr()?.port();
        let base_url = config
            .public_base_url
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{port}"));
        let state = Arc::new(Mutex::new(state::State::new(
            config.seed,
            config.access_token_ttl.as_secs() as i64,
            &config.primary_time_zone,
        )));
        let shared = web::Data::new(Shared {
            pusher: push::Pusher::start(state.clone()),
            state,
            base_url: base_url.clone(),
        });
        let server = routes::build(shared, listener)?;
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Emulator {
            base_url,
            port,
            handle,
        })
    }

    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }
    pub fn api_base_url(&self) -> String {
        format!("{}/calendar/v3", self.base_url)
    }
    pub fn token_url(&self) -> String {
        format!("{}/token", self.base_url)
    }
    pub fn port(&self) -> u16 {
        self.port
    }
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// `calsync emulator`: serves until `shutdown` is cancelled.
pub async fn run(
    bind: String,
    write_credentials: Option<std::path::PathBuf>,
    seed: u64,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let emu = Emulator::start(EmulatorConfig {
        bind,
        seed,
        ..EmulatorConfig::default()
    })
    .await?;
    if let Some(dir) = write_credentials {
        credentials::write(&dir, &emu.token_url())?;
        println!("credentials written to {}", dir.display());
    }
    println!("emulator listening on {}", emu.base_url());
    println!("  GOOGLE_API_BASE_URL={}", emu.api_base_url());
    println!("  GOOGLE_TOKEN_URL={}", emu.token_url());
    shutdown.cancelled().await;
    emu.stop().await;
    Ok(())
}
