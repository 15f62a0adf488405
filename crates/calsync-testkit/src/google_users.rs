//! Several Google accounts in one test's emulated Google: add a user (and get its refresh token), revoke
//! or restore its tokens, read its requests, write a token file for it, and drive its calendars through
//! a [`GoogleUser`] handle (the emulator's `/emulator/users/{email}/...` routes and the user's own token).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use calsync::emulator::dev_credentials;
use serde_json::{Value, json};

use crate::google::{Google, access_token_for, list_all, move_event};

/// `email` as one path segment (`@` and `+` kept, as Google's own URLs keep them).
fn segment(email: &str) -> String {
    email
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' | b'+' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Google {
    /// A handle on the user `email` (see [`GoogleUser`]); the user must exist ([`Google::add_user`],
    /// a consent with `login_hint`, a service account's `sub`), except for `list_all` and `move_event`.
    pub fn user(&self, email: &str) -> GoogleUser<'_> {
        GoogleUser {
            google: self,
            email: email.to_string(),
            access_token: Mutex::new(None),
        }
    }

    /// Adds the user `email` (with its `primary`) if absent; a new refresh token of the dev client for it.
    pub async fn add_user(&self, email: &str) -> String {
        let r = self
            .control("POST", "/emulator/users", json!({"email": email}))
            .await;
        r["refresh_token"]
            .as_str()
            .expect("the emulator issues a refresh token")
            .to_string()
    }

    /// Revokes `email`'s refresh tokens (the token endpoint answers `invalid_grant`, its access tokens
    /// issued from them 401), as that user removing the app's access.
    pub async fn revoke_user(&self, email: &str) {
        let path = format!("/emulator/users/{}/refresh-tokens/revoke", segment(email));
        self.control("POST", &path, json!({})).await;
    }

    /// Gives `email`'s revoked refresh tokens back (the user consented again).
    pub async fn restore_user(&self, email: &str) {
        let path = format!("/emulator/users/{}/refresh-tokens/restore", segment(email));
        self.control("POST", &path, json!({})).await;
    }

    /// The request log's entries made for `email` (its tokens' API calls, token grants, consents).
    pub async fn requests_of(&self, email: &str) -> Vec<Value> {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("user", email)
            .finish();
        let log = self
            .control("GET", &format!("/emulator/requests?{query}"), Value::Null)
            .await;
        log["requests"].as_array().cloned().unwrap_or_default()
    }

    /// Writes a google-auth `authorized_user` token file for `email` (a new refresh token of the dev
    /// client, the user added if absent) into `dir`, named after the user; its path.
    pub async fn token_file_for(&self, email: &str, dir: &Path) -> PathBuf {
        let refresh = self.add_user(email).await;
        std::fs::create_dir_all(dir).expect("a directory for the token file");
        let name: String = email
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let path = dir.join(format!("token-{name}.json"));
        dev_credentials::write_token(&path, &self.emu.token_url(), &refresh)
            .expect("the user's token file");
        path
    }
}

/// One user of the emulated Google. Inserts, patches, deletes, bulk seeds and faults go through
/// `/emulator/users/{email}/...` (the user acting in Google's UI: pushes fire); `list_all` and
/// `move_event` call Google's API with an access token of the user's own (fetched on first use, from
/// a refresh token [`Google::add_user`] issues; after [`Google::revoke_user`] take a new handle).
pub struct GoogleUser<'a> {
    google: &'a Google,
    pub email: String,
    access_token: Mutex<Option<String>>,
}

impl GoogleUser<'_> {
    fn path(&self, rest: &str) -> String {
        format!("/emulator/users/{}{rest}", segment(&self.email))
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.access_token.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An access token for this user (fetched once, again after [`GoogleUser::expire_tokens`]).
    pub async fn access_token(&self) -> String {
        if let Some(t) = self.cached().clone() {
            return t;
        }
        let refresh = self.google.add_user(&self.email).await;
        let token = access_token_for(&self.google.http, &self.google.emu, &refresh).await;
        *self.cached() = Some(token.clone());
        token
    }

    /// Creates a calendar of this user (or updates it), e.g. `{"id": "team", "timeZone": "Europe/Paris"}`.
    pub async fn add_calendar(&self, body: Value) -> Value {
        self.google
            .control("POST", &self.path("/calendars"), body)
            .await
    }

    /// The user creates an event in `cal` (Google's UI: Google-generated ids accepted, pushes fire).
    pub async fn insert(&self, cal: &str, body: Value) -> Value {
        let path = self.path(&format!("/calendars/{cal}/events"));
        self.google.control("POST", &path, body).await
    }

    /// The user edits an event (PATCH semantics, pushes fire).
    pub async fn patch(&self, cal: &str, id: &str, body: Value) -> Value {
        let path = self.path(&format!("/calendars/{cal}/events/{id}"));
        self.google.control("PATCH", &path, body).await
    }

    /// The user deletes an event (pushes fire).
    pub async fn delete(&self, cal: &str, id: &str) {
        let path = self.path(&format!("/calendars/{cal}/events/{id}"));
        self.google.control("DELETE", &path, Value::Null).await;
    }

    /// One event as it is now (cancelled ones included), without a token.
    pub async fn get(&self, cal: &str, id: &str) -> Value {
        let path = self.path(&format!("/calendars/{cal}/events/{id}"));
        self.google.control("GET", &path, Value::Null).await
    }

    /// Every item of a full listing of `cal` with the user's token, following pages (asserting 200s).
    pub async fn list_all(&self, cal: &str) -> Vec<Value> {
        let token = self.access_token().await;
        list_all(&self.google.http, &self.google.emu, &token, cal, true).await
    }

    /// events.move with the user's token: the event leaves `cal` for `destination`.
    pub async fn move_event(&self, cal: &str, id: &str, destination: &str) -> Value {
        let token = self.access_token().await;
        move_event(
            &self.google.http,
            &self.google.emu,
            &token,
            cal,
            id,
            destination,
        )
        .await
    }

    /// Seeds `n` generated events at once in the user's `cal`.
    pub async fn bulk_seed(&self, cal: &str, n: usize) {
        let path = self.path(&format!("/calendars/{cal}/bulk"));
        self.google
            .control("POST", &path, json!({"count": n}))
            .await;
    }

    /// Faults for this user's requests only (the same body as [`Google::set_faults`]; `{}` clears).
    pub async fn set_faults(&self, faults: Value) {
        self.google
            .control("POST", &self.path("/faults"), faults)
            .await;
    }

    /// Expires the user's access tokens (their next API call answers 401; the handle fetches a new one).
    pub async fn expire_tokens(&self) {
        self.google
            .control("POST", &self.path("/tokens/expire"), json!({}))
            .await;
        *self.cached() = None;
    }
}
