//! Why a SOPS file could not be opened or written: one error for the file format (`sops`) and the
//! age identities (`age_keys`), so neither imports the other for it.

/// Why a SOPS file could not be opened or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SopsError {
    #[error("not a SOPS JSON file: {0}")]
    NotSops(String),
    #[error("only age keys are supported; this file is encrypted with {0}")]
    UnsupportedKeys(String),
    #[error("the sops option `{0}` is not supported")]
    UnsupportedOption(&'static str),
    #[error(
        "no age identity: set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY (sops's default {0} does not exist)"
    )]
    NoIdentity(String),
    #[error("unreadable age identity in {0}")]
    BadIdentity(String),
    #[error(
        "wrong key: no age identity given ({tried}) opens this file; it is encrypted for {expected}"
    )]
    WrongKey { tried: String, expected: String },
    #[error("MAC mismatch: {0} (the file was changed after it was encrypted)")]
    MacMismatch(String),
    #[error("malformed SOPS file: {0}")]
    Malformed(String),
}
