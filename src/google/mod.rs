//! Google Calendar API client: credentials, typed requests, retries and quota.

mod auth;
mod client;
mod error;
mod ratelimit;
mod types;

pub use auth::TokenProvider;
pub use client::GoogleClient;
pub use error::GoogleError;
pub use ratelimit::RateLimiter;
pub use types::{Channel, EventsPage, ListParams, WatchParams, WatchRequest};
