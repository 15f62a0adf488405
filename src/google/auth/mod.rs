//! Access tokens: a user's OAuth token in google-auth's file format (refreshed, written back atomically)
//! or a service account's JWT-bearer grant; refreshes are single-flight and never logged.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::error::GoogleError;
pub use super::token_file::CredentialVault;
use super::token_file::{TokenStore, read_json, text};
pub(crate) use super::token_file::{parse_expiry, write_atomically};
use crate::retry::{Attempt, RetryPolicy, retry};

mod revoke;
mod sources;

/// After the token endpoint refuses the credentials, callers get [`GoogleError::CredentialsOnHold`]
/// for this long instead of a new request each (a batch of writes costs one); an explicit sync or a
/// sync run lifts it. Short: the account's pause in the database holds it back across replicas.
pub const CREDENTIAL_HOLD: Duration = Duration::from_secs(10);

/// Refresh this long before the access token expires.
const EARLY: chrono::Duration = chrono::Duration::seconds(60);
const SCOPE: &str = "https://www.googleapis.com/auth/calendar";

#[derive(Clone)]
struct Cached {
    token: String,
    expires: DateTime<Utc>,
}

enum Source {
    /// google-auth's `authorized_user` JSON (plain or SOPS-encrypted); rewritten after each refresh.
    User {
        store: TokenStore,
        file: Map<String, Value>,
        client_id: String,
        client_secret: String,
        refresh_token: String,
    },
    /// Service-account key: a fresh signed assertion per token.
    ServiceAccount {
        email: String,
        key: jsonwebtoken::EncodingKey,
        key_id: Option<String>,
        subject: Option<String>,
    },
}

/// Hands out bearer tokens; one refresh at a time, shared by every caller.
pub struct TokenProvider {
    http: reqwest::Client,
    token_url: String,
    source: Mutex<Source>,
    cached: Mutex<Option<Cached>>,
    /// When the token endpoint last refused the credentials (invalid_grant or another refusal).
    refused_at: std::sync::Mutex<Option<std::time::Instant>>,
}

impl std::fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenProvider([redacted])")
    }
}

impl TokenProvider {
    /// Google's `tokeninfo` endpoint beside this provider's token endpoint.
    pub fn tokeninfo_url(&self) -> String {
        match self.token_url.strip_suffix("/token") {
            Some(base) => format!("{base}/tokeninfo"),
            None => "https://oauth2.googleapis.com/tokeninfo".into(),
        }
    }

    /// A valid access token, refreshing first when it is (nearly) expired.
    pub async fn token(&self) -> Result<String, GoogleError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && c.expires - EARLY > Utc::now()
        {
            return Ok(c.token.clone());
        }
        // Holding the lock makes concurrent callers wait for this one refresh, and see its refusal.
        if let Some(left) = self.hold_left() {
            return Err(GoogleError::CredentialsOnHold(left));
        }
        let mut attempt = self.refresh().await;
        // The stored credentials may have been replaced since this process read them (a new
        // consent through another replica, or `calsync auth login`): read them again once before
        // calling it a refusal.
        if matches!(attempt, Err(GoogleError::InvalidGrant)) && self.reread().await {
            attempt = self.refresh().await;
        }
        let fresh = match attempt {
            Ok(fresh) => fresh,
            Err(e) => {
                if matches!(e, GoogleError::InvalidGrant | GoogleError::Credentials(_)) {
                    *self.refused() = Some(std::time::Instant::now());
                }
                return Err(e);
            }
        };
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    fn refused(&self) -> std::sync::MutexGuard<'_, Option<std::time::Instant>> {
        self.refused_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What is left of the hold after a refusal, if one is running.
    fn hold_left(&self) -> Option<Duration> {
        let at = (*self.refused())?;
        CREDENTIAL_HOLD
            .checked_sub(at.elapsed())
            .filter(|d| !d.is_zero())
    }

    /// Lifts the hold alone: the next `token()` asks the token endpoint again.
    pub fn lift_hold(&self) {
        *self.refused() = None;
    }

    /// Lifts the hold (an explicit sync: the operator says the credentials work again) and, for a
    /// user token, re-reads its file: `calsync auth login` may have written a new refresh token.
    pub async fn resume(&self) {
        *self.refused() = None;
        // The source lock is released first: `token()` takes `cached`, then `source`.
        if self.reread().await {
            *self.cached.lock().await = None;
        }
    }

