//! Secrets in the settings: a string that never prints, and the key ring that seals what calsync
//! stores in PostgreSQL.

use std::path::PathBuf;

use serde::Deserialize;

use super::{ConfigError, list_or_csv};

/// Keys that seal the secrets calsync stores in PostgreSQL (`secrets::at_rest`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsSettings {
    /// `CALSYNC_SECRET_KEY`: the current key (32 bytes, base64; `calsync secrets new-key`).
    pub key: Option<Secret>,
    /// `CALSYNC_SECRET_KEY_FILE`: one key per line, the current one first (used when `key` is unset;
    /// its other lines are previous keys).
    pub key_file: Option<PathBuf>,
    /// `CALSYNC_SECRET_KEY_PREVIOUS`: keys that only open values sealed before a rotation; a list,
    /// or one comma-separated string from the environment.
    #[serde(deserialize_with = "list_or_csv")]
    pub previous_keys: Vec<String>,
}

impl SecretsSettings {
    /// The key ring these settings name; a missing or bad key is a configuration error.
    pub fn keys(&self) -> Result<crate::secrets::at_rest::SecretKeys, ConfigError> {
        crate::secrets::at_rest::SecretKeys::from_sources(
            self.key.as_ref().map(Secret::expose),
            self.key_file.as_deref(),
            &self.previous_keys,
        )
        .map_err(|e| {
            ConfigError::new(
                "secrets.key (CALSYNC_SECRET_KEY, CALSYNC_SECRET_KEY_FILE)",
                e.to_string(),
            )
        })
    }
}

/// A string that never prints: `Debug` and logs show `[redacted]`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}
