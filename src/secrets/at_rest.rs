//! Secrets stored in PostgreSQL (the refresh tokens of connected accounts), sealed with AES-256-GCM
//! under `CALSYNC_SECRET_KEY`: each value records the id of the key that sealed it, so a key ring
//! (the current key plus previous ones) opens old values while `calsync secrets rotate` reseals them.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Why a key could not be read or a stored secret not opened. Messages name keys by id, never by value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AtRestError {
    #[error(
        "no secret key: set CALSYNC_SECRET_KEY or CALSYNC_SECRET_KEY_FILE (make one with `calsync secrets new-key`)"
    )]
    NoKey,
    #[error(
        "{0}: not a secret key (32 random bytes in base64, as `calsync secrets new-key` prints)"
    )]
    BadKey(String),
    #[error("{0}: {1}")]
    KeyFile(String, String),
    #[error(
        "sealed under key {found}, which is not configured (current key {current}{previous}); \
         add it to CALSYNC_SECRET_KEY_PREVIOUS or the key file"
    )]
    UnknownKey {
        found: String,
        current: String,
        previous: String,
    },
    #[error(
        "does not open under key {0}: the stored value was changed or belongs to another account"
    )]
    Tampered(String),
}

/// One 256-bit key and its id (the first 8 hex digits of a SHA-256 of the key, safe to print).
#[derive(Clone)]
struct SecretKey {
    id: String,
    key: Key<Aes256Gcm>,
}

impl SecretKey {
    fn parse(text: &str, origin: &str) -> Result<Self, AtRestError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| AtRestError::BadKey(origin.into()))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| AtRestError::BadKey(origin.into()))?;
        let digest = Sha256::new()
            .chain_update(b"calsync secret key id\0")
            .chain_update(key)
            .finalize();
        let id = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            id,
            key: key.into(),
        })
    }
}

/// A sealed value as stored: the key id, a 96-bit nonce and the ciphertext with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// The current key (seals) and the previous ones (open only).
#[derive(Clone)]
pub struct SecretKeys {
    current: SecretKey,
    previous: Vec<SecretKey>,
}

impl std::fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKeys")
            .field("current", &self.current.id)
            .field("previous", &self.previous_ids())
            .finish()
    }
}

/// A new random key, base64, for `CALSYNC_SECRET_KEY`.
pub fn new_key() -> String {
    base64::engine::general_purpose::STANDARD.encode(Aes256Gcm::generate_key(OsRng))
}

impl SecretKeys {
    /// The ring from the settings: `key` (`CALSYNC_SECRET_KEY`) is current; else the key file's first
    /// key. The key file's other lines and `previous` (`CALSYNC_SECRET_KEY_PREVIOUS`) open old values.
    /// Blank lines and `#` comments in the key file are skipped.
    pub fn from_sources(
        key: Option<&str>,
        key_file: Option<&Path>,
        previous: &[String],
    ) -> Result<Self, AtRestError> {
        let mut ring = Vec::new();
        if let Some(k) = key.filter(|k| !k.trim().is_empty()) {
            ring.push(SecretKey::parse(k, "CALSYNC_SECRET_KEY")?);
        }
        if let Some(path) = key_file {
            let origin = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .map_err(|e| AtRestError::KeyFile(origin.clone(), e.to_string()))?;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                ring.push(SecretKey::parse(line, &format!("{origin} line {}", n + 1))?);
            }
        }
        for (n, k) in previous.iter().enumerate() {
            ring.push(SecretKey::parse(
                k,
                &format!("CALSYNC_SECRET_KEY_PREVIOUS[{n}]"),
            )?);
        }
        let mut ring = ring.into_iter();
        let current = ring.next().ok_or(AtRestError::NoKey)?;
        let mut previous: Vec<SecretKey> = Vec::new();
        for k in ring {
            if k.id != current.id && previous.iter().all(|p| p.id != k.id) {
                previous.push(k);
            }
        }
        Ok(Self { current, previous })
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    pub fn previous_ids(&self) -> Vec<String> {
        self.previous.iter().map(|k| k.id.clone()).collect()
    }

    /// Seals `plain` under the current key; `context` (e.g. the account's name) is authenticated
    /// with it, so a value copied to another row does not open there.
    pub fn seal(&self, context: &str, plain: &[u8]) -> SealedSecret {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = Aes256Gcm::new(&self.current.key)
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .unwrap_or_default();
        SealedSecret {
            key_id: self.current.id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        }
    }

