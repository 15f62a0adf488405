//! A bare emulator for tests of the emulator itself: a `primary` calendar, a bearer token, raw API calls.

use calsync::emulator::{Emulator, EmulatorConfig};
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
        let emu = Emulator::start(config).await.expect("emulator starts");
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .expect("http client");
        http.post(format!("{}/emulator/calendars", emu.base_url()))
            .json(&json!({"id": "primary", "timeZone": "Europe/Paris"}))
            .send()
            .await
            .expect("the emulator creates the primary calendar");
        let token = Self::fetch_token(&http, &emu).await;
        Self { emu, http, token }
    }

    /// A fresh access token by the dev credentials' refresh grant.
    pub async fn fetch_token(http: &reqwest::Client, emu: &Emulator) -> String {
        crate::google::access_token(http, emu).await
    }

    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.emu.api_base_url(), path))
            .bearer_auth(&self.token)
    }

    /// Sends `req`; its status and JSON body (`null` when the body is not JSON).
    pub async fn call(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.send().await.expect("the emulator answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("a response body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// POSTs to the control API (`/emulator{path}`); its JSON answer, or `null`.
    pub async fn control(&self, path: &str, body: Value) -> Value {
        self.http
            .post(format!("{}/emulator{path}", self.emu.base_url()))
            .json(&body)
            .send()
            .await
            .expect("the emulator's control API answers")
            .json()
            .await
            .unwrap_or(Value::Null)
    }

    /// events.insert on `primary`, asserting a 200.
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
