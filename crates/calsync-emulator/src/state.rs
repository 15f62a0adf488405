//! The emulator's data: users (each with its calendars, see users.rs), events with an ordered change log
//! per calendar (incremental listing costs the changes, not the calendar), channels, tokens, faults and
//! the request log.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

use super::faults::Faults;

/// One calendar and its events.
#[derive(Debug, Default)]
pub struct Calendar {
    pub id: String,
    pub summary: String,
    pub time_zone: String,
    /// Event id → its current JSON (cancelled events stay, as Google keeps tombstones for a while).
    pub events: HashMap<String, Value>,
    /// Creation order (seq → id): the stable order of full listings and their page cursors.
    pub order: BTreeMap<u64, String>,
    /// Change log (seq → id); an id appears once, at its latest change.
    pub changes: BTreeMap<u64, String>,
    pub last_change: HashMap<String, u64>,
    /// Ids of the channels watching this calendar (a change notifies these, not every channel).
    pub channels: Vec<String>,
    /// `events.watch` answers 400 `pushNotSupportedForRequestedResource` (holiday calendars).
    pub push_not_supported: bool,
    /// Channels on this calendar are created but never delivered to.
    pub silent_channels: bool,
    /// Bumped when the calendar's own fields change.
    pub etag: u64,
}

/// A watch channel.
#[derive(Debug, Clone)]
pub struct ChannelState {
    pub id: String,
    /// The user whose access token opened it (only that user may stop it).
    pub user: String,
    pub resource_id: String,
    pub calendar_id: String,
    pub address: String,
    pub token: Option<String>,
    /// `X-Goog-Resource-URI` of its messages.
    pub resource_uri: String,
    /// Created, but its messages are never sent (a "silent" calendar's channel).
    pub silent: bool,
    /// Milliseconds since the epoch.
    pub expiration: i64,
    pub message_number: i64,
}

/// One served request, for the control API's log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoggedRequest {
    pub method: String,
    pub http_method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub at_ms: i64,
    /// The user the request acted for (its token's user), `null` when unknown (e.g. a refused token).
    pub user: Option<String>,
}

/// A registered service account (JWT-bearer grant).
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub public_key_pem: String,
}

/// An authorization code waiting to be exchanged (installed-app flow with PKCE).
#[derive(Debug, Clone)]
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    /// The account that consented (`login_hint`, else the default user).
    pub user: String,
    pub expires: DateTime<Utc>,
}

/// A refresh token: an OAuth client's grant for one user.
#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub client_id: String,
    pub user: String,
    pub scope: String,
    /// Revoked through the control API (restore brings it back); `/revoke` forgets a token instead.
    pub revoked: bool,
}

/// A live or expired access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub user: String,
    pub expires: DateTime<Utc>,
    pub scope: String,
    /// The refresh token (or authorization code's grant) it came from; none for service accounts.
    pub refresh: Option<String>,
}

/// Scope of the refresh tokens the emulator hands out itself (the dev one, `POST /emulator/users`).
pub const CALENDAR_SCOPE: &str = "https://www.googleapis.com/auth/calendar";

/// One Google account.
pub struct UserData {
    pub email: String,
    pub calendars: HashMap<String, Calendar>,
    /// Channels of `calendarList.watch`, told when calendars are added or removed.
    pub list_channels: Vec<String>,
    /// Bumped when a calendar is added to or removed from the list.
    pub list_etag: u64,
    /// Faults for the requests made with this user's access tokens (on top of the global ones).
    pub faults: Faults,
    /// Draws for [`UserData::faults`], apart from the global generator.
    pub rng: StdRng,
}

/// Everything behind the emulator's lock (held briefly, never across an await).
pub struct State {
    /// E-mail (lowercase) → that Google account's calendars, calendar list and faults.
    pub users: HashMap<String, UserData>,
    /// Every channel, of every user (ids and resource ids are unique across users).
    pub channels: HashMap<String, ChannelState>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub service_accounts: HashMap<String, ServiceAccount>,
    /// Authorization codes issued by `/o/oauth2/auth`, single use.
    pub auth_codes: HashMap<String, AuthCode>,
    /// The consent screen answers `access_denied` while set.
    pub deny_consent: bool,
    /// Faults for every request (each user may add its own, in [`UserData::faults`]).
    pub faults: Faults,
    pub rng: StdRng,
    pub log: Vec<LoggedRequest>,
    pub counts: HashMap<String, u64>,
    /// Bumped to invalidate every sync token at once.
    pub token_generation: u64,
    pub seq: u64,
    pub etag_counter: u64,
    pub access_ttl_secs: i64,
    pub seed: u64,
    /// The `primary` calendar's zone, kept for `reset`.
    pub primary_time_zone: String,
}

