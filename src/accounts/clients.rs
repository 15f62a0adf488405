//! The Google client of every account, found by calendar key: each account has its own
//! credentials and its own quota bucket (Google's per-user limit), and all share the project's
//! bucket (Google's per-project limit). Clients are built once per account, on one shared HTTP
//! client; an account connected at run time is built on first use.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::config::{AccountSource, Settings};
use crate::db::calendars::{self, CalendarRef};
use crate::google::{GoogleClient, GoogleError, RateLimiter};
use crate::metrics::Metrics;

/// Every account's Google client (cheap to share behind an `Arc`).
pub struct GoogleAccounts {
    pool: PgPool,
    settings: Arc<Settings>,
    metrics: Option<Arc<Metrics>>,
    shutdown: Option<CancellationToken>,
    project: Arc<RateLimiter>,
    /// One HTTP client (connection pool, TLS setup) for every account's calls.
    http: reqwest::Client,
    clients: RwLock<HashMap<String, Arc<GoogleClient>>>,
    /// Calendar key → its account and Google id: a key never changes what it names, so entries
    /// are kept (a calendar removed and added again gets the same one).
    calendars: RwLock<HashMap<String, CalendarRef>>,
    /// One build at a time, so concurrent first uses of an account open its credentials once.
    building: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for GoogleAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleAccounts").finish_non_exhaustive()
    }
}

impl GoogleAccounts {
    /// The clients of every account the config names, built now, so credentials that cannot be
    /// opened stop startup; accounts connected later are built on first use.
    pub async fn build(
        settings: Arc<Settings>,
        pool: PgPool,
        metrics: Option<Arc<Metrics>>,
        shutdown: Option<CancellationToken>,
    ) -> Result<Arc<Self>, GoogleError> {
        let project = Arc::new(RateLimiter::per_minute(
            settings.google.project_requests_per_minute,
        ));
        let http = GoogleClient::http_client(&settings.google)?;
        let accounts = Arc::new(Self {
            pool,
            settings: settings.clone(),
            metrics,
            shutdown,
            project,
            http,
            clients: RwLock::new(HashMap::new()),
            calendars: RwLock::new(HashMap::new()),
            building: tokio::sync::Mutex::new(()),
        });
        for name in settings.configured_accounts() {
            accounts.client(&name).await?;
        }
        Ok(accounts)
    }

    /// `account`'s client, built if this process has not used the account yet.
    pub async fn client(&self, account: &str) -> Result<Arc<GoogleClient>, GoogleError> {
        if let Some(c) = self.cached(account) {
            return Ok(c);
        }
        let _one = self.building.lock().await;
        if let Some(c) = self.cached(account) {
            return Ok(c);
        }
        let client = Arc::new(self.open(account).await?);
        if let Ok(mut map) = self.clients.write() {
            map.insert(account.to_string(), client.clone());
        }
        Ok(client)
    }

    fn cached(&self, account: &str) -> Option<Arc<GoogleClient>> {
        self.clients.read().ok()?.get(account).cloned()
    }

    async fn open(&self, account: &str) -> Result<GoogleClient, GoogleError> {
        let client = match self.settings.account_source(account) {
            AccountSource::Files(g) => {
                GoogleClient::from_settings_on(&g, self.http.clone()).await?
            }
            AccountSource::Stored => {
                let keys = self.settings.secrets.keys().map_err(|e| {
                    GoogleError::Credentials(format!("account {account}: {}", e.message))
                })?;
                let vault = super::StoredCredentials::new(self.pool.clone(), account, keys);
                GoogleClient::for_account_on(&self.settings.google, vault, self.http.clone())
                    .await?
            }
        };
        let mut client = client
            .with_account(account)
            .with_project_limiter(self.project.clone());
        if let Some(m) = &self.metrics {
            client = client.with_metrics(m.clone());
        }
        if let Some(s) = &self.shutdown {
            client = client.with_shutdown(s.clone());
        }
        Ok(client)
    }

    /// The client and the Google calendar behind a calendar key.
    pub async fn for_calendar(
        &self,
        key: &str,
    ) -> Result<(Arc<GoogleClient>, CalendarRef), GoogleError> {
        let cal = self.calendar(key).await?;
        Ok((self.client(&cal.account).await?, cal))
    }

    /// Which account and Google calendar `key` is.
    pub async fn calendar(&self, key: &str) -> Result<CalendarRef, GoogleError> {
        if let Some(c) = self.calendars.read().ok().and_then(|m| m.get(key).cloned()) {
            return Ok(c);
        }
        let found = calendars::find(&self.pool, key)
            .await
            .map_err(|e| GoogleError::Transient(format!("calendar lookup: {e}")))?
            .ok_or_else(|| GoogleError::Credentials(format!("calendar {key} is not stored")))?;
        if let Ok(mut map) = self.calendars.write() {
            map.insert(key.to_string(), found.clone());
        }
        Ok(found)
    }

    /// Forgets `account`'s client (its credentials were replaced or removed): the next use opens
    /// them again.
    pub fn forget(&self, account: &str) {
        if let Ok(mut map) = self.clients.write() {
            map.remove(account);
        }
    }

    /// Lifts the credentials' hold of `account` (an explicit sync), if its client is built.
    pub async fn resume_credentials(&self, account: &str) {
        if let Some(c) = self.cached(account) {
            c.resume_credentials().await;
        }
    }

    /// The accounts whose clients are built in this process.
    pub fn built(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .clients
            .read()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }
}
