//! `calsync-bench`: measures calsync against the emulator (a child process) and PostgreSQL in one run,
//! next to the floor measured in the same run and the Python peer, and prints a table of
//! percentiles and ratios.
//!
//! It is its own binary, out of the product library: it depends on the `calsync` library (with the
//! `emulator` feature, for the probes of `calsync::db::probes`) and on `calsync-emulator`, and
//! nothing of calsync depends on it. `calsync bench [--quick] [--scale]` stays the documented command: there
//! it is a thin launcher that runs the `calsync-bench` built beside the `calsync` executable (with
//! the same `--config`, `--quick` and `--scale`) and, when there is none, names the command that builds it.
//! Run from the checkout's root, so that the peer (`crates/calsync-bench/peer/run.sh`) is found.

mod accounts;
mod forwarder;
mod idle_day;
mod load;
mod peer;
mod phases;
mod rig;
mod scale;
mod split;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use rig::{Sizes, rss_mb};

/// Measure push delay, webhook throughput, full sync, write path, accounts apart and the idle day against the emulator; prints a table.
#[derive(Debug, Parser)]
#[command(name = "calsync-bench", version, about)]
struct Args {
    /// Config file (default: $CALENDAR_CONFIG_PATH, else config/calendar_config.yaml).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// A small run (seconds), for smoke tests.
    #[arg(long)]
    quick: bool,
    /// The scale run instead (issue 21): 1,000 accounts × 3 calendars (`--quick`: 100), one process
    /// then three replicas with one killed; needs the `calsync` executable beside this one.
    #[arg(long, conflicts_with = "only")]
    scale: bool,
    /// Run only this phase (one that has a rig of its own), e.g. `--only accounts`.
    #[arg(long, value_enum, value_name = "PHASE")]
    only: Option<Only>,
    #[command(subcommand)]
    command: Option<Child>,
}

/// The phases that can run alone.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Only {
    /// Two accounts: B's push delay, A quiet then in a 429 storm.
    Accounts,
    /// The idle day's Google calls, push mode and poll-only.
    IdleDay,
    /// Push → database delay of single changes, next to its floor (on the main rig alone).
    Push,
    /// Webhook acknowledgements of 20,000 valid pushes, and the lists one burst costs (on the main
    /// rig alone).
    Webhook,
    /// The full sync of 100,000 events next to a plain COPY (on the main rig alone).
    FullSync,
    /// 10,000 local inserts reaching Google (on the main rig alone).
    Writes,
    /// Every phase of the main rig, in the table's order (push, webhook, full sync, write path,
    /// peer), without the accounts and idle-day rigs: the table of builds older than those phases,
    /// for a before/after comparison run for run.
    Main,
}

#[derive(Debug, Subcommand)]
enum Child {
    /// The bench's own emulator process (what `calsync emulator` runs).
    #[command(hide = true)]
    Emulator {
        #[arg(long, value_name = "ADDR")]
        bind: String,
        #[arg(long, value_name = "DIR")]
        write_credentials: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Child::Emulator {
        bind,
        write_credentials,
    }) = args.command
    {
        let shutdown = CancellationToken::new();
        calsync::shutdown::cancel_on_signal(shutdown.clone());
        return match calsync_emulator::run(bind, Some(write_credentials), 1, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e, 1),
        };
    }
    let settings = match calsync::config::load(args.config.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(&e.into(), 2),
    };
    calsync::telemetry::init(settings.telemetry.log_format, true);
    if args.scale {
        let sizes = if args.quick {
            scale::ScaleSizes::quick()
        } else {
            scale::ScaleSizes::full()
        };
        let path = calsync::config::config_path(args.config.as_deref());
        return match scale::measure(&settings, &path, sizes).await {
            Ok(rows) => {
                print(&rows);
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e, 1),
        };
    }
    let sizes = if args.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    match run(settings, sizes, args.only).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e, 1),
    }
}

