//! age identities where sops looks for them (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, then its default
//! `$XDG_CONFIG_HOME/sops/age/keys.txt` or `~/.config/sops/age/keys.txt`), and age encryption of a
//! data key for a recipient.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;

use super::error::SopsError;

/// The identities found, and where from (for error messages: paths and variable names only).
pub struct AgeIdentities {
    identities: Vec<Box<dyn age::Identity>>,
    sources: Vec<String>,
}

/// sops's default key file on Linux.
pub fn default_key_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("sops").join("age").join("keys.txt"))
}

/// Every identity sops would use, from the process environment.
pub fn from_env() -> Result<AgeIdentities, SopsError> {
    let key = std::env::var("SOPS_AGE_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty());
    let file = std::env::var_os("SOPS_AGE_KEY_FILE")
        .filter(|f| !f.is_empty())
        .map(PathBuf::from);
    from_sources(key.as_deref(), file, default_key_file())
}

/// The identities of `key` (an identity file's text), `file` and `default` (read when it exists).
pub fn from_sources(
    key: Option<&str>,
    file: Option<PathBuf>,
    default: Option<PathBuf>,
) -> Result<AgeIdentities, SopsError> {
    let mut found = AgeIdentities {
        identities: Vec::new(),
        sources: Vec::new(),
    };
    if let Some(text) = key {
        found.add("SOPS_AGE_KEY", text)?;
    }
    if let Some(path) = file {
        let label = format!("SOPS_AGE_KEY_FILE={}", path.display());
        let text = std::fs::read_to_string(&path)
            .map_err(|e| SopsError::BadIdentity(format!("{label}: {e}")))?;
        found.add(&label, &text)?;
    }
    if let Some(path) = default.as_ref().filter(|p| p.exists()) {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| SopsError::BadIdentity(format!("{label}: {e}")))?;
        found.add(&label, &text)?;
    }
    if found.identities.is_empty() {
        let default = default.map_or_else(
            || "~/.config/sops/age/keys.txt".to_string(),
            |p| p.display().to_string(),
        );
        return Err(SopsError::NoIdentity(default));
    }
    Ok(found)
}

impl AgeIdentities {
    fn add(&mut self, label: &str, text: &str) -> Result<(), SopsError> {
        let ids = age::IdentityFile::from_buffer(text.as_bytes())
            .and_then(|f| {
                f.into_identities()
                    .map_err(|e| std::io::Error::other(e.to_string()))
            })
            .map_err(|_| SopsError::BadIdentity(label.to_string()))?;
        if ids.is_empty() {
            return Err(SopsError::BadIdentity(format!(
                "{label} (no AGE-SECRET-KEY line)"
            )));
        }
        self.identities.extend(ids);
        self.sources.push(label.to_string());
        Ok(())
    }

    /// Where the identities came from, for messages.
    pub fn sources(&self) -> String {
        self.sources.join(", ")
    }

    /// Decrypts an armored age file (a `sops.age[].enc`); None when none of the identities opens it.
    pub fn decrypt(&self, armored: &str) -> Result<Option<Vec<u8>>, SopsError> {
        let decryptor = age::Decryptor::new(age::armor::ArmoredReader::new(armored.as_bytes()))
            .map_err(|e| SopsError::Malformed(format!("an age stanza: {e}")))?;
        match decryptor.decrypt(
            self.identities
                .iter()
                .map(|i| i.as_ref() as &dyn age::Identity),
        ) {
            Ok(mut reader) => {
                let mut out = Vec::new();
                reader
                    .read_to_end(&mut out)
                    .map_err(|e| SopsError::Malformed(format!("an age payload: {e}")))?;
                Ok(Some(out))
            }
            Err(age::DecryptError::NoMatchingKeys) => Ok(None),
            Err(e) => Err(SopsError::Malformed(format!("an age stanza: {e}"))),
        }
    }
}

/// `payload` age-encrypted (armored) for `recipient` (`age1…`).
pub fn encrypt_for(recipient: &str, payload: &[u8]) -> Result<String, SopsError> {
    let r: age::x25519::Recipient = recipient
        .parse()
        .map_err(|e: &str| SopsError::Malformed(format!("recipient {recipient}: {e}")))?;
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        .map_err(|e| SopsError::Malformed(format!("age: {e}")))?;
    let mut out = Vec::new();
    let io = |e: std::io::Error| SopsError::Malformed(format!("age: {e}"));
    let armor = age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
        .map_err(io)?;
    let mut writer = encryptor.wrap_output(armor).map_err(io)?;
    writer.write_all(payload).map_err(io)?;
    writer
        .finish()
        .and_then(|armor| armor.finish())
        .map_err(io)?;
    String::from_utf8(out).map_err(|_| SopsError::Malformed("age armor".into()))
}
