//! `calsync sync [--calendar ID] [--full]`: one run now, a progress spinner on a terminal, a summary, non-zero on failure.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;

use super::Failure;
use crate::config::Settings;
use crate::services::{Role, Services};
use crate::sync::{Outcome, Trigger};

pub async fn run(settings: Settings, calendar: Option<String>, full: bool) -> Result<(), Failure> {
    crate::config::require_credentials(&settings)?;
    crate::telemetry::init(settings.telemetry.log_format, true);
    let services = Services::builder(settings)
        .role(Role::OneShot)
        .build()
        .await?;
    let syncer = services
        .syncer
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("google client not built"))?;
    // The calendars as stored (the config's, mirrored at build, and those added at run time);
    // `--calendar` takes a key (`account:id`) or a Google id that names one calendar.
    let stored = crate::db::calendars::list_active(&services.pool, None)
        .await
        .context("database")?;
    let ids: Vec<String> = match &calendar {
        Some(id) => {
            let found: Vec<String> = crate::db::calendars::named(&stored, id)
                .into_iter()
                .map(|c| c.id.clone())
                .collect();
            match found.len() {
                0 => {
                    return Err(crate::config::ConfigError::new(
                        "--calendar",
                        format!("{id:?} is not a configured calendar"),
                    )
                    .into());
                }
                1 => found,
                _ => {
                    return Err(crate::config::ConfigError::new(
                        "--calendar",
                        format!(
                            "{id:?} is a calendar of several accounts: give its key ({})",
                            found.join(", ")
                        ),
                    )
                    .into());
                }
            }
        }
        None => stored.into_iter().map(|c| c.id).collect(),
    };

    let terminal = std::io::stderr().is_terminal();
    let mut failures = 0;
    for id in &ids {
        let bar = terminal.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message(format!("syncing {id}"));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let outcome = syncer
            .sync_calendar(id, Trigger::Manual, full)
            .await
            .context("database")?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        match outcome {
            Outcome::Done(r) => println!(
                "{id}: {} sync, {} pages, created {}, updated {}, deleted {}, unchanged {} in {} ms",
                if r.full { "full" } else { "incremental" },
                r.pages,
                r.counts.created,
                r.counts.updated,
                r.counts.deleted,
                r.counts.unchanged,
                r.elapsed_ms
            ),
            Outcome::Busy => println!("{id}: another worker is syncing this calendar right now"),
            Outcome::Paused(reason) => {
                failures += 1;
                println!("{id}: PAUSED: {reason}");
            }
            Outcome::Failed(e) => {
                failures += 1;
                println!("{id}: FAILED: {e}");
            }
        }
    }
    services.close().await;
    if failures > 0 {
        return Err(anyhow::anyhow!("{failures} of {} calendars failed", ids.len()).into());
    }
    Ok(())
}