/// Exit codes as `calsync`'s: 1 runtime failure, 2 bad configuration.
fn fail(e: &anyhow::Error, code: u8) -> ExitCode {
    eprintln!("calsync-bench: {e:#}");
    ExitCode::from(code)
}

/// Runs every phase (or the `only` one) and prints the table.
async fn run(
    settings: calsync::config::Settings,
    sizes: Sizes,
    only: Option<Only>,
) -> anyhow::Result<()> {
    let rows = match only {
        None => all(&settings, sizes).await?,
        Some(Only::Main) => main_rig(&settings, sizes).await?,
        Some(Only::Accounts) => accounts::measure(&settings, sizes.accounts).await?,
        Some(Only::IdleDay) => idle_day::measure(&settings, sizes.idle).await?,
        Some(phase @ (Only::Push | Only::Webhook | Only::FullSync | Only::Writes)) => {
            main_rig_alone(&settings, sizes, phase).await?
        }
    };
    print(&rows);
    Ok(())
}

/// Every phase's rows, in the table's order.
async fn all(settings: &calsync::config::Settings, sizes: Sizes) -> anyhow::Result<Rows> {
    let mut rows = main_rig(settings, sizes).await?;
    // On its own rig and database: B's push delay, A quiet then in a 429 storm.
    rows.extend(accounts::measure(settings, sizes.accounts).await?);
    // On its own rigs and databases, once the others are stopped.
    rows.extend(idle_day::measure(settings, sizes.idle).await?);
    Ok(rows)
}

/// The main rig's phases, one after the other on one server and database.
async fn main_rig(settings: &calsync::config::Settings, sizes: Sizes) -> anyhow::Result<Rows> {
    let rig = rig::start(settings.clone(), "main").await?;
    let mut rows: Rows = Vec::new();
    let (rss_before, _) = rss_mb();
    phases::wait_channels(&rig).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle, _) = rss_mb();
    rows.push((
        "RSS idle (server, 3 calendars with channels)".into(),
        format!("{idle:.1} MB (process start {rss_before:.1} MB)"),
    ));
    let (delay_rows, push_p50) = phases::push_delay(&rig, sizes.changes).await?;
    rows.extend(delay_rows);
    rows.extend(phases::webhook(&rig, sizes.pushes, sizes.burst).await?);
    rows.extend(phases::full_sync(&rig, sizes.full_sync).await?);
    rows.extend(phases::writes(&rig, sizes.writes).await?);
    rows.extend(peer::compare(&rig, sizes.peer, idle, push_p50).await?);
    let (_, peak) = rss_mb();
    rows.push(("RSS peak over the run".into(), format!("{peak:.1} MB")));
    rig.stop().await;
    Ok(rows)
}

/// One phase of the main rig on a rig of its own: a profile or a before/after comparison of
/// one figure without the whole table's minutes.
async fn main_rig_alone(
    settings: &calsync::config::Settings,
    sizes: Sizes,
    phase: Only,
) -> anyhow::Result<Rows> {
    let rig = rig::start(settings.clone(), "main").await?;
    phases::wait_channels(&rig).await?;
    let rows = match phase {
        Only::Push => phases::push_delay(&rig, sizes.changes).await?.0,
        Only::Webhook => phases::webhook(&rig, sizes.pushes, sizes.burst).await?,
        Only::FullSync => phases::full_sync(&rig, sizes.full_sync).await?,
        Only::Writes => phases::writes(&rig, sizes.writes).await?,
        Only::Accounts | Only::IdleDay | Only::Main => Vec::new(),
    };
    rig.stop().await;
    Ok(rows)
}

type Rows = Vec<(String, String)>;

/// The table.
fn print(rows: &Rows) {
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(10);
    println!("\n{:width$}  result", "measure");
    println!("{}  {}", "-".repeat(width), "-".repeat(40));
    for (k, v) in rows {
        println!("{k:width$}  {v}");
    }
}
