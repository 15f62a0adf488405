//! google-auth's token file: reading it (plain or SOPS-encrypted), its `expiry` formats, and writing
//! it back atomically (mode 0600); or a connected account's document, kept sealed in a vault.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use futures_util::future::BoxFuture;
use serde_json::{Map, Value};

use super::error::GoogleError;

pub(crate) fn read_json(path: &Path) -> Result<Map<String, Value>, GoogleError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| GoogleError::Credentials(format!("{}: {e}", path.display())))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(GoogleError::Credentials(format!(
            "{}: not a JSON object",
            path.display()
        ))),
    }
}

pub(crate) fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// google-auth writes `expiry` as `2026-02-16T14:30:00.123456Z` (or without the `Z`).
pub(crate) fn parse_expiry(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// Temp file in the same directory, mode 0600, then rename: readers never see half a file.
/// The temp name is random and created exclusively: replicas sharing the directory (all PID 1 in
/// their containers) never write into each other's temp file.
pub(crate) fn write_atomically(path: &Path, content: &Map<String, Value>) -> std::io::Result<()> {
    write_text_atomically(
        path,
        &serde_json::to_string_pretty(content).unwrap_or_default(),
    )
}

/// [`write_atomically`] for text already serialised.
pub(crate) fn write_text_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("token"),
        uuid::Uuid::new_v4().simple()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    let written = f.write_all(text.as_bytes()).and_then(|()| f.sync_all());
    drop(f);
    let renamed = written.and_then(|()| std::fs::rename(&tmp, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed
}

/// Where an account's token document is kept outside files (PostgreSQL, sealed): implemented by
/// `accounts::StoredCredentials`, so this module needs no database.
pub trait CredentialVault: Send + Sync {
    /// The account's name (for messages; never a secret).
    fn account(&self) -> &str;
    /// The google-auth token document, decrypted.
    fn load(&self) -> BoxFuture<'_, Result<Map<String, Value>, GoogleError>>;
    /// Replaces the stored document (sealed again).
    fn save<'a>(
        &'a self,
        document: &'a Map<String, Value>,
    ) -> BoxFuture<'a, Result<(), GoogleError>>;
}

/// Where a user token lives: a plain google-auth file, a SOPS-encrypted one (the original
/// daemon's `google_token.json.enc`), decrypted in memory and written back encrypted for the same
/// recipients (its plaintext never touches the disk), or a vault (a connected account).
pub(crate) enum TokenStore {
    Plain(PathBuf),
    Sops {
        path: PathBuf,
        sealed: crate::secrets::sops::Sealed,
    },
    Vault {
        vault: Arc<dyn CredentialVault>,
        /// The document as last loaded or saved, without the access token: a refresh that changes
        /// nothing durable writes nothing.
        durable: Map<String, Value>,
        label: PathBuf,
    },
}

/// The part of a token document worth storing: everything but the short-lived access token.
fn durable(document: &Map<String, Value>) -> Map<String, Value> {
    let mut d = document.clone();
    d.remove("token");
    d.remove("expiry");
    d
}

impl TokenStore {
    /// Opens `path` as a plain token file; a missing one points to `calsync auth login`.
    pub(crate) fn open_plain(path: &Path) -> Result<(Self, Map<String, Value>), GoogleError> {
        if !path.exists() {
            return Err(GoogleError::Credentials(format!(
                "no token file at {}: run `calsync auth login` to create it",
                path.display()
            )));
        }
        Ok((Self::Plain(path.to_path_buf()), read_json(path)?))
    }

    /// Opens `path` as a SOPS file with sops's age identities.
    pub(crate) fn open_sops(path: &Path) -> Result<(Self, Map<String, Value>), GoogleError> {
        let (map, sealed) = read_sops(path)?;
        Ok((
            Self::Sops {
                path: path.to_path_buf(),
                sealed,
            },
            map,
        ))
    }

    /// Opens a connected account's document from its vault.
    pub(crate) async fn open_vault(
        vault: Arc<dyn CredentialVault>,
    ) -> Result<(Self, Map<String, Value>), GoogleError> {
        let document = vault.load().await?;
        let label = PathBuf::from(format!("account {}", vault.account()));
        Ok((
            Self::Vault {
                vault,
                durable: durable(&document),
                label,
            },
            document,
        ))
    }

    /// The file, or `account NAME` for a vault (messages only).
    pub(crate) fn path(&self) -> &Path {
        match self {
            Self::Plain(p) | Self::Sops { path: p, .. } | Self::Vault { label: p, .. } => p,
        }
    }

    /// The content now (`calsync auth login` may have replaced it).
    pub(crate) async fn read(&mut self) -> Result<Map<String, Value>, GoogleError> {
        match self {
            Self::Plain(p) => read_json(p),
            Self::Sops { path, sealed } => {
                let (map, fresh) = read_sops(path)?;
                *sealed = fresh;
                Ok(map)
            }
            Self::Vault {
                vault, durable: d, ..
            } => {
                let document = vault.load().await?;
                *d = durable(&document);
                Ok(document)
            }
        }
    }

    /// Writes `content` back, atomically (encrypted, for a SOPS file; sealed, for a vault, and only
    /// when more than the access token changed).
    pub(crate) async fn write(&mut self, content: &Map<String, Value>) -> Result<(), String> {
        match self {
            Self::Plain(p) => write_atomically(p, content).map_err(|e| e.to_string()),
            Self::Sops { path, sealed } => {
                let text = sealed
                    .seal(&Value::Object(content.clone()))
                    .map_err(|e| e.to_string())?;
                write_text_atomically(path, &text).map_err(|e| e.to_string())
            }
            Self::Vault {
                vault, durable: d, ..
            } => {
                let fresh = durable(content);
                if fresh == *d {
                    return Ok(());
                }
                vault.save(&fresh).await.map_err(|e| e.to_string())?;
                *d = fresh;
                Ok(())
            }
        }
    }
}

fn read_sops(
    path: &Path,
) -> Result<(Map<String, Value>, crate::secrets::sops::Sealed), GoogleError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| GoogleError::Credentials(format!("{}: {e}", path.display())))?;
    let (plain, sealed) = crate::secrets::sops::open(&text)
        .map_err(|e| GoogleError::Credentials(format!("{}: {e}", path.display())))?;
    match plain {
        Value::Object(m) => Ok((m, sealed)),
        _ => Err(GoogleError::Credentials(format!(
            "{}: not a JSON object",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_write_leaves_other_writers_temp_files_alone() {
        let dir = std::env::temp_dir().join(format!("calsync-auth-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("google_token.json");
        // Another replica's write in flight, under the name a PID-based scheme would pick here.
        let theirs = dir.join(format!(".google_token.json.tmp-{}", std::process::id()));
        std::fs::write(&theirs, "other replica").unwrap();
        let mut content = Map::new();
        content.insert("token".into(), Value::from("t1"));
        write_atomically(&path, &content).unwrap();
        write_atomically(&path, &content).unwrap();
        assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "other replica");
        let written: Map<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(written, content);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 2, "no temp file of ours left behind: {left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn google_auth_expiry_formats() {
        assert!(parse_expiry("2026-02-16T14:30:00.123456Z").is_some());
        assert!(parse_expiry("2026-02-16T14:30:00.123456").is_some());
        assert!(parse_expiry("2026-02-16T14:30:00").is_some());
        assert!(parse_expiry("soon").is_none());
    }
}