    /// Opens a value sealed under any key of the ring, for the same `context`.
    pub fn open(&self, context: &str, sealed: &SealedSecret) -> Result<Vec<u8>, AtRestError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| AtRestError::UnknownKey {
                found: sealed.key_id.clone(),
                current: self.current.id.clone(),
                previous: match self.previous_ids() {
                    p if p.is_empty() => String::new(),
                    p => format!(", previous {}", p.join(", ")),
                },
            })?;
        let tampered = || AtRestError::Tampered(key.id.clone());
        let nonce: [u8; 12] = sealed.nonce.as_slice().try_into().map_err(|_| tampered())?;
        Aes256Gcm::new(&key.key)
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| tampered())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(current: &str, previous: &[&str]) -> SecretKeys {
        let previous: Vec<String> = previous.iter().map(|s| s.to_string()).collect();
        SecretKeys::from_sources(Some(current), None, &previous).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_for_its_context_only_and_hides_the_plaintext() {
        let keys = ring(&new_key(), &[]);
        let sealed = keys.seal("hopital", b"1//refresh-secret");
        assert_eq!(sealed.key_id, keys.current_id());
        assert_eq!(sealed.nonce.len(), 12);
        assert!(
            !sealed.ciphertext.windows(7).any(|w| w == b"refresh"),
            "no plaintext in the ciphertext"
        );
        assert_eq!(keys.open("hopital", &sealed).unwrap(), b"1//refresh-secret");
        assert_eq!(
            keys.open("universite", &sealed).unwrap_err(),
            AtRestError::Tampered(keys.current_id().into())
        );
        let mut flipped = sealed.clone();
        flipped.ciphertext[0] ^= 1;
        assert!(matches!(
            keys.open("hopital", &flipped),
            Err(AtRestError::Tampered(_))
        ));
    }

    #[test]
    fn two_seals_of_one_value_differ() {
        let keys = ring(&new_key(), &[]);
        assert_ne!(
            keys.seal("a", b"x").ciphertext,
            keys.seal("a", b"x").ciphertext
        );
    }

    #[test]
    fn previous_keys_open_old_values_and_an_unknown_key_is_named() {
        let (old, new) = (new_key(), new_key());
        let before = ring(&old, &[]);
        let sealed = before.seal("labo", b"t");
        let after = ring(&new, &[&old]);
        assert_eq!(after.open("labo", &sealed).unwrap(), b"t");
        assert_eq!(after.seal("labo", b"t").key_id, after.current_id());
        let without = ring(&new, &[]);
        let e = without.open("labo", &sealed).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "sealed under key {}, which is not configured (current key {}); add it to \
                 CALSYNC_SECRET_KEY_PREVIOUS or the key file",
                before.current_id(),
                without.current_id()
            )
        );
    }

    #[test]
    fn a_key_file_holds_the_current_key_first_then_the_previous_ones() {
        let (a, b) = (new_key(), new_key());
        let path = std::env::temp_dir().join(format!("calsync-key-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, format!("# calsync keys\n{a}\n\n{b}\n{a}\n")).unwrap();
        let keys = SecretKeys::from_sources(None, Some(&path), &[]).unwrap();
        assert_eq!(keys.current_id(), ring(&a, &[]).current_id());
        assert_eq!(
            keys.previous_ids(),
            vec![ring(&b, &[]).current_id().to_string()]
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn bad_or_missing_keys_say_what_to_do() {
        assert_eq!(
            SecretKeys::from_sources(None, None, &[]).unwrap_err(),
            AtRestError::NoKey
        );
        let e = SecretKeys::from_sources(Some("hunter2"), None, &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "CALSYNC_SECRET_KEY: not a secret key (32 random bytes in base64, as `calsync secrets new-key` prints)"
        );
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        assert!(SecretKeys::from_sources(Some(&short), None, &[]).is_err());
        let e = SecretKeys::from_sources(None, Some(Path::new("/nonexistent/k")), &[]).unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/k: "), "{e}");
    }

    #[test]
    fn debug_shows_key_ids_only() {
        let k = new_key();
        let shown = format!("{:?}", ring(&k, &[]));
        assert!(!shown.contains(&k) && shown.contains("current"), "{shown}");
    }
}
