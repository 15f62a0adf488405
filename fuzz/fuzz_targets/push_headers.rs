//! Push-notification headers → `calsync::push::headers::Notification::from_headers`.
//!
//! Input: a header block, one `name:value` per line (`\r\n` or `\n`). A one-byte
//! name picks one of the X-Goog-* headers (`0`..`6`, i.e. (byte - b'0') % 7), so the fuzzer reaches every
//! header without guessing names; longer names go through `HeaderName::from_bytes`
//! (case-insensitive, as on the wire). Names or values that `http` rejects are
//! skipped, as actix would never hand them to the handler. Headers are appended,
//! so repeated headers are exercised too.
#![no_main]

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use calsync::push::headers::Notification;
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 7] = [
    "x-goog-channel-id",
    "x-goog-channel-token",
    "x-goog-resource-id",
    "x-goog-resource-state",
    "x-goog-message-number",
    "x-goog-resource-uri",
    "x-goog-channel-expiration",
];

fn header_map(data: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let name = match name {
            [b] => HeaderName::from_static(NAMES[b.wrapping_sub(b'0') as usize % NAMES.len()]),
            _ => match HeaderName::from_bytes(name) {
                Ok(n) => n,
                Err(_) => continue,
            },
        };
        let Ok(value) = HeaderValue::from_bytes(value) else {
            continue;
        };
        map.append(name, value);
    }
    map
}

fuzz_target!(|data: &[u8]| {
    let map = header_map(data);
    let first = Notification::from_headers(&map);
    // Pure function: same map, same answer.
    assert_eq!(first, Notification::from_headers(&map));
    if let Ok(n) = first {
        // The limits documented in src/push/headers.rs hold for whatever is accepted.
        assert!(!n.channel_id.is_empty() && n.channel_id.len() <= 64);
        assert_eq!(n.channel_id, n.channel_id.trim());
        assert!(n.message_number >= 1);
        assert!(!n.resource_id.is_empty() && n.resource_id.len() <= 512);
        assert!(n.token.as_ref().is_none_or(|t| t.len() <= 256));
    }
});
