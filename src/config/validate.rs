//! Startup checks: each failure names the offending key, so a bad deployment stops before it serves.

use std::net::SocketAddr;

use super::{AccountSource, Secret, Settings};

/// A configuration problem, tied to the key (or variable) that causes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl Settings {
    /// The rules loading checks, for settings built or edited in code (the test kit's typed overrides).
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate(self)
    }
}

/// Rules that hold for every command.
pub(crate) fn validate(s: &Settings) -> Result<(), ConfigError> {
    let gc = &s.google_calendar;
    if gc.sync_interval_minutes == 0 {
        return Err(ConfigError::new(
            "google_calendar.sync_interval_minutes",
            "must be at least 1 (minutes between fallback polls)",
        ));
    }
    if gc.sync_interval_seconds == Some(0) {
        return Err(ConfigError::new(
            "google_calendar.sync_interval_seconds",
            "must be at least 1 when set",
        ));
    }
    if gc.enabled && gc.calendars.is_empty() {
        return Err(ConfigError::new(
            "google_calendar.calendars",
            "at least one calendar is required while google_calendar.enabled is true",
        ));
    }
    super::accounts::validate(s)?;
    for (i, cal) in gc.calendars.iter().enumerate() {
        let at = |field: &str| format!("google_calendar.calendars[{i}].{field}");
        if cal.id.trim().is_empty() {
            return Err(ConfigError::new(at("id"), "must not be empty"));
        }
        if !gc.casquettes.iter().any(|c| c == &cal.casquette) {
            return Err(ConfigError::new(
                at("casquette"),
                format!(
                    "unknown role {:?}; known roles: {} (extend google_calendar.casquettes to add one)",
                    cal.casquette,
                    gc.casquettes.join(", ")
                ),
            ));
        }
        if let Some(color) = &cal.color
            && !is_hex_color(color)
        {
            return Err(ConfigError::new(
                at("color"),
                format!("{color:?} is not a #rrggbb color"),
            ));
        }
        if let Some(tz) = &cal.time_zone
            && tz.parse::<chrono_tz::Tz>().is_err()
        {
            return Err(ConfigError::new(
                at("time_zone"),
                format!("{tz:?} is not an IANA time zone"),
            ));
        }
    }
    if let Some(range) = gc.sync_range
        && range.past_days == 0
        && range.future_days == 0
    {
        return Err(ConfigError::new(
            "google_calendar.sync_range",
            "past_days and future_days are both 0: nothing would sync (use null for no limit)",
        ));
    }
    if s.server.bind_address.parse::<SocketAddr>().is_err() {
        return Err(ConfigError::new(
            "server.bind_address (BIND_ADDRESS)",
            format!("{:?} is not a host:port address", s.server.bind_address),
        ));
    }
    let api = url::Url::parse(&s.google.api_base_url).map_err(|e| {
        ConfigError::new(
            "google.api_base_url (GOOGLE_API_BASE_URL)",
            format!("not a URL: {e}"),
        )
    })?;
    if !matches!(api.scheme(), "http" | "https") {
        return Err(ConfigError::new(
            "google.api_base_url (GOOGLE_API_BASE_URL)",
            "must be an http(s) URL",
        ));
    }
    if let Some(public) = &s.server.public_url {
        let url = url::Url::parse(public).map_err(|e| {
            ConfigError::new(
                "server.public_url (WEBHOOK_PUBLIC_URL)",
                format!("not a URL: {e}"),
            )
        })?;
        if s.google.is_real_google() && url.scheme() != "https" {
            return Err(ConfigError::new(
                "server.public_url (WEBHOOK_PUBLIC_URL)",
                "Google only delivers push notifications to https addresses with a valid certificate",
            ));
        }
    }
    if s.push.renew_margin_secs >= s.push.channel_ttl_secs {
        return Err(ConfigError::new(
            "push.renew_margin_secs",
            "must be smaller than push.channel_ttl_secs",
        ));
    }
    if !s.database.url.starts_with("postgres://") && !s.database.url.starts_with("postgresql://") {
        return Err(ConfigError::new(
            "database.url (DATABASE_URL)",
            "must be a postgres:// URL",
        ));
    }
    if s.google.requests_per_minute == 0 {
        return Err(ConfigError::new(
            "google.requests_per_minute",
            "must be at least 1",
        ));
    }
    if !(1..=2500).contains(&s.google.page_size) {
        return Err(ConfigError::new(
            "google.page_size",
            "must be between 1 and 2500 (Google's maxResults limit)",
        ));
    }
    key_secret(
        s.admin.jwt_secret.as_ref(),
        "admin.jwt_secret (ADMIN_JWT_SECRET)",
    )?;
    key_secret(
        s.admin.channel_token_secret.as_ref(),
        "admin.channel_token_secret (CHANNEL_TOKEN_SECRET)",
    )?;
    for (key, v) in [
        (
            "server.header_read_timeout_secs",
            s.server.header_read_timeout_secs,
        ),
        (
            "server.body_read_timeout_secs",
            s.server.body_read_timeout_secs,
        ),
    ] {
        if v == 0 {
            return Err(ConfigError::new(key, "must be at least 1"));
        }
    }
    if s.admin.token_max_ttl_secs == 0 {
        return Err(ConfigError::new(
            "admin.token_max_ttl_secs",
            "must be at least 1",
        ));
    }
    if let Some(t) = &s.admin.tokens_not_before
        && chrono::DateTime::parse_from_rfc3339(t).is_err()
    {
        return Err(ConfigError::new(
            "admin.tokens_not_before",
            "must be an RFC 3339 instant, e.g. 2026-12-01T00:00:00Z",
        ));
    }
    if s.admin.max_failed_signins_per_minute == 0 {
        return Err(ConfigError::new(
            "admin.max_failed_signins_per_minute",
            "must be at least 1",
        ));
    }
    Ok(())
}

