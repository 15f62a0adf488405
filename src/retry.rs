//! Retry policy: exponential backoff with full jitter; the only user of the `backoff` crate.
