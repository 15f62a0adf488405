//! Parsing the X-Goog-* headers of a push notification; anything missing or malformed is a 400 naming the header.

use actix_web::http::header::HeaderMap;

/// `X-Goog-Resource-State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceState {
    /// Delivery starts (message 1); nothing changed.
    Sync,
    /// Something in the collection changed.
    Exists,
    /// The resource no longer exists.
    NotExists,
}

/// One push notification, as Google sends it (no body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub channel_id: String,
    pub message_number: i64,
    pub resource_id: String,
    pub resource_state: ResourceState,
    pub resource_uri: Option<String>,
    pub token: Option<String>,
}

/// What is wrong with the headers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("missing header {0}")]
    Missing(&'static str),
    #[error("malformed header {0}")]
    Malformed(&'static str),
}

const CHANNEL_ID: &str = "X-Goog-Channel-ID";
const MESSAGE_NUMBER: &str = "X-Goog-Message-Number";
const RESOURCE_ID: &str = "X-Goog-Resource-ID";
const RESOURCE_STATE: &str = "X-Goog-Resource-State";
const RESOURCE_URI: &str = "X-Goog-Resource-URI";
const CHANNEL_TOKEN: &str = "X-Goog-Channel-Token";

fn text<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>, HeaderError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| HeaderError::Malformed(name)),
    }
}

fn required<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
    max: usize,
) -> Result<&'a str, HeaderError> {
    let v = text(headers, name)?.ok_or(HeaderError::Missing(name))?;
    if v.is_empty() || v.len() > max {
        return Err(HeaderError::Malformed(name));
    }
    Ok(v)
}

impl Notification {
    /// Reads and validates the headers (names are case-insensitive).
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, HeaderError> {
        let channel_id = required(headers, CHANNEL_ID, 64)?.to_string();
        let message_number = required(headers, MESSAGE_NUMBER, 20)?
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or(HeaderError::Malformed(MESSAGE_NUMBER))?;
        let resource_id = required(headers, RESOURCE_ID, 512)?.to_string();
        let resource_state = match required(headers, RESOURCE_STATE, 32)? {
            "sync" => ResourceState::Sync,
            "exists" => ResourceState::Exists,
            "not_exists" => ResourceState::NotExists,
            _ => return Err(HeaderError::Malformed(RESOURCE_STATE)),
        };
        let resource_uri = text(headers, RESOURCE_URI)?.map(str::to_string);
        let token = match text(headers, CHANNEL_TOKEN)? {
            Some(t) if t.len() > 256 => return Err(HeaderError::Malformed(CHANNEL_TOKEN)),
            other => other.map(str::to_string),
        };
        Ok(Self {
            channel_id,
            message_number,
            resource_id,
            resource_state,
            resource_uri,
            token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    const OK: &[(&str, &str)] = &[
        ("x-goog-channel-id", "c1"),
        ("x-goog-message-number", "7"),
        ("x-goog-resource-id", "r1"),
        ("x-goog-resource-state", "exists"),
        (
            "x-goog-resource-uri",
            "https://www.googleapis.com/calendar/v3/calendars/primary/events",
        ),
        ("x-goog-channel-token", "v1.abc"),
        ("x-goog-channel-expiration", "Tue, 19 Nov 2013 01:13:52 GMT"),
    ];

    #[test]
    fn a_complete_notification_parses() {
        let n = Notification::from_headers(&headers(OK)).unwrap();
        assert_eq!(n.channel_id, "c1");
        assert_eq!(n.message_number, 7);
        assert_eq!(n.resource_state, ResourceState::Exists);
        assert_eq!(n.token.as_deref(), Some("v1.abc"));
    }

    #[test]
    fn each_required_header_is_named_when_missing_or_malformed() {
        for (name, canonical) in [
            ("x-goog-channel-id", CHANNEL_ID),
            ("x-goog-message-number", MESSAGE_NUMBER),
            ("x-goog-resource-id", RESOURCE_ID),
            ("x-goog-resource-state", RESOURCE_STATE),
        ] {
            let without: Vec<(&str, &str)> =
                OK.iter().copied().filter(|(k, _)| *k != name).collect();
            assert_eq!(
                Notification::from_headers(&headers(&without)),
                Err(HeaderError::Missing(canonical))
            );
        }
        let mut bad: Vec<(&str, &str)> = OK.to_vec();
        bad[1] = ("x-goog-message-number", "seven");
        assert_eq!(
            Notification::from_headers(&headers(&bad)),
            Err(HeaderError::Malformed(MESSAGE_NUMBER))
        );
        bad[1] = ("x-goog-message-number", "1");
        bad[3] = ("x-goog-resource-state", "add");
        assert_eq!(
            Notification::from_headers(&headers(&bad)),
            Err(HeaderError::Malformed(RESOURCE_STATE))
        );
        let long = "x".repeat(65);
        bad[3] = ("x-goog-resource-state", "sync");
        bad[0] = ("x-goog-channel-id", &long);
        assert_eq!(
            Notification::from_headers(&headers(&bad)),
            Err(HeaderError::Malformed(CHANNEL_ID))
        );
    }
}
