//! Local writes through calsync's own API (`/api/v1/events`), each with a token scoped to the event's
//! account and the calendar's key: sent to the seed's processes in turn, skipping a replica that refuses
//! connections (killed, or restarting), again on a 5xx while PostgreSQL restarts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uuid::Uuid;

use crate::model::{Fields, google_body};
use crate::process::ADMIN_SECRET;
use crate::world::{ACCOUNTS, Cal};

/// How long one call may keep meeting refused connections or 5xx answers.
const CALL_BOUND: Duration = Duration::from_secs(30);

pub struct Api {
    http: reqwest::Client,
    ports: Vec<u16>,
    /// One token per account (index into `ACCOUNTS`), scoped to it.
    tokens: Vec<String>,
    next: AtomicUsize,
}

impl Api {
    pub fn new(ports: &[u16]) -> Self {
        let tokens = ACCOUNTS
            .iter()
            .map(|a| {
                calsync::admin_auth::mint_scoped(
                    ADMIN_SECRET,
                    "convergence",
                    Duration::from_secs(3600),
                    Some(a.name),
                )
                .expect("an account-scoped admin token")
            })
            .collect();
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("http client"),
            ports: ports.to_vec(),
            tokens,
            next: AtomicUsize::new(0),
        }
    }

    /// One call as the account of `cal`; its status and JSON body.
    async fn call(
        &self,
        cal: &Cal,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let start = Instant::now();
        loop {
            let port = self.ports[self.next.fetch_add(1, Ordering::Relaxed) % self.ports.len()];
            let mut req = self
                .http
                .request(method.clone(), format!("http://127.0.0.1:{port}{path}"))
                .bearer_auth(&self.tokens[cal.account]);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let why = match req.send().await {
                Ok(resp) if resp.status().is_server_error() => format!("{}", resp.status()),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let text = resp.text().await.unwrap_or_default();
                    return Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)));
                }
                // Never reached the server: safe to send again.
                Err(e) if e.is_connect() => e.to_string(),
                Err(e) => return Err(format!("{method} {path}: {e}")),
            };
            if start.elapsed() > CALL_BOUND {
                return Err(format!("{method} {path}: {why} for {CALL_BOUND:?}"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `POST /api/v1/events` on the calendar's key; the new row's id.
    pub async fn create(&self, cal: &Cal, f: &Fields) -> Result<Uuid, String> {
        let mut body = google_body(f);
        body["calendar_id"] = json!(cal.key);
        let (status, created) = self
            .call(cal, reqwest::Method::POST, "/api/v1/events", Some(body))
            .await?;
        if status != 201 {
            return Err(format!("API insert: {status} {created}"));
        }
        created["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("API insert answered without an id: {created}"))
    }

    /// `PATCH /api/v1/events/{id}` with the whole triple.
    pub async fn patch(&self, cal: &Cal, id: Uuid, f: &Fields) -> Result<(), String> {
        let path = format!("/api/v1/events/{id}");
        let (status, body) = self
            .call(cal, reqwest::Method::PATCH, &path, Some(google_body(f)))
            .await?;
        match status {
            200 => Ok(()),
            _ => Err(format!("API patch: {status} {body}")),
        }
    }

    /// `DELETE /api/v1/events/{id}`.
    pub async fn delete(&self, cal: &Cal, id: Uuid) -> Result<(), String> {
        let path = format!("/api/v1/events/{id}");
        let (status, body) = self.call(cal, reqwest::Method::DELETE, &path, None).await?;
        match status {
            204 => Ok(()),
            _ => Err(format!("API delete: {status} {body}")),
        }
    }
}
