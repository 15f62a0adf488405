//! Push notifications: channel tokens, the X-Goog-* headers, the stored channels, their lifecycle and renewal.

pub mod channels;
pub mod headers;
pub mod registry;
pub mod renewal;
pub mod token;
