//! `calsync accounts list | remove NAME [--revoke] [--delete-events]`: the Google accounts, those of
//! the config and those whose credentials are sealed in PostgreSQL.

use anyhow::Context;

use super::Failure;
use crate::cli::AccountsCommand;
use crate::config::Settings;

/// The pool for a command that only reads or edits the database (migrations applied first).
pub(super) async fn database(settings: &Settings) -> Result<sqlx::PgPool, Failure> {
    let pool = crate::db::pool(&settings.database).context("bad database settings")?;
    crate::db::reach::wait_until_reachable(&settings.database, std::time::Duration::ZERO).await?;
    crate::db::migrate(&pool)
        .await
        .context("migrations failed")?;
    Ok(pool)
}

pub async fn run(settings: Settings, command: &AccountsCommand) -> Result<(), Failure> {
    match command {
        AccountsCommand::List => {
            let pool = database(&settings).await?;
            let result = list(&settings, &pool).await;
            pool.close().await;
            result
        }
        AccountsCommand::Remove {
            name,
            revoke,
            delete_events,
        } => remove(settings, name, *revoke, *delete_events).await,
    }
}

async fn list(settings: &Settings, pool: &sqlx::PgPool) -> Result<(), Failure> {
    let sealed = crate::db::accounts::list(pool)
        .await
        .context("cannot list accounts")?;
    let paused = crate::db::account_state::paused(pool)
        .await
        .context("cannot list accounts")?;
    let mut names: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for name in settings.configured_accounts() {
        let configured = settings.calendars_of(&name);
        names.insert(name, i64::try_from(configured).unwrap_or(i64::MAX));
    }
    for (name, added) in crate::db::calendars::accounts(pool)
        .await
        .context("cannot list accounts")?
    {
        *names.entry(name).or_default() += added;
    }
    if sealed.is_empty() {
        println!("no connected account (connect one with `calsync auth login --account NAME`)");
    }
    if names.is_empty() {
        return Ok(());
    }
    println!(
        "{:<24} {:<10} {:<9} {:<20} {:<27} calendars",
        "account", "source", "key", "connected", "paused"
    );
    for (name, calendars) in names {
        let row = sealed.iter().find(|r| r.name == name);
        let source = match (settings.account_source(&name), row) {
            (crate::config::AccountSource::Files(_), _) => "config",
            (_, Some(_)) => "connected",
            (_, None) => "missing",
        };
        let pause = paused
            .iter()
            .find(|p| p.account == name)
            .map(|p| format!("since {}", p.since.format("%Y-%m-%d %H:%M:%S")))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<24} {:<10} {:<9} {:<20} {:<27} {calendars}",
            name,
            source,
            row.map_or("-", |r| r.secret_key_id.as_str()),
            row.map_or_else(
                || "-".into(),
                |r| r.connected_at.format("%Y-%m-%d %H:%M:%S").to_string()
            ),
            pause,
        );
    }
    Ok(())
}

async fn remove(
    settings: Settings,
    name: &str,
    revoke: bool,
    delete_events: bool,
) -> Result<(), Failure> {
    use crate::accounts::manage::{EventsChoice, ManageError, Manager};
    // With every account's credentials, to stop the channels at Google; when some cannot be
    // opened (this account's, revoked or tampered with), with the database alone: the channels
    // then end at their expiry.
    let services = match crate::services::Services::builder(settings.clone())
        .database_wait(std::time::Duration::ZERO)
        .build()
        .await
    {
        Ok(s) => Some(s),
        Err(e) if revoke => {
            return Err(anyhow::anyhow!("account {name}: cannot revoke: {e:#}").into());
        }
        Err(e) => {
            eprintln!(
                "note: {e:#}; removing from the database only (its channels end at their expiry)"
            );
            None
        }
    };
    let pool = match &services {
        Some(s) => s.pool.clone(),
        None => database(&settings).await?,
    };
    let manager = Manager {
        pool: &pool,
        settings: &settings,
        google: services
            .as_ref()
            .and_then(|s| s.syncer.as_ref())
            .map(|s| s.google.as_ref()),
        channels: services.as_ref().and_then(|s| s.channels.as_ref()),
    };
    let events = if delete_events {
        EventsChoice::Delete
    } else {
        EventsChoice::Keep
    };
    let result = manager.remove_account(name, revoke, events).await;
    match &services {
        Some(s) => s.close().await,
        None => pool.close().await,
    }
    match result {
        Ok(r) => {
            println!(
                "account {name}: {} calendar(s) deactivated, {} channel(s) stopped, credentials {}, {}, {} event(s) deleted",
                r.calendars,
                r.channels_stopped,
                if r.credentials_deleted {
                    "deleted"
                } else {
                    "not stored"
                },
                if r.revoked {
                    "access revoked at Google"
                } else {
                    "not revoked"
                },
                r.events_deleted
            );
            if r.still_in_config > 0 {
                eprintln!(
                    "note: {} calendar(s) of the config file still name account {name}: remove them there, or the next start fails for want of its credentials",
                    r.still_in_config
                );
            }
            Ok(())
        }
        Err(ManageError::UnknownAccount(_)) => {
            Err(anyhow::anyhow!("no account named {name:?}").into())
        }
        Err(e) => Err(anyhow::anyhow!("account {name}: {e}").into()),
    }
}
