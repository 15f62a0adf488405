//! Settings: the YAML file (seed format plus calsync's sections), environment overrides and validation.

mod accounts;
mod env;
mod load;
mod push;
mod secret;
mod validate;

use std::path::PathBuf;

use serde::Deserialize;

pub use accounts::{AccountSettings, AccountSource, DEFAULT_ACCOUNT};
pub use load::{config_path, load, load_from_str};
pub use push::PushSettings;
pub use secret::{Secret, SecretsSettings};
pub use validate::{ConfigError, require_credentials};

/// Google's production API base; any other base (the emulator, a test server) relaxes the https rule.
pub const GOOGLE_API_BASE_URL: &str = "https://www.googleapis.com/calendar/v3";
/// Default location of the config file (`CALENDAR_CONFIG_PATH` overrides it).
pub const DEFAULT_CONFIG_PATH: &str = "config/calendar_config.yaml";
/// The seed's three roles; `google_calendar.casquettes` may extend the list.
pub const DEFAULT_CASQUETTES: [&str; 3] = ["medecin", "enseignant", "chercheur"];

/// Everything calsync reads at boot, in one struct (no config is read anywhere else).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub google_calendar: GoogleCalendarSettings,
    #[serde(default)]
    pub server: ServerSettings,
    #[serde(default)]
    pub database: DatabaseSettings,
    #[serde(default)]
    pub redis: RedisSettings,
    #[serde(default)]
    pub push: PushSettings,
    #[serde(default)]
    pub google: GoogleSettings,
    #[serde(default)]
    pub admin: AdminSettings,
    #[serde(default)]
    pub telegram: TelegramSettings,
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    #[serde(default)]
    pub secrets: SecretsSettings,
    /// Named Google accounts (name → credentials); empty: the one implicit account `default`.
    #[serde(default)]
    pub accounts: std::collections::BTreeMap<String, AccountSettings>,
}

