//! `calsync secrets new-key | rotate`: the key ring that seals credentials stored in PostgreSQL.

use anyhow::Context;

use super::Failure;
use crate::cli::SecretsCommand;
use crate::config::Settings;

pub async fn run(settings: Settings, command: &SecretsCommand) -> Result<(), Failure> {
    match command {
        SecretsCommand::NewKey => {
            println!("{}", crate::secrets::at_rest::new_key());
            Ok(())
        }
        SecretsCommand::Rotate => rotate(&settings).await,
    }
}

async fn rotate(settings: &Settings) -> Result<(), Failure> {
    let keys = settings.secrets.keys()?;
    let pool = super::accounts::database(settings).await?;
    let outcome = crate::accounts::rotate(&pool, &keys).await;
    pool.close().await;
    let rotation = outcome.context("rotation failed")?;
    println!(
        "{} account(s) resealed under key {}, {} already under it",
        rotation.resealed,
        keys.current_id(),
        rotation.already_current
    );
    if !keys.previous_ids().is_empty() {
        println!(
            "key(s) {} no longer seal anything here: remove them from the configuration once every \
             replica runs with key {}",
            keys.previous_ids().join(", "),
            keys.current_id()
        );
    }
    Ok(())
}
