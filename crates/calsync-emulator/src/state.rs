//! The emulator's data: calendars with their events, an ordered change log per calendar (incremental
//! listing costs the changes, not the calendar), channels, tokens, faults and the request log.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
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
}

/// A watch channel.
#[derive(Debug, Clone)]
pub struct ChannelState {
    pub id: String,
    pub resource_id: String,
    pub calendar_id: String,
    pub address: String,
    pub token: Option<String>,
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
}

impl State {
    pub fn new(seed: u64, access_ttl_secs: i64) -> Self {
        let mut refresh_tokens = HashMap::new();
        refresh_tokens.insert(
            super::dev_credentials::REFRESH_TOKEN.to_string(),
            super::dev_credentials::CLIENT_ID.to_string(),
        );
        Self {
            calendars: HashMap::new(),
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
        }
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn next_etag(&mut self) -> String {
        self.etag_counter += 1 + (self.seq % 7);
        format!("\"{}\"", self.etag_counter)
    }

    /// `primary` is an alias of the calendar named so, else of the first one created.
    pub fn resolve(&self, id: &str) -> Option<String> {
        if self.calendars.contains_key(id) {
            return Some(id.to_string());
        }
        if id == "primary" {
            return self.calendars.keys().min().cloned();
        }
        None
    }

    pub fn add_calendar(&mut self, id: &str, summary: &str, time_zone: &str) {
        self.calendars
            .entry(id.to_string())
            .or_insert_with(|| Calendar {
                id: id.to_string(),
                summary: summary.to_string(),
                time_zone: time_zone.to_string(),
                ..Calendar::default()
            });
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
        *self = State::new(seed, ttl);
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

/// Start and end instants of an event (all-day dates at UTC midnight).
pub fn bounds(e: &Value) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let at = |v: &Value| -> Option<DateTime<Utc>> {
        if let Some(dt) = v.get("dateTime").and_then(Value::as_str) {
            return DateTime::parse_from_rfc3339(dt)
                .ok()
                .map(|t| t.with_timezone(&Utc));
        }
        let d = NaiveDate::parse_from_str(v.get("date")?.as_str()?, "%Y-%m-%d").ok()?;
        Some(d.and_hms_opt(0, 0, 0)?.and_utc())
    };
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