/// Shortest signing key accepted: RFC 7518 §3.2 wants an HS256 key at least as long as the hash (256 bits).
const MIN_SECRET_BYTES: usize = 32;

/// Values of the example files (`infra/.env.example`, `calsync.env.example`, `secret.example.yaml`)
/// and their usual variants: a copy left as shipped must not sign anything.
const PLACEHOLDERS: &[&str] = &[
    "change-me",
    "changeme",
    "change_me",
    "replace-me",
    "replaceme",
    "replace_me",
    "openssl rand -hex 32",
];

/// A signing key, when set: not empty, not a placeholder, at least [`MIN_SECRET_BYTES`] long.
fn key_secret(secret: Option<&Secret>, key: &str) -> Result<(), ConfigError> {
    let Some(secret) = secret else {
        return Ok(());
    };
    let value = secret.expose();
    if value.trim().is_empty() {
        return Err(ConfigError::new(
            key,
            "is set but empty; unset it to disable, or set a random value (openssl rand -hex 32)",
        ));
    }
    let lower = value.to_ascii_lowercase();
    if PLACEHOLDERS.iter().any(|p| lower.contains(p)) {
        return Err(ConfigError::new(
            key,
            "still holds the example's placeholder; set a random value (openssl rand -hex 32)",
        ));
    }
    if value.len() < MIN_SECRET_BYTES {
        return Err(ConfigError::new(
            key,
            format!(
                "is {} bytes long, at least {MIN_SECRET_BYTES} are required (openssl rand -hex 32)",
                value.len()
            ),
        ));
    }
    Ok(())
}

/// Rules for commands that talk to Google: every account's credential must be present and readable.
pub fn require_credentials(s: &Settings) -> Result<(), ConfigError> {
    if !s.google_calendar.enabled {
        return Ok(());
    }
    for account in s.configured_accounts() {
        match s.account_source(&account) {
            AccountSource::Stored => stored_ready(s)?,
            AccountSource::Files(g) => {
                let name = |field: &str, var: &str| {
                    if s.accounts.contains_key(&account) {
                        format!("accounts.{account}.{field}")
                    } else {
                        format!("google.{field} ({var})")
                    }
                };
                files_ready(&g, name)?;
            }
        }
    }
    push_reachable(s)
}