/// The seed's `google_calendar:` section, kept as is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleCalendarSettings {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "default_interval")]
    pub sync_interval_minutes: u64,
    /// Finer-grained fallback-poll interval (tests, demos); overrides `sync_interval_minutes` when set.
    #[serde(default)]
    pub sync_interval_seconds: Option<u64>,
    pub calendars: Vec<CalendarSettings>,
    #[serde(default)]
    pub sync_range: Option<SyncRange>,
    #[serde(default)]
    pub default_reminders: Vec<Reminder>,
    /// Roles a calendar may carry; defaults to the seed's three.
    #[serde(default = "default_casquettes")]
    pub casquettes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSettings {
    pub id: String,
    pub name: String,
    pub casquette: String,
    #[serde(default)]
    pub color: Option<String>,
    /// IANA zone for "today" and recurrence expansion; Google's calendar zone when unset.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The account whose credentials serve this calendar: one of `accounts:`, or one connected
    /// with `calsync auth login --account NAME` (stored in PostgreSQL, sealed). Unset: the implicit
    /// account `default`, made of the `google:` credential settings.
    #[serde(default)]
    pub account: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SyncRange {
    pub past_days: u32,
    pub future_days: u32,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Reminder {
    pub method: String,
    pub minutes: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// `BIND_ADDRESS`.
    pub bind_address: String,
    /// `WEBHOOK_PUBLIC_URL`: the https base Google can reach; channels point at `<it>/webhooks/google`.
    pub public_url: Option<String>,
    /// Run the background workers (sync, renewal, poll) in this process.
    pub workers_enabled: bool,
    pub shutdown_grace_secs: u64,
    /// Deadline for a request's headers, from the connection's first byte.
    pub header_read_timeout_secs: u64,
    /// Deadline for a request's whole body, from the handler's first read: a client trickling it
    /// gets 408 and the connection is closed.
    pub body_read_timeout_secs: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind_address: "0.0.0.0:8080".into(),
            public_url: None,
            workers_enabled: true,
            shutdown_grace_secs: 20,
            header_read_timeout_secs: 5,
            body_read_timeout_secs: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `DATABASE_URL`.
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
    /// Server-side `statement_timeout` for every connection.
    pub statement_timeout_secs: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "postgres://postgres@127.0.0.1:5432/calsync".into(),
            max_connections: 10,
            acquire_timeout_secs: 5,
            statement_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// `REDIS_URL`.
    pub url: String,
    /// Prefix for every key (empty in production: the seed's `calendar:last_sync`).
    pub key_prefix: String,
    pub timeout_secs: u64,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".into(),
            key_prefix: String::new(),
            timeout_secs: 2,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GoogleSettings {
    /// `GOOGLE_API_BASE_URL`.
    pub api_base_url: String,
    /// `GOOGLE_TOKEN_URL`; otherwise the credential file's `token_uri`.
    pub token_url: Option<String>,
    /// `GOOGLE_CLIENT_SECRET_PATH`.
    pub client_secret_path: Option<PathBuf>,
    /// `GOOGLE_CALENDAR_TOKEN_PATH`.
    pub token_path: Option<PathBuf>,
    /// `GOOGLE_CALENDAR_TOKEN_ENC_PATH`: the token as a SOPS file (age keys: `SOPS_AGE_KEY_FILE`,
    /// `SOPS_AGE_KEY`), written back encrypted; used instead of `token_path` when set.
    pub token_enc_path: Option<PathBuf>,
    /// `GOOGLE_SERVICE_ACCOUNT_KEY_PATH`.
    pub service_account_key_path: Option<PathBuf>,
    /// `GOOGLE_IMPERSONATE_USER`.
    pub impersonate_user: Option<String>,
    /// Client-side quota per account (Google's per-user limit): calsync slows down before Google
    /// has to answer 429.
    pub requests_per_minute: u32,
    /// Client-side quota shared by every account (Google's per-project limit).
    pub project_requests_per_minute: u32,
    pub request_timeout_secs: u64,
    /// Upper bound for the retries of one API call.
    pub max_retry_secs: u64,
    pub page_size: u32,
}

impl Default for GoogleSettings {
    fn default() -> Self {
        Self {
            api_base_url: GOOGLE_API_BASE_URL.into(),
            token_url: None,
            client_secret_path: Some("config/google_client_secret.json".into()),
            token_path: Some("config/google_token.json".into()),
            token_enc_path: None,
            service_account_key_path: None,
            impersonate_user: None,
            requests_per_minute: 600,
            project_requests_per_minute: 10_000,
            request_timeout_secs: 30,
            max_retry_secs: 120,
            page_size: 2500,
        }
    }
}

impl GoogleSettings {
    /// True when calsync talks to the real Google (https and real credentials matter).
    pub fn is_real_google(&self) -> bool {
        self.api_base_url.trim_end_matches('/') == GOOGLE_API_BASE_URL
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// `ADMIN_JWT_SECRET`: HS256 key for `/api` and `/admin` bearer tokens.
    pub jwt_secret: Option<Secret>,
    /// `CHANNEL_TOKEN_SECRET`: signs the tokens of watch channels.
    pub channel_token_secret: Option<Secret>,
    /// Longest admin-token lifetime, minted (`calsync admin-token --ttl`) or accepted.
    pub token_max_ttl_secs: u64,
    /// RFC 3339 instant: every admin token issued before it is revoked.
    pub tokens_not_before: Option<String>,
    /// Revoked admin tokens by id (`jti`); a list, or one comma-separated string from the environment.
    #[serde(deserialize_with = "list_or_csv")]
    pub revoked_token_ids: Vec<String>,
    /// Failed sign-ins (bad, expired or revoked tokens) allowed per client address and minute;
    /// past it, that address gets 429 until the minute is over.
    pub max_failed_signins_per_minute: u32,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            channel_token_secret: None,
            token_max_ttl_secs: crate::admin_auth::DEFAULT_MAX_TTL.as_secs(),
            tokens_not_before: None,
            revoked_token_ids: Vec::new(),
            max_failed_signins_per_minute: 10,
        }
    }
}

impl AdminSettings {
    /// The token rules these settings make (the config is validated first: a bad instant is ignored here).
    pub fn token_policy(&self) -> crate::admin_auth::TokenPolicy {
        crate::admin_auth::TokenPolicy {
            max_ttl: std::time::Duration::from_secs(self.token_max_ttl_secs),
            not_before: self
                .tokens_not_before
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp()),
            revoked_ids: self.revoked_token_ids.clone(),
        }
    }
}

/// A list of strings, or one string of comma-separated items (how an environment variable gives it).
pub(crate) fn list_or_csv<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Items {
        List(Vec<String>),
        One(String),
        None(()),
    }
    Ok(match Items::deserialize(d)? {
        Items::List(v) => v,
        Items::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Items::None(()) => Vec::new(),
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramSettings {
    /// `TELEGRAM_BOT_TOKEN`; notifications are off when unset.
    pub bot_token: Option<Secret>,
    /// `TELEGRAM_CHAT_ID`.
    pub chat_id: Option<String>,
    /// `TELEGRAM_API_BASE_URL`.
    pub api_base_url: String,
    pub topic_actions: Option<i64>,
    pub topic_email: Option<i64>,
    pub topic_system: Option<i64>,
    pub locale: String,
}

impl Default for TelegramSettings {
    fn default() -> Self {
        Self {
            bot_token: None,
            chat_id: None,
            api_base_url: "https://api.telegram.org".into(),
            topic_actions: None,
            topic_email: None,
            topic_system: None,
            locale: "fr".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON when stdout is not a terminal, readable otherwise.
    #[default]
    Auto,
    Json,
    Pretty,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySettings {
    pub log_format: LogFormat,
}

fn yes() -> bool {
    true
}
fn default_interval() -> u64 {
    30
}
fn default_casquettes() -> Vec<String> {
    DEFAULT_CASQUETTES.iter().map(|s| s.to_string()).collect()
}

impl GoogleCalendarSettings {
    /// The fallback poll's interval.
    pub fn poll_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.sync_interval_seconds
                .unwrap_or(self.sync_interval_minutes.saturating_mul(60))
                .max(1),
        )
    }
}

impl Settings {
    /// The configured calendar with this Google id (in the default account first).
    pub fn calendar(&self, id: &str) -> Option<&CalendarSettings> {
        let cals = &self.google_calendar.calendars;
        cals.iter()
            .find(|c| c.id == id && c.account.is_none())
            .or_else(|| cals.iter().find(|c| c.id == id))
    }
}
