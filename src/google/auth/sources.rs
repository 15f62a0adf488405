//! Building a [`TokenProvider`] from each credential source: a google-auth token file (plain or
//! SOPS-encrypted), a connected account's sealed document, or a service-account key.

use super::*;

impl TokenProvider {
    /// A user token file (`GOOGLE_CALENDAR_TOKEN_PATH`) with its client secret file (`GOOGLE_CLIENT_SECRET_PATH`).
    pub fn user(
        http: reqwest::Client,
        token_path: &Path,
        client_secret_path: Option<&Path>,
        token_url: Option<&str>,
    ) -> Result<Self, GoogleError> {
        let (store, file) = TokenStore::open_plain(token_path)?;
        Self::user_from(http, store, file, client_secret_path, token_url)
    }

    /// A SOPS-encrypted user token file (`GOOGLE_CALENDAR_TOKEN_ENC_PATH`, age keys from sops's own
    /// variables), written back encrypted for the same recipients after each refresh.
    pub fn user_sops(
        http: reqwest::Client,
        enc_path: &Path,
        client_secret_path: Option<&Path>,
        token_url: Option<&str>,
    ) -> Result<Self, GoogleError> {
        let (store, file) = TokenStore::open_sops(enc_path)?;
        Self::user_from(http, store, file, client_secret_path, token_url)
    }

    /// A connected account: its token document kept sealed in PostgreSQL (`vault`), the OAuth client
    /// from the shared client secret file; a new refresh token Google returns is sealed back.
    pub async fn user_stored(
        http: reqwest::Client,
        vault: Arc<dyn CredentialVault>,
        client_secret_path: Option<&Path>,
        token_url: Option<&str>,
    ) -> Result<Self, GoogleError> {
        let (store, file) = TokenStore::open_vault(vault).await?;
        Self::user_from(http, store, file, client_secret_path, token_url)
    }

    fn user_from(
        http: reqwest::Client,
        store: TokenStore,
        file: Map<String, Value>,
        client_secret_path: Option<&Path>,
        token_url: Option<&str>,
    ) -> Result<Self, GoogleError> {
        let token_path = store.path().to_path_buf();
        let secret = match client_secret_path {
            Some(p) if p.exists() => {
                let m = read_json(p)?;
                m.get("installed")
                    .or_else(|| m.get("web"))
                    .and_then(Value::as_object)
                    .cloned()
            }
            _ => None,
        };
        let pick =
            |key: &str| text(&file, key).or_else(|| secret.as_ref().and_then(|s| text(s, key)));
        let missing =
            |k: &str| GoogleError::Credentials(format!("{}: no {k}", token_path.display()));
        let client_id = pick("client_id").ok_or_else(|| missing("client_id"))?;
        let client_secret = pick("client_secret").ok_or_else(|| missing("client_secret"))?;
        let refresh_token = text(&file, "refresh_token").ok_or_else(|| missing("refresh_token"))?;
        let token_url = token_url
            .map(str::to_string)
            .or_else(|| pick("token_uri"))
            .unwrap_or_else(|| "https://oauth2.googleapis.com/token".into());
        let cached = match (
            text(&file, "token"),
            text(&file, "expiry").as_deref().and_then(parse_expiry),
        ) {
            (Some(token), Some(expires)) => Some(Cached { token, expires }),
            _ => None,
        };
        Ok(Self {
            http,
            token_url,
            source: Mutex::new(Source::User {
                store,
                file,
                client_id,
                client_secret,
                refresh_token,
            }),
            cached: Mutex::new(cached),
            refused_at: std::sync::Mutex::default(),
        })
    }

    /// A service-account key file, optionally impersonating `subject` (domain-wide delegation).
    pub fn service_account(
        http: reqwest::Client,
        key_path: &Path,
        subject: Option<&str>,
        token_url: Option<&str>,
    ) -> Result<Self, GoogleError> {
        let m = read_json(key_path)?;
        let bad = |k: &str| GoogleError::Credentials(format!("{}: no {k}", key_path.display()));
        let email = text(&m, "client_email").ok_or_else(|| bad("client_email"))?;
        let pem = text(&m, "private_key").ok_or_else(|| bad("private_key"))?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| {
            GoogleError::Credentials(format!(
                "{}: private_key is not an RSA PEM key",
                key_path.display()
            ))
        })?;
        let token_url = token_url
            .map(str::to_string)
            .or_else(|| text(&m, "token_uri"))
            .unwrap_or_else(|| "https://oauth2.googleapis.com/token".into());
        Ok(Self {
            http,
            token_url,
            source: Mutex::new(Source::ServiceAccount {
                email,
                key,
                key_id: text(&m, "private_key_id"),
                subject: subject.map(str::to_string),
            }),
            cached: Mutex::new(None),
            refused_at: std::sync::Mutex::default(),
        })
    }
}
