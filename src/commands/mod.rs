//! Command dispatch and exit codes: 0 success, 1 runtime failure, 2 bad configuration.

mod accounts;
mod admin_token;
mod auth;
#[cfg(feature = "emulator")]
mod bench;
mod channels;
#[cfg(feature = "emulator")]
mod demo;
mod healthcheck;
mod secrets;
mod serve;
mod sync;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::config::{ConfigError, Settings};

/// Why a command failed, mapped to its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0:#}")]
    Runtime(#[from] anyhow::Error),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Self::Runtime(_) => 1,
            Self::Config(_) => 2,
        }
    }
}

/// Runs one command to completion and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    match dispatch(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("calsync: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

fn load(cli: &Cli) -> Result<Settings, ConfigError> {
    crate::config::load(cli.config.as_deref())
}

async fn dispatch(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Serve { no_migrate } => serve::serve(load(&cli)?, !*no_migrate).await,
        Command::Migrate => serve::migrate(load(&cli)?).await,
        Command::Healthcheck { max_age_minutes } => {
            healthcheck::run(load(&cli)?, *max_age_minutes).await
        }
        Command::AdminToken {
            ttl,
            subject,
            account,
        } => admin_token::run(load(&cli)?, ttl, subject, account.as_deref()),
        Command::Sync { calendar, full } => sync::run(load(&cli)?, calendar.clone(), *full).await,
        Command::Channels { command } => channels::run(load(&cli)?, command).await,
        Command::Auth { command } => auth::run(load(&cli)?, command).await,
        Command::Accounts { command } => accounts::run(load(&cli)?, command).await,
        Command::Secrets { command } => secrets::run(load(&cli)?, command).await,
        #[cfg(feature = "emulator")]
        Command::Emulator {
            bind,
            write_credentials,
            seed,
        } => {
            let shutdown = tokio_util::sync::CancellationToken::new();
            crate::shutdown::cancel_on_signal(shutdown.clone());
            crate::emulator::run(bind.clone(), write_credentials.clone(), *seed, shutdown)
                .await
                .map_err(Failure::Runtime)
        }
        #[cfg(feature = "emulator")]
        Command::Bench { quick, scale } => {
            // A broken config fails here, as every command's does (exit code 2).
            load(&cli)?;
            bench::run(cli.config.as_deref(), *quick, *scale).map_err(Failure::Runtime)
        }
        #[cfg(feature = "emulator")]
        Command::Demo { changes, every } => demo::run(load(&cli)?, *changes, *every).await,
    }
}
