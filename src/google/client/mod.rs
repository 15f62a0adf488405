//! `GoogleClient`: every Calendar call calsync makes, with timeouts, gzip, the quota limiter,
//! retries with backoff (`Retry-After` honoured) and one token refresh on 401.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::auth::{CredentialVault, TokenProvider};
use super::error::GoogleError;
use super::ratelimit::RateLimiter;
use crate::config::GoogleSettings;
use crate::retry::{Attempt, RetryPolicy, retry};

mod calls;

/// The Calendar API client (cheap to share behind an `Arc`).
pub struct GoogleClient {
    http: reqwest::Client,
    base: String,
    auth: Arc<TokenProvider>,
    limiter: RateLimiter,
    /// The project's bucket, shared by every account's client.
    project: Option<Arc<RateLimiter>>,
    /// The account these credentials are (a metrics label).
    account: String,
    policy: RetryPolicy,
    metrics: Option<Arc<crate::metrics::Metrics>>,
    /// Cancelled at shutdown: a call waiting out its backoff (Google down) ends at once.
    shutdown: Option<tokio_util::sync::CancellationToken>,
}

/// Google's name of the API method behind a request, for metrics labels.
fn api_method(method: &Method, path: &str) -> &'static str {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["calendars", _, "events"]) => "events.list",
        ("POST", ["calendars", _, "events"]) => "events.insert",
        ("POST", ["calendars", _, "events", "watch"]) => "events.watch",
        ("GET", ["calendars", _, "events", _]) => "events.get",
        ("PATCH", ["calendars", _, "events", _]) => "events.patch",
        ("PUT", ["calendars", _, "events", _]) => "events.update",
        ("DELETE", ["calendars", _, "events", _]) => "events.delete",
        ("POST", ["channels", "stop"]) => "channels.stop",
        _ => "other",
    }
}

impl std::fmt::Debug for GoogleClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Path segment encoding for calendar and event ids (`@`, `#`, `/` and friends).
fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

impl GoogleClient {
    /// Builds the client and its credentials from the settings (service account first, else the user token).
    pub async fn from_settings(s: &GoogleSettings) -> Result<Self, GoogleError> {
        Self::build(s, None, Self::http_client(s)?).await
    }

    /// As [`from_settings`](Self::from_settings), on an HTTP client shared with other accounts.
    pub async fn from_settings_on(
        s: &GoogleSettings,
        http: reqwest::Client,
    ) -> Result<Self, GoogleError> {
        Self::build(s, None, http).await
    }

    /// Builds the client for a connected account, its credentials kept sealed in `vault`, on an
    /// HTTP client shared with other accounts.
    pub async fn for_account_on(
        s: &GoogleSettings,
        vault: Arc<dyn CredentialVault>,
        http: reqwest::Client,
    ) -> Result<Self, GoogleError> {
        Self::build(s, Some(vault), http).await
    }

