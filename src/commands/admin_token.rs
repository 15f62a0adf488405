//! `calsync admin-token`: mints an admin JWT; the token alone is on the last line of stdout.

use anyhow::anyhow;

use super::Failure;
use crate::config::{ConfigError, Settings};

pub fn run(
    settings: Settings,
    ttl: &str,
    subject: &str,
    account: Option<&str>,
) -> Result<(), Failure> {
    let secret = settings.admin.jwt_secret.as_ref().ok_or_else(|| {
        ConfigError::new(
            "admin.jwt_secret (ADMIN_JWT_SECRET)",
            "must be set to mint admin tokens",
        )
    })?;
    let ttl = crate::admin_auth::parse_ttl(ttl)
        .ok_or_else(|| anyhow!("--ttl {ttl:?}: use a number with s, m, h or d (e.g. 1h)"))?;
    let policy = settings.admin.token_policy();
    if let Some(a) = account
        && !crate::accounts::valid_name(a)
    {
        return Err(ConfigError::new(
            "--account",
            format!(
                "{a:?} is not an account name ({})",
                crate::accounts::NAME_RULE
            ),
        )
        .into());
    }
    let token = crate::admin_auth::mint_within(secret.expose(), subject, ttl, account, &policy)
        .map_err(|e| anyhow!("--ttl {}: {e}", ttl.as_secs()))?;
    match account {
        Some(a) => eprintln!(
            "token for {subject:?} limited to account {a}, valid {}s:",
            ttl.as_secs()
        ),
        None => eprintln!("admin token for {subject:?}, valid {}s:", ttl.as_secs()),
    }
    println!("{token}");
    Ok(())
}