/// A connected account: its token is in PostgreSQL, sealed; the key must be here to open it, and
/// the shared OAuth client to refresh it.
fn stored_ready(s: &Settings) -> Result<(), ConfigError> {
    s.secrets.keys()?;
    let secret = s.google.client_secret_path.as_ref().ok_or_else(|| {
        ConfigError::new(
            "google.client_secret_path (GOOGLE_CLIENT_SECRET_PATH)",
            "is required for a connected account (its OAuth client)",
        )
    })?;
    readable(
        secret,
        "google.client_secret_path (GOOGLE_CLIENT_SECRET_PATH)",
    )
}

/// Credential files (the `google:` section's, or an account's in `accounts:`); `name` gives a
/// field's key as the operator wrote it.
fn files_ready(
    g: &super::GoogleSettings,
    name: impl Fn(&str, &str) -> String,
) -> Result<(), ConfigError> {
    if let Some(path) = &g.service_account_key_path {
        return readable(
            path,
            &name(
                "service_account_key_path",
                "GOOGLE_SERVICE_ACCOUNT_KEY_PATH",
            ),
        );
    }
    if let Some(enc) = &g.token_enc_path {
        // Opened now, so a wrong key or a tampered file stops startup (exit 2) naming the file.
        let key = name("token_enc_path", "GOOGLE_CALENDAR_TOKEN_ENC_PATH");
        let text = std::fs::read_to_string(enc).map_err(|e| {
            ConfigError::new(
                &key,
                format!("credential file {} cannot be read: {e}", enc.display()),
            )
        })?;
        crate::secrets::sops::open(&text)
            .map_err(|e| ConfigError::new(&key, format!("{}: {e}", enc.display())))?;
    } else {
        let key = name("token_path", "GOOGLE_CALENDAR_TOKEN_PATH");
        let token = g.token_path.as_ref().ok_or_else(|| {
            ConfigError::new(
                &key,
                "no Google credential configured: set GOOGLE_CALENDAR_TOKEN_PATH (run `calsync auth login`) or GOOGLE_SERVICE_ACCOUNT_KEY_PATH",
            )
        })?;
        readable(token, &key)?;
    }
    if let Some(secret) = &g.client_secret_path {
        readable(
            secret,
            "google.client_secret_path (GOOGLE_CLIENT_SECRET_PATH)",
        )?;
    }
    Ok(())
}

/// Push against the real Google needs a public URL for it to call.
fn push_reachable(s: &Settings) -> Result<(), ConfigError> {
    if s.push.enabled && s.server.public_url.is_none() && s.google.is_real_google() {
        return Err(ConfigError::new(
            "server.public_url (WEBHOOK_PUBLIC_URL)",
            "push is enabled but no public https URL is set for Google to call",
        ));
    }
    Ok(())
}

fn readable(path: &std::path::Path, key: &str) -> Result<(), ConfigError> {
    std::fs::File::open(path).map(|_| ()).map_err(|e| {
        ConfigError::new(
            key,
            format!("credential file {} cannot be read: {e}", path.display()),
        )
    })
}

fn is_hex_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::super::load_from_str;

    const YAML: &str = "google_calendar:\n  enabled: false\n  calendars: []\n";
    const GOOD: &str = "0123456789abcdef0123456789abcdef";

    fn with(var: &str, value: &str) -> Result<(), super::ConfigError> {
        load_from_str(YAML, &[(var.to_string(), value.to_string())]).map(|_| ())
    }

    #[test]
    fn signing_secrets_must_be_real_keys() {
        for var in ["ADMIN_JWT_SECRET", "CHANNEL_TOKEN_SECRET"] {
            for bad in [
                "",
                "   ",
                "change-me",
                "CHANGE-ME",
                "change-me-change-me-change-me-change-me",
                "too-short-31-bytes-xxxxxxxxxxxx",
            ] {
                let err = with(var, bad).expect_err(bad);
                assert!(err.key.contains(var), "{var}={bad:?}: {err}");
                if !bad.trim().is_empty() {
                    assert!(
                        !err.to_string().contains(bad),
                        "never echoes the value: {err}"
                    );
                }
            }
            assert!(with(var, GOOD).is_ok(), "{var}: 32 random bytes are fine");
        }
        assert!(load_from_str(YAML, &[]).is_ok(), "unset stays allowed");
    }
}
