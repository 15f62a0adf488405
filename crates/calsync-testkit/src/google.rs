//! The emulated Google for tests: an emulator per test and dev credentials on disk (the environment
//! that points calsync at it; [`crate::synced`] builds the app). Everything that knows the emulator's
//! control API lives here and, for its other users than the default one, in [`crate::google_users`].

pub use crate::google_users::GoogleUser;

use std::path::{Path, PathBuf};

use calsync::emulator::{Emulator, EmulatorConfig, dev_credentials};
use serde_json::{Value, json};

/// The calendars of the sample config, created at "Google".
pub const CALENDARS: [&str; 3] = ["primary", "CALENDAR_ID_ENSEIGNANT", "CALENDAR_ID_CHERCHEUR"];

/// One test's emulated Google: the sample config's calendars, dev credentials on disk, a bearer token.
pub struct Google {
    pub emu: Emulator,
    pub http: reqwest::Client,
    pub creds: PathBuf,
    access_token: String,
}

impl Google {
    pub async fn start() -> Self {
        let emu = Emulator::start(EmulatorConfig {
            bind: "127.0.0.1:0".into(),
            ..Default::default()
        })
        .await
        .expect("emulator starts");
        let creds =
            std::env::temp_dir().join(format!("calsync-creds-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&creds).expect("a directory for the dev credentials");
        dev_credentials::write(&creds, &emu.token_url()).expect("dev credentials");
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
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
                .await;
        }
        google.access_token = access_token(&google.http, &google.emu).await;
        google
    }

    /// Environment that points calsync at this emulator.
    pub fn env(&self) -> Vec<(String, String)> {
        emulator_env(&self.emu, &self.creds)
    }

    pub async fn control(&self, method: &str, path: &str, body: Value) -> Value {
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
            .expect("the emulator's control API answers");
        let status = resp.status();
        let text = resp.text().await.expect("a control API body");
        assert!(status.is_success(), "control {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.emu.api_base_url(), path))
            .bearer_auth(&self.access_token)
    }

    /// events.insert through Google's API, as any client would.
    pub async fn insert(&self, cal: &str, body: Value) -> Value {
        let resp = self
            .api(reqwest::Method::POST, &format!("/calendars/{cal}/events"))
            .json(&body)
            .send()
            .await
            .expect("the emulator's API answers");
        assert!(resp.status().is_success(), "insert: {}", resp.status());
        resp.json().await.expect("an event as JSON")
    }

    pub async fn patch(&self, cal: &str, id: &str, body: Value) -> Value {
        let resp = self
            .api(
                reqwest::Method::PATCH,
                &format!("/calendars/{cal}/events/{id}"),
            )
            .json(&body)
            .send()
            .await
            .expect("the emulator's API answers");
        assert!(resp.status().is_success(), "patch: {}", resp.status());
        resp.json().await.expect("an event as JSON")
    }

    /// events.move: the event leaves `cal` (a cancelled entry there) for `destination`.
    pub async fn move_event(&self, cal: &str, id: &str, destination: &str) -> Value {
        move_event(
            &self.http,
            &self.emu,
            &self.access_token,
            cal,
            id,
            destination,
        )
        .await
    }

    pub async fn delete(&self, cal: &str, id: &str) {
        let resp = self
            .api(
                reqwest::Method::DELETE,
                &format!("/calendars/{cal}/events/{id}"),
            )
            .send()
            .await
            .expect("the emulator's API answers");
        assert!(resp.status().is_success(), "delete: {}", resp.status());
    }

    /// Every item of a full listing (what Google holds now), following pages.
    pub async fn list_all(&self, cal: &str) -> Vec<Value> {
        list_all(&self.http, &self.emu, &self.access_token, cal, false).await
    }

    /// Seeds `n` generated events at once.
    pub async fn bulk_seed(&self, cal: &str, n: usize) {
        self.control(
            "POST",
            &format!("/emulator/calendars/{cal}/bulk"),
            json!({"count": n}),
        )
        .await;
    }

    pub async fn invalidate_sync_tokens(&self) {
        self.control("POST", "/emulator/sync-tokens/invalidate", json!({}))
            .await;
    }

    pub async fn set_faults(&self, faults: Value) {
        self.control("POST", "/emulator/faults", faults).await;
    }

    /// Requests the emulator served for one API method (e.g. `events.list`).
    pub async fn count(&self, method: &str) -> u64 {
        let stats = self.control("GET", "/emulator/stats", Value::Null).await;
        stats["counts"][method].as_u64().unwrap_or(0)
    }

    pub async fn expire_channel(&self, id: &str) {
        self.control(
            "POST",
            &format!("/emulator/channels/{id}/expire"),
            json!({}),
        )
        .await;
    }
}

/// Environment that points calsync at `emu`, with the dev credentials written under `creds`.
pub fn emulator_env(emu: &Emulator, creds: &Path) -> Vec<(String, String)> {
    vec![
        ("GOOGLE_API_BASE_URL".into(), emu.api_base_url()),
        ("GOOGLE_TOKEN_URL".into(), emu.token_url()),
        (
            "GOOGLE_CALENDAR_TOKEN_PATH".into(),
            creds.join("token.json").display().to_string(),
        ),
        (
            "GOOGLE_CLIENT_SECRET_PATH".into(),
            creds.join("client_secret.json").display().to_string(),
        ),
    ]
}

/// An access token from the emulator's token endpoint, by the dev credentials' refresh grant.
pub async fn access_token(http: &reqwest::Client, emu: &Emulator) -> String {
    access_token_for(http, emu, dev_credentials::REFRESH_TOKEN).await
}

/// An access token from the emulator's token endpoint, by `refresh`'s grant (the dev client's).
pub async fn access_token_for(http: &reqwest::Client, emu: &Emulator, refresh: &str) -> String {
    let token: Value = http
        .post(emu.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", dev_credentials::CLIENT_ID),
            ("client_secret", dev_credentials::CLIENT_SECRET),
            ("refresh_token", refresh),
        ])
        .send()
        .await
        .expect("the emulator's token endpoint answers")
        .json()
        .await
        .expect("the emulator's token is JSON");
    token["access_token"]
        .as_str()
        .expect("the emulator grants an access token")
        .to_string()
}

/// events.move with `token`, asserting success.
pub(crate) async fn move_event(
    http: &reqwest::Client,
    emu: &Emulator,
    token: &str,
    cal: &str,
    id: &str,
    destination: &str,
) -> Value {
    let resp = http
        .post(format!(
            "{}/calendars/{cal}/events/{id}/move",
            emu.api_base_url()
        ))
        .bearer_auth(token)
        .query(&[("destination", destination)])
        .send()
        .await
        .expect("the emulator's API answers");
    assert!(resp.status().is_success(), "move: {}", resp.status());
    resp.json().await.expect("an event as JSON")
}

/// Every item of a full listing of `cal` with `token`, following pages (`strict`: asserting 200s).
pub(crate) async fn list_all(
    http: &reqwest::Client,
    emu: &Emulator,
    token: &str,
    cal: &str,
    strict: bool,
) -> Vec<Value> {
    let mut items = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let mut req = http
            .get(format!("{}/calendars/{cal}/events", emu.api_base_url()))
            .bearer_auth(token)
            .query(&[("maxResults", "2500")]);
        if let Some(p) = &page {
            req = req.query(&[("pageToken", p)]);
        }
        let resp = req.send().await.expect("the emulator's API answers");
        let status = resp.status();
        let body: Value = resp.json().await.expect("a listing as JSON");
        assert!(
            !strict || status.is_success(),
            "list {cal}: {status} {body}"
        );
        items.extend(body["items"].as_array().cloned().unwrap_or_default());
        match body["nextPageToken"].as_str() {
            Some(p) => page = Some(p.to_string()),
            None => return items,
        }
    }
}