    /// Reads a user token's store again (its file, or a connected account's sealed row); true when
    /// it holds another refresh token, which is then used.
    async fn reread(&self) -> bool {
        let mut source = self.source.lock().await;
        let replaced = match &mut *source {
            Source::User {
                store,
                file,
                refresh_token,
                ..
            } => match store.read().await.map(|f| (text(&f, "refresh_token"), f)) {
                Ok((Some(token), fresh)) if token != *refresh_token => {
                    *refresh_token = token;
                    *file = fresh;
                    true
                }
                _ => false,
            },
            Source::ServiceAccount { .. } => false,
        };
        if replaced {
            tracing::info!("stored token read again: a new refresh token is in use");
        }
        replaced
    }

    /// Drops `rejected` (a 401 answered it) so the next `token()` refreshes — unless someone already did.
    pub async fn invalidate(&self, rejected: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token == rejected) {
            *cached = None;
        }
    }

    async fn refresh(&self) -> Result<Cached, GoogleError> {
        let mut source = self.source.lock().await;
        let form: Vec<(&str, String)> = match &*source {
            Source::User {
                client_id,
                client_secret,
                refresh_token,
                ..
            } => vec![
                ("grant_type", "refresh_token".into()),
                ("client_id", client_id.clone()),
                ("client_secret", client_secret.clone()),
                ("refresh_token", refresh_token.clone()),
            ],
            Source::ServiceAccount {
                email,
                key,
                key_id,
                subject,
            } => {
                let now = Utc::now().timestamp();
                let mut claims = serde_json::json!({
                    "iss": email, "scope": SCOPE, "aud": self.token_url, "iat": now, "exp": now + 3600,
                });
                if let Some(sub) = subject {
                    claims["sub"] = Value::from(sub.clone());
                }
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
                header.kid = key_id.clone();
                let assertion = jsonwebtoken::encode(&header, &claims, key).map_err(|_| {
                    GoogleError::Credentials("cannot sign the service-account assertion".into())
                })?;
                vec![
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
                    ),
                    ("assertion", assertion),
                ]
            }
        };
        let policy = RetryPolicy {
            max_elapsed: Duration::from_secs(60),
            max_attempts: 5,
            ..RetryPolicy::default()
        };
        let body: Value = retry(
            policy,
            || async {
                let resp = self
                    .http
                    .post(&self.token_url)
                    .form(&form)
                    .send()
                    .await
                    .map_err(|e| Attempt::Retry {
                        error: GoogleError::transport(&e),
                        after: None,
                    })?;
                let status = resp.status().as_u16();
                let bytes = resp.bytes().await.map_err(|_| Attempt::Retry {
                    error: GoogleError::Transient("token endpoint: body".into()),
                    after: None,
                })?;
                let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let error = json.get("error").and_then(Value::as_str).unwrap_or("");
                if (200..300).contains(&status) {
                    return Ok(json);
                }
                if error == "invalid_grant" {
                    return Err(Attempt::Fail(GoogleError::InvalidGrant));
                }
                if matches!(status, 408 | 429 | 500 | 503 | 504)
                    || matches!(
                        error,
                        "internal_failure" | "server_error" | "temporarily_unavailable"
                    )
                {
                    return Err(Attempt::Retry {
                        error: GoogleError::Transient(format!("token endpoint HTTP {status}")),
                        after: None,
                    });
                }
                Err(Attempt::Fail(GoogleError::Credentials(format!(
                    "token endpoint refused ({status} {error})"
                ))))
            },
            |attempt, delay| {
                tracing::info!(
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    "token refresh retry"
                )
            },
        )
        .await?;
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                GoogleError::InvalidResponse("token answer without access_token".into())
            })?
            .to_string();
        let lifetime = body
            .get("expires_in")
            .and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(3600);
        let expires = Utc::now() + chrono::Duration::seconds(lifetime);
        if let Source::User {
            store,
            file,
            refresh_token,
            ..
        } = &mut *source
        {
            file.insert("token".into(), Value::from(token.clone()));
            file.insert(
                "expiry".into(),
                Value::from(expires.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
            );
            if let Some(new) = body.get("refresh_token").and_then(Value::as_str) {
                *refresh_token = new.to_string();
                file.insert("refresh_token".into(), Value::from(new));
            }
            if let Err(e) = store.write(file).await {
                tracing::warn!(error.cause = %e, "refreshed token not written back to its store");
            }
        }
        tracing::debug!(expires_in_s = lifetime, "access token refreshed");
        Ok(Cached { token, expires })
    }
}
