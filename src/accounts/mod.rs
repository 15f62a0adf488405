//! Connected accounts: each one's google-auth token document (refresh token included) kept sealed
//! in PostgreSQL under `CALSYNC_SECRET_KEY`, opened only in memory; connecting, and resealing every
//! account under a new key (`calsync secrets rotate`).

mod clients;
pub mod manage;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::{Map, Value};
use sqlx::PgPool;

use crate::db::accounts::{self as rows, Rotation};
use crate::google::{CredentialVault, GoogleError};
use crate::secrets::at_rest::{AtRestError, SecretKeys};

pub use clients::GoogleAccounts;

/// What an account name may be: it appears in config, URLs, metrics labels and logs.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The rule [`valid_name`] checks, for messages.
pub const NAME_RULE: &str = "lowercase letters, digits, `-` and `_`, starting with a letter or digit, at most 63 characters";

/// One connected account's credentials in PostgreSQL.
pub struct StoredCredentials {
    pool: PgPool,
    name: String,
    keys: SecretKeys,
}

impl StoredCredentials {
    pub fn new(pool: PgPool, name: &str, keys: SecretKeys) -> Arc<Self> {
        Arc::new(Self {
            pool,
            name: name.to_string(),
            keys,
        })
    }

    /// Stores (or replaces) the account's token document, sealed under the current key, and lifts
    /// the account's pauses (new credentials: Google may accept them).
    pub async fn connect(&self, document: &Map<String, Value>) -> Result<(), sqlx::Error> {
        let sealed = self.seal(document);
        rows::connect(&self.pool, &self.name, &sealed).await?;
        let resumed = crate::db::sync_state::resume_account(&self.pool, &self.name).await?;
        if resumed != crate::db::sync_state::Resumed::default() {
            tracing::info!(account = %self.name, calendars = resumed.calendars,
                outbox_entries = resumed.entries, "new credentials: the account's pauses lifted");
        }
        Ok(())
    }

    fn seal(&self, document: &Map<String, Value>) -> crate::secrets::at_rest::SealedSecret {
        let plain = serde_json::to_vec(document).unwrap_or_default();
        self.keys.seal(&self.name, &plain)
    }

    fn refused(&self, why: impl std::fmt::Display) -> GoogleError {
        GoogleError::Credentials(format!("account {}: {why}", self.name))
    }
}

impl CredentialVault for StoredCredentials {
    fn account(&self) -> &str {
        &self.name
    }

    fn load(&self) -> BoxFuture<'_, Result<Map<String, Value>, GoogleError>> {
        Box::pin(async move {
            let sealed = rows::sealed(&self.pool, &self.name)
                .await
                .map_err(|e| GoogleError::Transient(format!("stored credentials: {e}")))?
                .ok_or_else(|| {
                    self.refused(format!(
                        "not connected: run `calsync auth login --account {}`",
                        self.name
                    ))
                })?;
            let plain = self
                .keys
                .open(&self.name, &sealed)
                .map_err(|e| self.refused(format!("stored credentials {e}")))?;
            match serde_json::from_slice::<Value>(&plain) {
                Ok(Value::Object(m)) => Ok(m),
                _ => Err(self.refused("stored credentials are not a token document")),
            }
        })
    }

    fn save<'a>(
        &'a self,
        document: &'a Map<String, Value>,
    ) -> BoxFuture<'a, Result<(), GoogleError>> {
        Box::pin(async move {
            let sealed = self.seal(document);
            match rows::reseal(&self.pool, &self.name, &sealed).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(self.refused("removed while in use")),
                Err(e) => Err(GoogleError::Transient(format!("stored credentials: {e}"))),
            }
        })
    }
}

/// Why a rotation stopped (nothing was changed: it is one transaction).
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("account {account}: {error}; nothing was rotated")]
    Open { account: String, error: AtRestError },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Reseals every stored account under the ring's current key; values already under it are left.
pub async fn rotate(pool: &PgPool, keys: &SecretKeys) -> Result<Rotation, RotateError> {
    rows::rotate(pool, |name, old| {
        if old.key_id == keys.current_id() {
            return Ok(None);
        }
        let plain = keys.open(name, old).map_err(|error| RotateError::Open {
            account: name.to_string(),
            error,
        })?;
        Ok(Some(keys.seal(name, &plain)))
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn account_names_are_plain_identifiers() {
        for ok in ["hopital", "univ-2", "lab_x", "0a"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "Hopital", "-x", "a b", "é", "a/b", &"a".repeat(64)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