    /// The HTTP client Google calls go through: timeouts, gzip, the user agent. One is enough for
    /// every account (its connection pool and TLS setup are shared; each account has its own
    /// credentials and quota bucket on top): building one per account costs memory and startup
    /// time that grow with the number of accounts.
    pub fn http_client(s: &GoogleSettings) -> Result<reqwest::Client, GoogleError> {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(s.request_timeout_secs.max(1)))
            .gzip(true)
            .user_agent(concat!("calsync/", env!("CARGO_PKG_VERSION"), " (gzip)"))
            .build()
            .map_err(|e| GoogleError::Credentials(format!("http client: {e}")))
    }

    async fn build(
        s: &GoogleSettings,
        vault: Option<Arc<dyn CredentialVault>>,
        http: reqwest::Client,
    ) -> Result<Self, GoogleError> {
        let auth = match (
            vault,
            &s.service_account_key_path,
            &s.token_enc_path,
            &s.token_path,
        ) {
            (Some(vault), ..) => {
                TokenProvider::user_stored(
                    http.clone(),
                    vault,
                    s.client_secret_path.as_deref(),
                    s.token_url.as_deref(),
                )
                .await?
            }
            (None, Some(key), _, _) => TokenProvider::service_account(
                http.clone(),
                key,
                s.impersonate_user.as_deref(),
                s.token_url.as_deref(),
            )?,
            (None, None, Some(enc), plain) => {
                tracing::info!(
                    plain_path_ignored = plain.is_some(),
                    "google token: the SOPS-encrypted file (GOOGLE_CALENDAR_TOKEN_ENC_PATH) is used, \
                     not GOOGLE_CALENDAR_TOKEN_PATH"
                );
                TokenProvider::user_sops(
                    http.clone(),
                    enc,
                    s.client_secret_path.as_deref(),
                    s.token_url.as_deref(),
                )?
            }
            (None, None, None, Some(token)) => TokenProvider::user(
                http.clone(),
                token,
                s.client_secret_path.as_deref(),
                s.token_url.as_deref(),
            )?,
            (None, None, None, None) => {
                return Err(GoogleError::Credentials(
                    "no Google credential configured".into(),
                ));
            }
        };
        let policy = RetryPolicy {
            max_elapsed: Duration::from_secs(s.max_retry_secs.max(1)),
            ..RetryPolicy::default()
        };
        Ok(Self::new(
            http,
            &s.api_base_url,
            auth,
            s.requests_per_minute,
            policy,
        ))
    }

    pub fn new(
        http: reqwest::Client,
        base: &str,
        auth: TokenProvider,
        per_minute: u32,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            auth: Arc::new(auth),
            limiter: RateLimiter::per_minute(per_minute),
            project: None,
            account: crate::config::DEFAULT_ACCOUNT.to_string(),
            policy,
            metrics: None,
            shutdown: None,
        }
    }

    /// Ends calls at `shutdown`, retry waits included (they fail as transient: the run or the
    /// outbox entry is taken up again by the next start), so SIGTERM is not held up by a Google
    /// that does not answer.
    pub fn with_shutdown(mut self, shutdown: tokio_util::sync::CancellationToken) -> Self {
        self.shutdown = Some(shutdown);
        self
    }

    /// Names the account these credentials are (the `account` label of the request metrics).
    pub fn with_account(mut self, account: &str) -> Self {
        self.account = account.to_string();
        self
    }

    /// Shares the project's quota bucket with the other accounts' clients.
    pub fn with_project_limiter(mut self, project: Arc<RateLimiter>) -> Self {
        self.project = Some(project);
        self
    }

    /// The account these credentials are.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Revokes the account's grant at Google (`calsync accounts remove --revoke`).
    pub async fn revoke(&self) -> Result<(), GoogleError> {
        self.auth.revoke().await
    }

    /// Lifts the credentials' hold after a refusal (an explicit sync): the next call asks the
    /// token endpoint again, with the token file re-read.
    pub async fn resume_credentials(&self) {
        self.auth.resume().await;
    }

    /// Lifts the hold after a refusal alone (see `Syncer::run`): the next call asks again.
    pub fn lift_hold(&self) {
        self.auth.lift_hold();
    }

    /// Counts every request (`calsync_google_requests_total{method,status}`) and times it.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn observe(&self, name: &'static str, status: &str, elapsed: Duration) {
        if let Some(m) = &self.metrics {
            m.counter(
                "calsync_google_requests_total",
                "Google API requests by account, method and HTTP status (error: no answer).",
                vec![
                    ("account", self.account.clone()),
                    ("method", name.into()),
                    ("status", status.into()),
                ],
            )
            .inc();
            m.histogram(
                "calsync_google_request_seconds",
                "Google API request latency.",
                vec![("method", name.into())],
            )
            .observe(elapsed);
        }
    }

    /// One API call, ended at shutdown (token requests and retry waits included): the answer, and
    /// when the request that got it was sent (its last attempt, after any retry wait).
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<(StatusCode, Vec<u8>, DateTime<Utc>), GoogleError> {
        let call = self.call_with_retries(method, path, query, body, if_match);
        match &self.shutdown {
            Some(shutdown) => tokio::select! {
                biased;
                () = shutdown.cancelled() => Err(GoogleError::Transient("shutting down".into())),
                r = call => r,
            },
            None => call.await,
        }
    }

    /// One API call: limiter, bearer token, retries; a 401 refreshes the token once.
    async fn call_with_retries(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<(StatusCode, Vec<u8>, DateTime<Utc>), GoogleError> {
        let url = format!("{}{}", self.base, path);
        let name = api_method(&method, path);
        let mut refreshed = false;
        let sent_at = std::sync::Mutex::new(Utc::now());
        loop {
            let token = self.auth.token().await?;
            let attempts = retry(
                self.policy,
                || async {
                    self.limiter.acquire().await;
                    if let Some(project) = &self.project {
                        project.acquire().await;
                    }
                    let mut req = self
                        .http
                        .request(method.clone(), &url)
                        .bearer_auth(&token)
                        .query(query);
                    if let Some(b) = body {
                        req = req.json(b);
                    }
                    if let Some(etag) = if_match {
                        req = req.header(reqwest::header::IF_MATCH, etag);
                    }
                    let started = std::time::Instant::now();
                    if let Ok(mut at) = sent_at.lock() {
                        *at = Utc::now();
                    }
                    let sent = req.send().await;
                    let status_label = match &sent {
                        Ok(r) => r.status().as_str().to_string(),
                        Err(_) => "error".to_string(),
                    };
                    self.observe(name, &status_label, started.elapsed());
                    let resp = sent.map_err(|e| Attempt::Retry {
                        error: GoogleError::transport(&e),
                        after: None,
                    })?;
                    let status = resp.status();
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let bytes = resp.bytes().await.map_err(|_| Attempt::Retry {
                        error: GoogleError::Transient("body read failed".into()),
                        after: None,
                    })?;
                    if status.is_success() {
                        let at = sent_at.lock().map(|t| *t).unwrap_or_else(|_| Utc::now());
                        return Ok((status, bytes.to_vec(), at));
                    }
                    let err = GoogleError::from_response(status.as_u16(), &bytes, retry_after);
                    if err.is_retryable() {
                        let after = err.retry_after();
                        Err(Attempt::Retry { error: err, after })
                    } else {
                        Err(Attempt::Fail(err))
                    }
                },
                |attempt, delay| {
                    tracing::debug!(
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "google call retry"
                    )
                },
            )
            .await;
            match attempts {
                Err(GoogleError::Unauthorized) if !refreshed => {
                    refreshed = true;
                    self.auth.invalidate(&token).await;
                }
                other => return other,
            }
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<T, GoogleError> {
        Ok(self.json_at(method, path, query, body, if_match).await?.0)
    }

    /// [`Self::json`], with when the answered request was sent.
    async fn json_at<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<(T, DateTime<Utc>), GoogleError> {
        let (_, bytes, at) = self.call(method, path, query, body, if_match).await?;
        let value =
            serde_json::from_slice(&bytes).map_err(|e| GoogleError::invalid_json(path, &e))?;
        Ok((value, at))
    }

    /// For `auth status`: the token file's path is never printed with secrets.
    pub fn describe_credentials(path: &Path) -> String {
        path.display().to_string()
    }
}
