//! Opening a watch channel (`events.watch`, `calendarList.watch`) with Google's checks on the body:
//! id of 1 to 64 characters and unique, `web_hook`, an address, a token of at most 256 characters,
//! `params.ttl` and `expiration` (the more restrictive wins, and never more than 7 days).

use actix_web::HttpResponse;
use chrono::Utc;
use serde_json::{Value, json};

use super::errors;
use super::state::{ChannelState, State, new_event_id};

/// Lifetime of a channel that asks for none: Google's documented default, 7 days.
const DEFAULT_TTL_SECS: i64 = 604_800;
/// The longest lifetime granted, whatever `params.ttl` asks: Google documents no maximum, and the
/// community reports channels living 7 days at most (../shared/google/PROTOCOL.md), so a client that
/// asks for 30 days gets 7 and must keep the `expiration` of the answer.
pub const MAX_TTL_SECS: i64 = 604_800;

fn millis(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(|s| s.parse::<i64>().ok())
        .or_else(|| v.as_i64())
}

/// Registers `user`'s channel on `calendar_id` (empty for the calendar list) and returns Google's answer.
pub fn open(
    state: &mut State,
    b: &Value,
    user: &str,
    calendar_id: &str,
    resource_uri: String,
    silent: bool,
) -> Result<Value, HttpResponse> {
    let id = b
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if id.is_empty() || id.len() > 64 {
        return Err(errors::bad_request(
            "Channel id must be 1 to 64 characters.",
        ));
    }
    if !matches!(
        b.get("type").and_then(Value::as_str),
        Some("web_hook" | "webhook")
    ) {
        return Err(errors::bad_request("Channel type must be web_hook."));
    }
    let Some(address) = b
        .get("address")
        .and_then(Value::as_str)
        .filter(|a| a.starts_with("http"))
    else {
        return Err(errors::bad_request(
            "WebHook callback must be an http(s) URL.",
        ));
    };
    let token = b.get("token").and_then(Value::as_str).map(str::to_string);
    if token.as_ref().is_some_and(|t| t.len() > 256) {
        return Err(errors::bad_request(
            "Channel token must be at most 256 characters.",
        ));
    }
    if state.channels.contains_key(&id) {
        return Err(errors::google_error(
            400,
            "push",
            "channelIdNotUnique",
            "Channel id not unique",
        ));
    }
    let now = Utc::now().timestamp_millis();
    let ttl_ms = b
        .pointer("/params/ttl")
        .and_then(millis)
        .unwrap_or(DEFAULT_TTL_SECS)
        .clamp(1, MAX_TTL_SECS)
        * 1000;
    let asked = b.get("expiration").and_then(millis);
    let expiration = asked.map_or(now + ttl_ms, |e| e.min(now + ttl_ms));
    let resource_id = new_event_id(&mut state.rng);
    let channel = ChannelState {
        id: id.clone(),
        user: user.to_string(),
        resource_id: resource_id.clone(),
        calendar_id: calendar_id.to_string(),
        address: address.to_string(),
        token: token.clone(),
        resource_uri: resource_uri.clone(),
        silent,
        expiration,
        message_number: 0,
    };
    state.channels.insert(id.clone(), channel);
    let mut out = json!({
        "kind": "api#channel", "id": id, "resourceId": resource_id,
        "resourceUri": resource_uri, "expiration": expiration.to_string(),
    });
    if let Some(t) = token {
        out["token"] = json!(t);
    }
    Ok(out)
}
