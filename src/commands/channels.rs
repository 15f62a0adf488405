//! `calsync channels list | renew [--calendar ID] | stop CHANNEL_ID`: built [`Services`], no listener,
//! no workers; the channel registry is called directly.

use anyhow::Context;

use super::Failure;
use crate::cli::ChannelsCommand;
use crate::config::Settings;
use crate::services::Services;

pub async fn run(settings: Settings, command: &ChannelsCommand) -> Result<(), Failure> {
    crate::telemetry::init(settings.telemetry.log_format, true);
    if let ChannelsCommand::List = command {
        let pool = crate::db::pool(&settings.database).context("bad database settings")?;
        for c in crate::db::watch_channels::list(&pool, None)
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
    let services = Services::build(settings).await.context("startup failed")?;
    let result = manage(&services, command).await;
    services.close().await;
    result
}

async fn manage(services: &Services, command: &ChannelsCommand) -> Result<(), Failure> {
    let manager = services.channel_manager()?;
    match command {
        ChannelsCommand::Renew { calendar } => {
            let ids: Vec<String> = match calendar {
                Some(id) => vec![id.clone()],
                None => services
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
