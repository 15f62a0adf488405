//! Push notifications: channel tokens, the X-Goog-* headers, the stored channels, their lifecycle and renewal.

pub mod cache;
pub mod headers;
pub mod marker;
pub mod registry;
pub mod renewal;
pub mod token;
