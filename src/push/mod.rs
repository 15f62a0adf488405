//! Push notifications: channel tokens, the X-Goog-* headers, the inbox that judges each push, the stored channels, their lifecycle and renewal.

pub mod cache;
pub mod headers;
pub mod inbox;
pub mod marker;
pub mod registry;
pub mod renewal;
pub mod token;
