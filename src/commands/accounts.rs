//! `calsync accounts list | remove NAME`: the accounts whose credentials are sealed in PostgreSQL.

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
    let pool = database(&settings).await?;
    let result = match command {
        AccountsCommand::List => list(&settings, &pool).await,
        AccountsCommand::Remove { name } => remove(&pool, name).await,
    };
    pool.close().await;
    result
}

async fn list(settings: &Settings, pool: &sqlx::PgPool) -> Result<(), Failure> {
    let rows = crate::db::accounts::list(pool)
        .await
        .context("cannot list accounts")?;
    if rows.is_empty() {
        println!("no connected account (connect one with `calsync auth login --account NAME`)");
        return Ok(());
    }
    println!(
        "{:<24} {:<9} {:<20} {:<20} calendars",
        "account", "key", "connected", "updated"
    );
    for r in rows {
        let calendars = settings
            .google_calendar
            .calendars
            .iter()
            .filter(|c| c.account.as_deref() == Some(r.name.as_str()))
            .count();
        println!(
            "{:<24} {:<9} {:<20} {:<20} {calendars}",
            r.name,
            r.secret_key_id,
            r.connected_at.format("%Y-%m-%d %H:%M:%S"),
            r.updated_at.format("%Y-%m-%d %H:%M:%S"),
        );
    }
    Ok(())
}

async fn remove(pool: &sqlx::PgPool, name: &str) -> Result<(), Failure> {
    if crate::db::accounts::remove(pool, name)
        .await
        .context("cannot remove the account")?
    {
        println!("account {name}: stored credentials deleted");
        Ok(())
    } else {
        Err(anyhow::anyhow!("no connected account named {name:?}").into())
    }
}
