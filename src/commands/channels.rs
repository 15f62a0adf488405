//! `calsync channels list | renew [--calendar ID] | stop CHANNEL_ID`.

use anyhow::{Context, anyhow};
use tokio_util::sync::CancellationToken;

use super::Failure;
use crate::cli::ChannelsCommand;
use crate::config::Settings;
use crate::startup::{Application, Migrations};

pub async fn run(mut settings: Settings, command: &ChannelsCommand) -> Result<(), Failure> {
    crate::telemetry::init(settings.telemetry.log_format, true);
    if let ChannelsCommand::List = command {
        let pool = crate::db::pool(&settings.database).context("bad database settings")?;
        for c in crate::db::watch_channels::list(&pool)
            .await
            .context("database")?
        {
            println!(
                "{}\t{}\t{}\t{}",
                c.id,
                c.calendar_id,
                c.state,
                c.expiration
                    .map(|e| e.to_rfc3339())
                    .unwrap_or_else(|| "-".into())
            );
        }
        return Ok(());
    }
    crate::config::require_credentials(&settings)?;
    // An application without workers or a listener of its own: the same wiring as `serve`.
    settings.server.workers_enabled = false;
    settings.server.bind_address = "127.0.0.1:0".into();
    let app = Application::build(settings, Migrations::Apply, CancellationToken::new())
        .await
        .context("startup failed")?;
    let manager = app.state().channels.clone().ok_or_else(|| {
        anyhow!("push is not configured: set WEBHOOK_PUBLIC_URL and CHANNEL_TOKEN_SECRET")
    })?;
    match command {
        ChannelsCommand::Renew { calendar } => {
            let ids: Vec<String> = match calendar {
                Some(id) => vec![id.clone()],
                None => app
                    .state()
                    .settings
                    .google_calendar
                    .calendars
                    .iter()
                    .map(|c| c.id.clone())
                    .collect(),
            };
            for id in ids {
                let created = manager
                    .renew(&id)
                    .await
                    .with_context(|| format!("renewing {id}"))?;
                println!("{}\t{}\trenewed", created.id, created.calendar_id);
            }
        }
        ChannelsCommand::Stop { channel_id } => {
            manager
                .stop(channel_id)
                .await
                .with_context(|| format!("stopping {channel_id}"))?;
            println!("{channel_id}\tstopped");
        }
        ChannelsCommand::List => {}
    }
    Ok(())
}
