//! The Google Calendar emulator against Google's documented behaviour, over real HTTP.

mod push;
mod resources;
mod rules;
mod samples;
mod user_auth;
mod user_limits;
mod users;
mod validation;
mod watch_flags;

pub use calsync_testkit::Emu;
use serde_json::{Value, json};

pub fn timed(summary: &str, hour: u32) -> Value {
    json!({"summary": summary, "start": {"dateTime": format!("2030-01-01T{hour:02}:00:00Z")},
           "end": {"dateTime": format!("2030-01-01T{hour:02}:30:00Z")}})
}
