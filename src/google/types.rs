//! The request and response shapes calsync uses. A page's items stay JSON here: each is read into
//! an [`Event`](super::Event) by the sync, so one malformed item fails with its id, the page whole.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// `events.list` parameters.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub sync_token: Option<String>,
    pub page_token: Option<String>,
    pub max_results: Option<u32>,
    pub show_deleted: Option<bool>,
    pub single_events: Option<bool>,
    pub time_min: Option<DateTime<Utc>>,
    pub time_max: Option<DateTime<Utc>>,
}

impl ListParams {
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        let rfc = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        if let Some(v) = &self.sync_token {
            q.push(("syncToken", v.clone()));
        }
        if let Some(v) = &self.page_token {
            q.push(("pageToken", v.clone()));
        }
        if let Some(v) = self.max_results {
            q.push(("maxResults", v.to_string()));
        }
        if let Some(v) = self.show_deleted {
            q.push(("showDeleted", v.to_string()));
        }
        if let Some(v) = self.single_events {
            q.push(("singleEvents", v.to_string()));
        }
        // Google forbids these with a sync token.
        if self.sync_token.is_none() {
            if let Some(t) = &self.time_min {
                q.push(("timeMin", rfc(t)));
            }
            if let Some(t) = &self.time_max {
                q.push(("timeMax", rfc(t)));
            }
        }
        q
    }
}

/// One page of `events.list`.
#[derive(Debug, Clone, Deserialize)]
pub struct EventsPage {
    #[serde(default)]
    pub items: Vec<Value>,
    #[serde(default, rename = "nextPageToken")]
    pub next_page_token: Option<String>,
    #[serde(default, rename = "nextSyncToken")]
    pub next_sync_token: Option<String>,
    #[serde(default, rename = "timeZone")]
    pub time_zone: Option<String>,
    /// When the request Google answered with this page was sent (its last attempt): Google's view
    /// is at least that recent. Not Google's; set by the client.
    #[serde(skip)]
    pub requested_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl EventsPage {
    /// The items exactly as Google sent them.
    pub fn raw_items(&self) -> &[Value] {
        &self.items
    }
}

/// `events.watch` body.
#[derive(Debug, Clone, Serialize)]
pub struct WatchRequest {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub address: String,
    pub token: String,
    pub params: WatchParams,
}

#[derive(Debug, Clone, Serialize)]
pub struct WatchParams {
    /// Seconds, as a string (Google's shape).
    pub ttl: String,
}

impl WatchRequest {
    pub fn web_hook(id: &str, address: &str, token: &str, ttl: Duration) -> Self {
        Self {
            id: id.into(),
            kind: "web_hook".into(),
            address: address.into(),
            token: token.into(),
            params: WatchParams {
                ttl: ttl.as_secs().to_string(),
            },
        }
    }
}

/// `events.watch` answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Channel {
    pub id: String,
    #[serde(rename = "resourceId")]
    pub resource_id: String,
    #[serde(default, rename = "resourceUri")]
    pub resource_uri: Option<String>,
    /// Milliseconds since the epoch; Google sends a string, its guide a number: both accepted.
    #[serde(default, deserialize_with = "millis")]
    pub expiration: Option<i64>,
}

impl Channel {
    pub fn expiration_time(&self) -> Option<DateTime<Utc>> {
        self.expiration.and_then(DateTime::from_timestamp_millis)
    }
}

fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_expiration_as_string_or_number() {
        let a: Channel = serde_json::from_str(
            r#"{"kind":"api#channel","id":"c","resourceId":"r","expiration":"1426325213000"}"#,
        )
        .unwrap();
        let b: Channel =
            serde_json::from_str(r#"{"id":"c","resourceId":"r","expiration":1426325213000}"#)
                .unwrap();
        assert_eq!(a.expiration, b.expiration);
        assert_eq!(a.expiration_time().unwrap().timestamp(), 1_426_325_213);
    }

    #[test]
    fn time_bounds_are_never_sent_with_a_sync_token() {
        let p = ListParams {
            sync_token: Some("t".into()),
            time_min: Some(Utc::now()),
            ..Default::default()
        };
        assert!(p.query().iter().all(|(k, _)| *k != "timeMin"));
    }
}
