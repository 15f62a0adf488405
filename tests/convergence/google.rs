//! The in-process Google emulator of one seed: calendars, dev credentials, a bearer token, and the control API
//! (user edits, faults, sync-token invalidation, channel expiry, request log).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use calsync::emulator::{Emulator, EmulatorConfig, dev_credentials};
use calsync_testkit::google::{access_token, emulator_env};
use serde_json::{Value, json};

/// The calendars of the sample config (config/calendar_config.yaml), created at "Google".
pub use calsync_testkit::CALENDARS;

pub struct Google {
    emu: Emulator,
    http: reqwest::Client,
    creds: PathBuf,
    access_token: String,
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
            creds,
            access_token: String::new(),
        };
        for cal in CALENDARS {
            google
                .control(
                    "POST",
                    "/emulator/calendars",
                    json!({"id": cal, "summary": cal, "timeZone": "Europe/Paris"}),
                )
                .await
                .expect("calendar created");
        }
        google.access_token = access_token(&google.http, &google.emu).await;
        google
    }

    /// Environment that points calsync at this emulator.
    pub fn env(&self) -> Vec<(String, String)> {
        emulator_env(&self.emu, &self.creds)
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

    /// A user creates an event in Google's UI; returns its Google id.
    pub async fn user_insert(&self, cal: &str, body: Value) -> Result<String, String> {
        let created = self
            .control("POST", &format!("/emulator/calendars/{cal}/events"), body)
            .await?;
        created["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("insert answered without an id: {created}"))
    }

    pub async fn user_patch(&self, cal: &str, id: &str, body: Value) -> Result<(), String> {
        self.control(
            "PATCH",
            &format!("/emulator/calendars/{cal}/events/{id}"),
            body,
        )
        .await
        .map(|_| ())
    }

    pub async fn user_delete(&self, cal: &str, id: &str) -> Result<(), String> {
        self.control(
            "DELETE",
            &format!("/emulator/calendars/{cal}/events/{id}"),
            Value::Null,
        )
        .await
        .map(|_| ())
    }

    /// The event as Google holds it now (cancelled included), None when Google never had it.
    pub async fn peek(&self, cal: &str, id: &str) -> Option<Value> {
        self.control(
            "GET",
            &format!("/emulator/calendars/{cal}/events/{id}"),
            Value::Null,
        )
        .await
        .ok()
    }

    /// True when the event exists at Google and is not cancelled.
    pub async fn is_live(&self, cal: &str, id: &str) -> bool {
        self.peek(cal, id)
            .await
            .is_some_and(|e| e["status"] != "cancelled")
    }

    pub async fn set_faults(&self, faults: Value) {
        self.control("POST", "/emulator/faults", faults)
            .await
            .expect("faults accepted");
    }

    pub async fn invalidate_sync_tokens(&self) {
        self.control("POST", "/emulator/sync-tokens/invalidate", json!({}))
            .await
            .expect("sync tokens invalidated");
    }

    /// Ids of the channels that still deliver (expiration in the future).
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

    /// Statuses >= 400 the emulator answered on `/calendar/v3` (injected faults, 410, 412, 409 ...), by status.
    pub async fn error_statuses(&self) -> BTreeMap<u16, usize> {
        let log = self
            .control("GET", "/emulator/requests", Value::Null)
            .await
            .unwrap_or(Value::Null);
        let mut by_status = BTreeMap::new();
        for r in log["requests"].as_array().into_iter().flatten() {
            if let Some(s) = r["status"].as_u64().filter(|s| *s >= 400) {
                *by_status.entry(s as u16).or_default() += 1;
            }
        }
        by_status
    }

    /// Every event of a full listing through Google's API, cancelled ones as tombstones.
    pub async fn list_all(&self, cal: &str) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut req = self
                .http
                .get(format!(
                    "{}/calendars/{cal}/events",
                    self.emu.api_base_url()
                ))
                .bearer_auth(&self.access_token)
                .query(&[("maxResults", "2500"), ("showDeleted", "true")]);
            if let Some(p) = &page {
                req = req.query(&[("pageToken", p)]);
            }
            let resp = req.send().await.map_err(|e| format!("list {cal}: {e}"))?;
            if !resp.status().is_success() {
                return Err(format!("list {cal}: {}", resp.status()));
            }
            let body: Value = resp.json().await.map_err(|e| format!("list {cal}: {e}"))?;
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
