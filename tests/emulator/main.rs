//! The Google Calendar emulator against Google's documented behaviour, over real HTTP.

mod push;
mod rules;

use calsync::emulator::{Emulator, EmulatorConfig, dev_credentials};
use serde_json::{Value, json};

/// An emulator with a `primary` calendar and a bearer token.
pub struct Emu {
    pub emu: Emulator,
    pub http: reqwest::Client,
    pub token: String,
}

impl Emu {
    pub async fn start() -> Self {
        Self::start_with(EmulatorConfig::default()).await
    }

    pub async fn start_with(config: EmulatorConfig) -> Self {
        let emu = Emulator::start(config).await.unwrap();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap();
        http.post(format!("{}/emulator/calendars", emu.base_url()))
            .json(&json!({"id": "primary", "timeZone": "Europe/Paris"}))
            .send()
            .await
            .unwrap();
        let token = Self::fetch_token(&http, &emu).await;
        Self { emu, http, token }
    }

    pub async fn fetch_token(http: &reqwest::Client, emu: &Emulator) -> String {
        let t: Value = http
            .post(emu.token_url())
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", dev_credentials::CLIENT_ID),
                ("client_secret", dev_credentials::CLIENT_SECRET),
                ("refresh_token", dev_credentials::REFRESH_TOKEN),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        t["access_token"].as_str().unwrap().to_string()
    }

    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.emu.api_base_url(), path))
            .bearer_auth(&self.token)
    }

    pub async fn call(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        self.http
            .post(format!("{}/emulator{path}", self.emu.base_url()))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or(Value::Null)
    }

    pub async fn insert(&self, body: Value) -> Value {
        let (status, v) = self
            .call(
                self.api(reqwest::Method::POST, "/calendars/primary/events")
                    .json(&body),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        v
    }
}

pub fn timed(summary: &str, hour: u32) -> Value {
    json!({"summary": summary, "start": {"dateTime": format!("2030-01-01T{hour:02}:00:00Z")},
           "end": {"dateTime": format!("2030-01-01T{hour:02}:30:00Z")}})
}
