//! The emulator's data: calendars with their events, an ordered change log per calendar (incremental
//! listing costs the changes, not the calendar), channels, tokens, faults and the request log.

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
    pub expires: DateTime<Utc>,
}

/// Everything behind the emulator's lock (held briefly, never across an await).
pub struct State {
    pub calendars: HashMap<String, Calendar>,
    /// Channels of `calendarList.watch`, told when calendars are added or removed.
    pub list_channels: Vec<String>,
    /// Bumped when a calendar is added to or removed from the list.
    pub list_etag: u64,
    pub channels: HashMap<String, ChannelState>,
    pub access_tokens: HashMap<String, DateTime<Utc>>,
    pub refresh_tokens: HashMap<String, String>,
    pub service_accounts: HashMap<String, ServiceAccount>,
    /// Authorization codes issued by `/o/oauth2/auth`, single use.
    pub auth_codes: HashMap<String, AuthCode>,
    /// Access token → the scopes it was granted (for `/tokeninfo`).
    pub token_scopes: HashMap<String, String>,
    /// The consent screen answers `access_denied` while set.
    pub deny_consent: bool,
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
    /// A fresh account: it has its `primary` calendar, as every Google account does.
    pub fn new(seed: u64, access_ttl_secs: i64, primary_time_zone: &str) -> Self {
        let mut refresh_tokens = HashMap::new();
        refresh_tokens.insert(
            super::dev_credentials::REFRESH_TOKEN.to_string(),
            super::dev_credentials::CLIENT_ID.to_string(),
        );
        let mut state = Self {
            calendars: HashMap::new(),
            list_channels: Vec::new(),
            list_etag: 1,
            channels: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens,
            service_accounts: HashMap::new(),
            auth_codes: HashMap::new(),
            token_scopes: HashMap::new(),
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
        state.add_calendar("primary", super::credentials::USER_EMAIL, primary_time_zone);
        state
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn next_etag(&mut self) -> String {
        self.etag_counter += 1 + (self.seq % 7);
        format!("\"{}\"", self.etag_counter)
    }

    /// A calendar by id; the account's own address is an alias of `primary`, as at Google.
    pub fn resolve(&self, id: &str) -> Option<String> {
        if self.calendars.contains_key(id) {
            return Some(id.to_string());
        }
        if id == super::credentials::USER_EMAIL {
            return Some("primary".to_string());
        }
        None
    }

    /// Creates a calendar, or updates the summary and zone of an existing one; true when created.
    pub fn add_calendar(&mut self, id: &str, summary: &str, time_zone: &str) -> bool {
        self.upsert_calendar(id, Some(summary), Some(time_zone))
    }

    /// As [`State::add_calendar`], an existing calendar keeping what is not given.
    pub fn upsert_calendar(
        &mut self,
        id: &str,
        summary: Option<&str>,
        time_zone: Option<&str>,
    ) -> bool {
        if let Some(c) = self.calendars.get_mut(id) {
            if let Some(s) = summary {
                c.summary = s.to_string();
            }
            if let Some(z) = time_zone {
                c.time_zone = z.to_string();
            }
            c.etag += 1;
            return false;
        }
        self.list_etag += 1;
        let (summary, time_zone) = (summary.unwrap_or(id), time_zone.unwrap_or("UTC"));
        self.calendars.insert(
            id.to_string(),
            Calendar {
                id: id.to_string(),
                summary: summary.to_string(),
                time_zone: time_zone.to_string(),
                etag: 1,
                ..Calendar::default()
            },
        );
        true
    }

    /// Stores `event` as the current version and logs the change; returns the change seq.
    pub fn commit(&mut self, cal: &str, event: Value) -> u64 {
        let seq = self.next_seq();
        let Some(id) = event.get("id").and_then(Value::as_str).map(str::to_string) else {
            return seq;
        };
        if let Some(c) = self.calendars.get_mut(cal) {
            if !c.events.contains_key(&id) {
                c.order.insert(seq, id.clone());
            }
            if let Some(old) = c.last_change.insert(id.clone(), seq) {
                c.changes.remove(&old);
            }
            c.changes.insert(seq, id.clone());
            c.events.insert(id, event);
        }
        seq
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
    /// Mints an access token for `scope` and returns the token endpoint's JSON answer.
    pub fn issue_access_token(&mut self, scope: &str) -> Value {
        use rand::Rng;
        let token: String = format!("ya29.emu-{:032x}", self.rng.random::<u128>());
        let ttl = self.access_ttl_secs;
        self.access_tokens
            .insert(token.clone(), Utc::now() + chrono::Duration::seconds(ttl));
        self.token_scopes.insert(token.clone(), scope.to_string());
        json!({"access_token": token, "expires_in": ttl, "token_type": "Bearer", "scope": scope})
    }
}
