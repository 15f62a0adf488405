//! `calsync-emulator`: the Google Calendar emulator on its own (the same as `calsync emulator`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tokio_util::sync::CancellationToken;

/// A Google Calendar v3 emulator for offline development, demos and tests.
#[derive(Debug, Parser)]
#[command(name = "calsync-emulator", version, about)]
struct Args {
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8085", value_name = "ADDR")]
    bind: String,
    /// Write the development client-secret and token files into this directory.
    #[arg(long, value_name = "DIR")]
    write_credentials: Option<PathBuf>,
    /// Seed for fault injection.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        let term = async {
            #[cfg(unix)]
            if let Ok(mut s) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                s.recv().await;
                return;
            }
            std::future::pending::<()>().await;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
        on_signal.cancel();
    });
    match calsync_emulator::run(args.bind, args.write_credentials, args.seed, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("calsync-emulator: {e:#}");
            ExitCode::FAILURE
        }
    }
}
