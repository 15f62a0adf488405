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
    let ids: Vec<String> = match &calendar {
        Some(id) => {
            if settings.calendar(id).is_none() {
                return Err(crate::config::ConfigError::new(
                    "--calendar",
                    format!("{id:?} is not a configured calendar"),
                )
                .into());
            }
            vec![id.clone()]
        }
        None => settings
            .google_calendar
            .calendars
            .iter()
            .map(|c| c.id.clone())
            .collect(),
    };
    let services = Services::builder(settings)
        .role(Role::OneShot)
        .build()
        .await?;
    let syncer = services
        .syncer
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("google client not built"))?;

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
