//! Google Calendar API client. TEMPORARY STUB written by the lead so the crate compiles while the real client is written: replace this whole file (keep the names the sync engine uses: GoogleClient::{from_settings, list_events, watch_events, stop_channel, insert_event, get_event, patch_event, delete_event}, ListParams, EventsPage{time_zone, next_page_token, next_sync_token, raw_items()}, WatchRequest::web_hook, Channel{resource_id, resource_uri, expiration_time()}, GoogleError::{is_permanent, short_reason, is_sync_token_invalid, is_invalid_grant, is_not_found, is_duplicate, is_gone, is_precondition_failed}) — or adapt src/sync, src/push, src/writer to your API.
use chrono::{DateTime, Utc};
#[derive(Debug, thiserror::Error)]
#[error("x")]
pub struct GoogleError;
impl GoogleError {
    pub fn is_permanent(&self) -> bool {
        false
    }
    pub fn short_reason(&self) -> String {
        String::new()
    }
    pub fn is_sync_token_invalid(&self) -> bool {
        false
    }
    pub fn is_invalid_grant(&self) -> bool {
        false
    }
}
#[derive(Default, Clone)]
pub struct ListParams {
    pub sync_token: Option<String>,
    pub page_token: Option<String>,
    pub max_results: Option<u32>,
    pub time_min: Option<DateTime<Utc>>,
    pub time_max: Option<DateTime<Utc>>,
}
pub struct EventsPage {
    pub time_zone: Option<String>,
    pub next_page_token: Option<String>,
    pub next_sync_token: Option<String>,
    items: Vec<serde_json::Value>,
}
impl EventsPage {
    pub fn raw_items(&self) -> &[serde_json::Value] {
        &self.items
    }
}
pub struct GoogleClient;
impl GoogleClient {
    pub async fn from_settings(_: &crate::config::GoogleSettings) -> Result<Self, GoogleError> {
        Ok(GoogleClient)
    }
    pub async fn list_events(&self, _: &str, _: &ListParams) -> Result<EventsPage, GoogleError> {
        Err(GoogleError)
    }
}
pub struct WatchRequest;
impl WatchRequest {
    pub fn web_hook(_: &str, _: &str, _: &str, _: std::time::Duration) -> Self {
        WatchRequest
    }
}
pub struct Channel {
    pub resource_id: String,
    pub resource_uri: Option<String>,
}
impl Channel {
    pub fn expiration_time(&self) -> Option<DateTime<Utc>> {
        None
    }
}
impl GoogleError {
    pub fn is_not_found(&self) -> bool {
        false
    }
}
impl GoogleClient {
    pub async fn watch_events(&self, _: &str, _: &WatchRequest) -> Result<Channel, GoogleError> {
        Err(GoogleError)
    }
    pub async fn stop_channel(&self, _: &str, _: &str) -> Result<(), GoogleError> {
        Err(GoogleError)
    }
}
impl GoogleError {
    pub fn is_duplicate(&self) -> bool {
        false
    }
    pub fn is_gone(&self) -> bool {
        false
    }
    pub fn is_precondition_failed(&self) -> bool {
        false
    }
}
impl GoogleClient {
    pub async fn insert_event(
        &self,
        _: &str,
        _: &serde_json::Value,
    ) -> Result<serde_json::Value, GoogleError> {
        Err(GoogleError)
    }
    pub async fn get_event(&self, _: &str, _: &str) -> Result<serde_json::Value, GoogleError> {
        Err(GoogleError)
    }
    pub async fn patch_event(
        &self,
        _: &str,
        _: &str,
        _: &serde_json::Value,
        _: Option<&str>,
    ) -> Result<serde_json::Value, GoogleError> {
        Err(GoogleError)
    }
    pub async fn delete_event(&self, _: &str, _: &str, _: Option<&str>) -> Result<(), GoogleError> {
        Err(GoogleError)
    }
}
