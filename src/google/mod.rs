//! Google Calendar API client: credentials, typed requests, retries and quota.

mod auth;
mod client;
mod error;
mod event;
pub mod installed_flow;
mod ratelimit;
mod token_file;
mod types;

pub use auth::{CredentialVault, TokenProvider};

/// Parses a google-auth `expiry` field.
pub fn auth_expiry(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    auth::parse_expiry(s)
}
pub use client::GoogleClient;
pub use error::GoogleError;
pub use event::{Event, EventTime, ExtendedProperties, NotAnObject, Read, When};
pub use ratelimit::RateLimiter;
pub use types::{Channel, EventsPage, ListParams, WatchParams, WatchRequest};
