//! Google accounts: each user (an e-mail) has its own calendars (its `primary`, aliased by its address),
//! its calendar list with its watch channels, and its own faults; who a request acts for ([`Caller`]
//! on the API, [`Owner`] on the control API).

use std::collections::HashMap;
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::faults::Faults;
use super::state::{Calendar, State, UserData};
use super::{Shared, credentials, errors};

/// An e-mail as the emulator keys users: trimmed and lowercase (Google's addresses ignore case).
pub fn normalize(email: &str) -> String {
    email.trim().to_lowercase()
}

/// `%XX` escapes decoded (actix leaves `%2B`, `%2F` and `%25` encoded in path segments).
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `email` can name a user (something@something).
pub fn valid_email(email: &str) -> bool {
    email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.contains(char::is_whitespace)
        && !email.contains('/')
}

/// Google's stable numeric account id (`sub`) of `email`: the documented one for the default user,
/// a hash-derived 21-digit id for the others.
pub fn sub_of(email: &str) -> String {
    if email == credentials::USER_EMAIL {
        return super::credentials::USER_SUB.to_string();
    }
    let digest = Sha256::digest(email.as_bytes());
    let mut n = [0u8; 8];
    n.copy_from_slice(&digest[..8]);
    format!("1{:020}", u64::from_be_bytes(n))
}

impl State {
    /// The user `email` (normalized), created with its `primary` calendar when absent.
    pub fn ensure_user(&mut self, email: &str) -> &mut UserData {
        let key = normalize(email);
        let seed = self.seed
            ^ u64::from_be_bytes({
                let d = Sha256::digest(key.as_bytes());
                let mut b = [0u8; 8];
                b.copy_from_slice(&d[..8]);
                b
            });
        let zone = self.primary_time_zone.clone();
        self.users.entry(key.clone()).or_insert_with(|| {
            let mut user = UserData {
                email: key.clone(),
                calendars: HashMap::new(),
                list_channels: Vec::new(),
                list_etag: 1,
                faults: Faults::default(),
                rng: StdRng::seed_from_u64(seed),
            };
            user.upsert_calendar("primary", Some(&key), Some(&zone));
            user
        })
    }

    pub fn user(&self, email: &str) -> Option<&UserData> {
        self.users.get(email)
    }

    pub fn user_mut(&mut self, email: &str) -> Option<&mut UserData> {
        self.users.get_mut(email)
    }

    /// A calendar of `user` by id; the user's own address is an alias of `primary`, as at Google.
    pub fn resolve(&self, user: &str, id: &str) -> Option<String> {
        let u = self.users.get(user)?;
        if u.calendars.contains_key(id) {
            return Some(id.to_string());
        }
        if normalize(id) == u.email && u.calendars.contains_key("primary") {
            return Some("primary".to_string());
        }
        None
    }

    /// A calendar of `user` by its exact id (no alias).
    pub fn cal(&self, user: &str, id: &str) -> Option<&Calendar> {
        self.users.get(user)?.calendars.get(id)
    }

    pub fn cal_mut(&mut self, user: &str, id: &str) -> Option<&mut Calendar> {
        self.users.get_mut(user)?.calendars.get_mut(id)
    }

    /// Stores `event` as the current version in `user`'s `cal` and logs the change; returns the change seq.
    pub fn commit(&mut self, user: &str, cal: &str, event: Value) -> u64 {
        let seq = self.next_seq();
        let Some(id) = event.get("id").and_then(Value::as_str).map(str::to_string) else {
            return seq;
        };
        if let Some(c) = self.cal_mut(user, cal) {
            if !c.events.contains_key(&id) {
                c.order.insert(seq, id.clone());
            }
            if let Some(old) = c.last_change.insert(id.clone(), seq) {
                c.changes.remove(&old);
            }
            c.changes.insert(seq, id.clone());
            c.events.insert(id, event);
        }
        seq
    }
}

/// The address `organizer` shows for `user`'s calendar `cal` (`primary`'s is the user's address).
pub fn calendar_address(user: &str, cal: &str) -> String {
    if cal == "primary" {
        user.to_string()
    } else {
        cal.to_string()
    }
}

impl UserData {
    /// Creates a calendar, or updates the summary and zone of an existing one; true when created.
    pub fn upsert_calendar(
        &mut self,
        id: &str,
        summary: Option<&str>,
        time_zone: Option<&str>,
    ) -> bool {
        if let Some(c) = self.calendars.get_mut(id) {
            if let Some(s) = summary {
                c.summary = s.to_string();
            }
            if let Some(z) = time_zone {
                c.time_zone = z.to_string();
            }
            c.etag += 1;
            return false;
        }
        self.list_etag += 1;
        let (summary, time_zone) = (summary.unwrap_or(id), time_zone.unwrap_or("UTC"));
        self.calendars.insert(
            id.to_string(),
            Calendar {
                id: id.to_string(),
                summary: summary.to_string(),
                time_zone: time_zone.to_string(),
                etag: 1,
                ..Calendar::default()
            },
        );
        true
    }
}

/// The user an API request acts for: its access token's (set by the gate, see gate.rs).
#[derive(Debug, Clone)]
pub struct Caller(pub String);

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.extensions().get::<Caller>().cloned().ok_or_else(|| {
            actix_web::error::InternalError::from_response("no caller", errors::unauthorized())
                .into()
        }))
    }
}

/// The user a control route acts for: `{email}` under `/emulator/users/{email}/...` (404 when unknown),
/// the default user on the unscoped routes.
#[derive(Debug, Clone)]
pub struct Owner {
    pub email: String,
    /// Named in the path (`/emulator/users/{email}/...`), not the unscoped default.
    pub scoped: bool,
}

pub fn unknown_user() -> HttpResponse {
    HttpResponse::NotFound().json(json!({"error": "unknown user"}))
}

impl FromRequest for Owner {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(raw) = req.match_info().get("email") else {
            return ready(Ok(Owner {
                email: credentials::USER_EMAIL.to_string(),
                scoped: false,
            }));
        };
        let email = normalize(&percent_decoded(raw));
        let known = req
            .app_data::<web::Data<Shared>>()
            .is_some_and(|s| s.lock().users.contains_key(&email));
        ready(if known {
            Ok(Owner {
                email,
                scoped: true,
            })
        } else {
            Err(
                actix_web::error::InternalError::from_response("unknown user", unknown_user())
                    .into(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subs_are_stable_and_21_digits() {
        let a = sub_of("alice@example.org");
        assert_eq!(a, sub_of("alice@example.org"));
        assert_eq!(a.len(), 21);
        assert_ne!(a, sub_of("bob@example.org"));
        assert_eq!(
            sub_of(credentials::USER_EMAIL),
            super::super::credentials::USER_SUB
        );
    }

    #[test]
    fn escaped_path_segments_are_decoded() {
        assert_eq!(
            percent_decoded("eve%2Bx%40example.org"),
            "eve+x@example.org"
        );
        assert_eq!(percent_decoded("a%2"), "a%2");
        assert_eq!(percent_decoded("100%"), "100%");
    }

    #[test]
    fn emails_need_an_at() {
        assert!(valid_email("a@b"));
        assert!(!valid_email("ab"));
        assert!(!valid_email("@b"));
        assert!(!valid_email("a@"));
        assert!(!valid_email("a b@c"));
    }
}
