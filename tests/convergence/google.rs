//! The in-process Google emulator of one seed: the world's three users with their calendars, a token file
//! per user and the config naming them, and the control API (each user's edits and faults, revoking and
//! restoring a user's grant, sync-token invalidation, channel expiry, request log); listings go through
//! Google's API with each user's own access token.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use calsync::emulator::{Emulator, EmulatorConfig, dev_credentials};
use calsync_testkit::google::emulator_env;
use serde_json::{Value, json};

use crate::world::{ACCOUNTS, Account, CALS, Cal, write_config};

pub struct Google {
    emu: Emulator,
    http: reqwest::Client,
    creds: PathBuf,
    config: PathBuf,
    /// Each user's access token for the listings (by account index), fetched on first use and again
    /// after a 401 (a revocation drops the user's access tokens).
    tokens: Mutex<HashMap<usize, String>>,
}

impl Google {
    pub async fn start(seed: u64) -> Self {
        let emu = Emulator::start(EmulatorConfig {
            bind: "127.0.0.1:0".into(),
            seed,
            ..Default::default()
        })
        .await
        .expect("emulator starts");
        let creds = std::env::temp_dir().join(format!(
            "calsync-convergence-creds-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&creds).expect("credentials dir");
        dev_credentials::write(&creds, &emu.token_url()).expect("dev credentials");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        let mut google = Self {
            emu,
            http,
            config: PathBuf::new(),
            creds,
            tokens: Mutex::new(HashMap::new()),
        };
        let mut token_files = Vec::new();
        for a in &ACCOUNTS {
            // The user (with its `primary`) and a refresh token of the dev client for calsync.
            let refresh = google.refresh_token(a).await;
            let path = google.creds.join(format!("token-{}.json", a.name));
            dev_credentials::write_token(&path, &google.emu.token_url(), &refresh)
                .expect("the account's token file");
            token_files.push(path);
        }
        for c in &CALS {
            google
                .control(
                    "POST",
                    &format!("/emulator/users/{}/calendars", c.account().email),
                    json!({"id": c.id, "summary": c.key, "timeZone": "Europe/Paris"}),
                )
                .await
                .expect("calendar created");
        }
        google.config = write_config(&google.creds, &token_files);
        google
    }

    /// Environment that points calsync at this emulator and at the world's config.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = emulator_env(&self.emu, &self.creds);
        env.push((
            "CALENDAR_CONFIG_PATH".into(),
            self.config.display().to_string(),
        ));
        env
    }

    /// One control-API call; `Err` carries the status and body of a refusal.
    pub async fn control(&self, method: &str, path: &str, body: Value) -> Result<Value, String> {
        let url = format!("{}{}", self.emu.base_url(), path);
        let req = match method {
            "POST" => self.http.post(url).json(&body),
            "PATCH" => self.http.patch(url).json(&body),
            "DELETE" => self.http.delete(url),
            _ => self.http.get(url),
        };
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!("{method} {path}: {status} {text}"));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `/emulator/users/{email}{rest}`.
    fn of(a: &Account, rest: &str) -> String {
        format!("/emulator/users/{}{rest}", a.email)
    }

    fn event_path(cal: &Cal, id: &str) -> String {
        Self::of(cal.account(), &format!("/calendars/{}/events/{id}", cal.id))
    }

    /// The calendar's user creates an event in Google's UI; returns its Google id.
    pub async fn user_insert(&self, cal: &Cal, body: Value) -> Result<String, String> {
        let path = Self::of(cal.account(), &format!("/calendars/{}/events", cal.id));
        let created = self.control("POST", &path, body).await?;
        created["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("insert answered without an id: {created}"))
    }

    pub async fn user_patch(&self, cal: &Cal, id: &str, body: Value) -> Result<(), String> {
        self.control("PATCH", &Self::event_path(cal, id), body)
            .await
            .map(|_| ())
    }

    pub async fn user_delete(&self, cal: &Cal, id: &str) -> Result<(), String> {
        self.control("DELETE", &Self::event_path(cal, id), Value::Null)
            .await
            .map(|_| ())
    }

    /// The event as Google holds it now (cancelled included), None when this calendar never had it.
    pub async fn peek(&self, cal: &Cal, id: &str) -> Option<Value> {
        self.control("GET", &Self::event_path(cal, id), Value::Null)
            .await
            .ok()
    }

    /// True when the event exists at Google and is not cancelled.
    pub async fn is_live(&self, cal: &Cal, id: &str) -> bool {
        self.peek(cal, id)
            .await
            .is_some_and(|e| e["status"] != "cancelled")
    }

    /// Faults for everyone (`{}` clears them).
    pub async fn set_faults(&self, faults: Value) {
        self.control("POST", "/emulator/faults", faults)
            .await
            .expect("faults accepted");
    }

    /// Faults of one account's requests and pushes only (`{}` clears them).
    pub async fn set_user_faults(&self, a: &Account, faults: Value) {
        self.control("POST", &Self::of(a, "/faults"), faults)
            .await
            .expect("user faults accepted");
    }

    /// The user removes calsync's access: its refresh tokens answer `invalid_grant`, their access
    /// tokens 401.
    pub async fn revoke(&self, a: &Account) {
        self.control("POST", &Self::of(a, "/refresh-tokens/revoke"), json!({}))
            .await
            .expect("refresh tokens revoked");
    }

    /// The user consents again: the revoked refresh tokens work again.
    pub async fn restore(&self, a: &Account) {
        self.control("POST", &Self::of(a, "/refresh-tokens/restore"), json!({}))
            .await
            .expect("refresh tokens restored");
    }

    pub async fn invalidate_sync_tokens(&self) {
        self.control("POST", "/emulator/sync-tokens/invalidate", json!({}))
            .await
            .expect("sync tokens invalidated");
    }

    /// Ids of the channels that still deliver (expiration in the future), every user's.
    pub async fn live_channels(&self) -> Vec<String> {
        let now = chrono::Utc::now().timestamp_millis();
        let listed = self
            .control("GET", "/emulator/channels", Value::Null)
            .await
            .unwrap_or(Value::Null);
        listed["channels"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .filter(|c| c["expiration"].as_i64().is_some_and(|e| e > now))
                    .filter_map(|c| c["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn expire_channel(&self, id: &str) {
        self.control(
            "POST",
            &format!("/emulator/channels/{id}/expire"),
            json!({}),
        )
        .await
        .expect("channel expired");
    }

    /// Statuses >= 400 the emulator answered on `/calendar/v3` (injected faults, 410, 412, 409 ...), by
    /// status, and the token endpoint's refusals (`invalid_grant`): everyone's, or one user's.
    pub async fn error_statuses(&self, user: Option<&str>) -> BTreeMap<String, usize> {
        let path = match user {
            Some(email) => format!("/emulator/requests?user={email}"),
            None => "/emulator/requests".into(),
        };
        let log = self
            .control("GET", &path, Value::Null)
            .await
            .unwrap_or(Value::Null);
        let mut by_status = BTreeMap::new();
        for r in log["requests"].as_array().into_iter().flatten() {
            let Some(s) = r["status"].as_u64().filter(|s| *s >= 400) else {
                continue;
            };
            let key = match r["method"].as_str() {
                Some("token") => "invalid_grant".to_string(),
                _ => s.to_string(),
            };
            *by_status.entry(key).or_default() += 1;
        }
        by_status
    }

    /// A new refresh token of the dev client for the account's user (created if absent).
    async fn refresh_token(&self, a: &Account) -> String {
        let r = self
            .control("POST", "/emulator/users", json!({"email": a.email}))
            .await
            .expect("user added");
        r["refresh_token"]
            .as_str()
            .expect("the emulator issues a refresh token")
            .to_string()
    }

    /// An access token of the account's user (cached until a 401).
    async fn access_token(&self, account: usize) -> Result<String, String> {
        if let Some(t) = self.cached().get(&account) {
            return Ok(t.clone());
        }
        let refresh = self.refresh_token(&ACCOUNTS[account]).await;
        let token: Value = self
            .http
            .post(self.emu.token_url())
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", dev_credentials::CLIENT_ID),
                ("client_secret", dev_credentials::CLIENT_SECRET),
                ("refresh_token", refresh.as_str()),
            ])
            .send()
            .await
            .map_err(|e| format!("token: {e}"))?
            .json()
            .await
            .map_err(|e| format!("token: {e}"))?;
        let token = token["access_token"]
            .as_str()
            .ok_or_else(|| format!("no access token for {}: {token}", ACCOUNTS[account].email))?
            .to_string();
        self.cached().insert(account, token.clone());
        Ok(token)
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, HashMap<usize, String>> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every event of a full listing of `cal` through Google's API with its own user's token, cancelled
    /// ones as tombstones.
    pub async fn list_all(&self, cal: &Cal) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        let mut page: Option<String> = None;
        let mut renewed = false;
        loop {
            let token = self.access_token(cal.account).await?;
            let mut req = self
                .http
                .get(format!(
                    "{}/calendars/{}/events",
                    self.emu.api_base_url(),
                    cal.id
                ))
                .bearer_auth(&token)
                .query(&[("maxResults", "2500"), ("showDeleted", "true")]);
            if let Some(p) = &page {
                req = req.query(&[("pageToken", p)]);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| format!("list {}: {e}", cal.key))?;
            if resp.status() == 401 && !renewed {
                self.cached().remove(&cal.account);
                renewed = true;
                continue;
            }
            if !resp.status().is_success() {
                return Err(format!("list {}: {}", cal.key, resp.status()));
            }
            let body: Value = resp
                .json()
                .await
                .map_err(|e| format!("list {}: {e}", cal.key))?;
            items.extend(body["items"].as_array().cloned().unwrap_or_default());
            match body["nextPageToken"].as_str() {
                Some(p) => page = Some(p.to_string()),
                None => return Ok(items),
            }
        }
    }

    pub async fn stop(self) {
        let _ = std::fs::remove_dir_all(&self.creds);
        self.emu.stop().await;
    }
}