impl State {
    /// A fresh emulator: the default user with its `primary` calendar, as every Google account has, and
    /// the dev refresh token for it.
    pub fn new(seed: u64, access_ttl_secs: i64, primary_time_zone: &str) -> Self {
        let mut state = Self {
            users: HashMap::new(),
            channels: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            service_accounts: HashMap::new(),
            auth_codes: HashMap::new(),
            deny_consent: false,
            faults: Faults::default(),
            rng: StdRng::seed_from_u64(seed),
            log: Vec::new(),
            counts: HashMap::new(),
            token_generation: 1,
            seq: 0,
            etag_counter: 3_485_815_948_352_000,
            access_ttl_secs,
            seed,
            primary_time_zone: primary_time_zone.to_string(),
        };
        state.ensure_user(super::credentials::USER_EMAIL);
        state.restore_dev_refresh_token();
        state
    }

    /// The dev refresh token, for the default user (again, after a revocation).
    pub fn restore_dev_refresh_token(&mut self) {
        self.refresh_tokens.insert(
            super::dev_credentials::REFRESH_TOKEN.to_string(),
            RefreshToken {
                client_id: super::dev_credentials::CLIENT_ID.to_string(),
                user: super::credentials::USER_EMAIL.to_string(),
                scope: CALENDAR_SCOPE.to_string(),
                revoked: false,
            },
        );
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn next_etag(&mut self) -> String {
        self.etag_counter += 1 + (self.seq % 7);
        format!("\"{}\"", self.etag_counter)
    }

    pub fn reset(&mut self) {
        let ttl = self.access_ttl_secs;
        let seed = self.seed;
        let zone = self.primary_time_zone.clone();
        *self = State::new(seed, ttl, &zone);
    }
}

pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The minimal shape Google returns for a cancelled event in incremental results.
pub fn tombstone(event: &Value) -> Value {
    let mut m = Map::new();
    for key in [
        "kind",
        "etag",
        "id",
        "status",
        "recurringEventId",
        "originalStartTime",
        "updated",
    ] {
        if let Some(v) = event.get(key) {
            m.insert(key.into(), v.clone());
        }
    }
    m.insert("status".into(), json!("cancelled"));
    Value::Object(m)
}

/// Google's client-chosen id rule: base32hex (lowercase a–v, 0–9), 5 to 1024 characters.
pub fn valid_client_id(id: &str) -> bool {
    (5..=1024).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='v').contains(&c))
}

/// A random base32hex id of 26 characters, as Google generates.
pub fn new_event_id(rng: &mut StdRng) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuv";
    (0..26)
        .map(|_| ALPHABET[rng.random_range(0..32)] as char)
        .collect()
}

/// Start and end instants of an event (all-day dates at UTC midnight, floating times in their zone).
pub fn bounds(e: &Value) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let at = super::validate::instant;
    Some((at(e.get("start")?)?, at(e.get("end")?)?))
}

impl State {
    /// Mints an access token for `user` and `scope` (from `refresh`, if any) and returns the token
    /// endpoint's JSON answer.
    pub fn issue_access_token(&mut self, user: &str, scope: &str, refresh: Option<&str>) -> Value {
        use rand::Rng;
        let token: String = format!("ya29.emu-{:032x}", self.rng.random::<u128>());
        let ttl = self.access_ttl_secs;
        self.access_tokens.insert(
            token.clone(),
            AccessToken {
                user: user.to_string(),
                expires: Utc::now() + chrono::Duration::seconds(ttl),
                scope: scope.to_string(),
                refresh: refresh.map(str::to_string),
            },
        );
        json!({"access_token": token, "expires_in": ttl, "token_type": "Bearer", "scope": scope})
    }

    /// Mints a refresh token of the dev client for `user`.
    pub fn issue_refresh_token(&mut self, user: &str, scope: &str) -> String {
        use rand::Rng;
        let token = format!("1//0emu{:032x}", self.rng.random::<u128>());
        self.refresh_tokens.insert(
            token.clone(),
            RefreshToken {
                client_id: super::dev_credentials::CLIENT_ID.to_string(),
                user: user.to_string(),
                scope: scope.to_string(),
                revoked: false,
            },
        );
        token
    }
}
