//! The OAuth installed-app flow behind `calsync auth login`: PKCE (RFC 7636), a loopback redirect on
//! a free port or a pasted-back redirect URL, the code exchange, and the google-auth token file.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// The scopes calsync asks for: the calendar, plus who the user is (for `auth status`).
pub const SCOPES: &str = "https://www.googleapis.com/auth/calendar openid email";
const GOOGLE_AUTH_URI: &str = "https://accounts.google.com/o/oauth2/auth";
const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The OAuth client of `client_secret.json` (`installed` or `web`).
#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
    pub auth_uri: String,
    pub token_uri: String,
}

impl OAuthClient {
    /// Reads Google's client secret file; `token_url` (config) wins over the file's `token_uri`.
    pub fn from_file(path: &Path, token_url: Option<&str>) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the OAuth client file {}", path.display()))?;
        let v: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let c = v
            .get("installed")
            .or_else(|| v.get("web"))
            .ok_or_else(|| anyhow!("{}: no \"installed\" client", path.display()))?;
        let get = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
        Ok(Self {
            client_id: get("client_id")
                .ok_or_else(|| anyhow!("{}: no client_id", path.display()))?,
            client_secret: get("client_secret")
                .ok_or_else(|| anyhow!("{}: no client_secret", path.display()))?,
            auth_uri: get("auth_uri").unwrap_or_else(|| GOOGLE_AUTH_URI.into()),
            token_uri: token_url
                .map(str::to_string)
                .or_else(|| get("token_uri"))
                .unwrap_or_else(|| GOOGLE_TOKEN_URI.into()),
        })
    }
}

/// One login attempt: its PKCE verifier, `state` and redirect URI.
pub struct Attempt {
    pub verifier: String,
    pub state: String,
    pub redirect_uri: String,
}

const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

fn random_string(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| UNRESERVED[rng.random_range(0..UNRESERVED.len())] as char)
        .collect()
}

/// `BASE64URL(SHA256(verifier))` without padding (RFC 7636 §4.2).
pub fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl Attempt {
    pub fn new(redirect_uri: String) -> Self {
        Self {
            verifier: random_string(64),
            state: random_string(24),
            redirect_uri,
        }
    }

    /// The URL the user opens: offline access (a refresh token) and a consent prompt every time.
    pub fn authorization_url(&self, client: &OAuthClient) -> anyhow::Result<String> {
        let mut url = url::Url::parse(&client.auth_uri).context("auth_uri is not a URL")?;
        url.query_pairs_mut()
            .append_pair("client_id", &client.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", SCOPES)
            .append_pair("code_challenge", &challenge(&self.verifier))
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", &self.state)
            .append_pair("access_type", "offline")
            .append_pair("prompt", "consent");
        Ok(url.to_string())
    }

    /// The code from a redirect URL (or its path and query), after checking `state` and `error`.
    pub fn code_from_redirect(&self, redirect: &str) -> anyhow::Result<String> {
        let redirect = redirect.trim();
        let url = url::Url::parse(redirect)
            .or_else(|_| url::Url::parse("http://127.0.0.1").and_then(|b| b.join(redirect)))
            .context("not a redirect URL")?;
        let param = |k: &str| {
            url.query_pairs()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.into_owned())
        };
        if let Some(error) = param("error") {
            bail!("authorization refused by Google: {error}");
        }
        if param("state").as_deref() != Some(self.state.as_str()) {
            bail!("the redirect's state does not match this login (an old or forged URL)");
        }
        param("code").ok_or_else(|| anyhow!("the redirect URL carries no code"))
    }
}

/// Serves one request on the loopback listener: returns its request target (`/?code=…&state=…`).
/// Requests without a query (a browser's favicon) get a 404 and the wait goes on.
pub async fn receive_redirect(listener: &TcpListener) -> anyhow::Result<String> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let mut reader = BufReader::new(&mut stream);
        let mut line = String::new();
        let read = tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut line)).await;
        if !matches!(read, Ok(Ok(n)) if n > 0) {
            continue;
        }
        // Drain the headers so the browser sees a clean answer.
        let mut rest = [0u8; 4096];
        let _ = tokio::time::timeout(Duration::from_millis(50), reader.read(&mut rest)).await;
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let (status, body) = if target.contains('?') {
            (
                "200 OK",
                "calsync: authorization received. You can close this tab.",
            )
        } else {
            ("404 Not Found", "calsync: waiting for Google's redirect.")
        };
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
        if target.contains('?') {
            return Ok(target);
        }
    }
}

/// What the token endpoint granted.
#[derive(Debug)]
pub struct Granted {
    pub file: Map<String, Value>,
    pub account: Option<String>,
    pub scopes: Vec<String>,
    pub expiry: DateTime<Utc>,
}

/// Exchanges the code (with the PKCE verifier) and builds the google-auth token file.
pub async fn exchange(
    http: &reqwest::Client,
    client: &OAuthClient,
    attempt: &Attempt,
    code: &str,
) -> anyhow::Result<Granted> {
    let resp = http
        .post(&client.token_uri)
        .timeout(Duration::from_secs(30))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", &client.client_id),
            ("client_secret", &client.client_secret),
            ("redirect_uri", &attempt.redirect_uri),
            ("code_verifier", &attempt.verifier),
        ])
        .send()
        .await
        .context("token endpoint unreachable")?;
    let status = resp.status();
    let body: Value = resp
        .json()
        .await
        .context("token endpoint answered something that is not JSON")?;
    if !status.is_success() {
        let error = body.get("error").and_then(Value::as_str).unwrap_or("?");
        bail!("token endpoint refused the code ({status}: {error})");
    }
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let access = text("access_token").ok_or_else(|| anyhow!("no access_token in the answer"))?;
    let refresh = text("refresh_token").ok_or_else(|| {
        anyhow!("no refresh_token in the answer: revoke calsync's access in your Google account and log in again")
    })?;
    let lifetime = body
        .get("expires_in")
        .and_then(Value::as_i64)
        .unwrap_or(3600);
    let expiry = Utc::now() + chrono::Duration::seconds(lifetime);
    let scopes: Vec<String> = text("scope")
        .unwrap_or_else(|| SCOPES.into())
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let account = text("id_token").and_then(|t| id_token_email(&t));
    let mut file = json!({
        "token": access, "refresh_token": refresh, "token_uri": client.token_uri,
        "client_id": client.client_id, "client_secret": client.client_secret,
        "scopes": scopes, "expiry": expiry.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "universe_domain": "googleapis.com",
    });
    if let Some(a) = &account {
        file["account"] = json!(a);
    }
    let Value::Object(file) = file else {
        unreachable!("a JSON object literal")
    };
    Ok(Granted {
        file,
        account,
        scopes,
        expiry,
    })
}

/// The `email` claim of an id token received straight from the token endpoint over TLS
/// (OpenID Connect Core §3.1.3.7 lets such a client skip the signature check).
fn id_token_email(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims
        .get("email")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Writes the token file (mode 0600, atomically).
pub fn write_token_file(path: &Path, granted: &Granted) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    super::auth::write_atomically(path, &granted.file)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes the granted token as a SOPS file (`GOOGLE_CALENDAR_TOKEN_ENC_PATH`): for the recipients of
/// the file already there, else for `SOPS_AGE_RECIPIENTS` (comma-separated, as sops reads it).
pub fn write_sops_token_file(path: &Path, granted: &Granted) -> anyhow::Result<()> {
    use crate::secrets::sops::{self, Sealed};
    let sealed = if path.exists() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        sops::open(&text)
            .map(|(_, sealed)| sealed)
            .with_context(|| format!("{}", path.display()))?
    } else {
        let recipients: Vec<String> = std::env::var("SOPS_AGE_RECIPIENTS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect();
        if recipients.is_empty() {
            anyhow::bail!(
                "{} does not exist yet: set SOPS_AGE_RECIPIENTS (age1…, comma-separated) to create it",
                path.display()
            );
        }
        Sealed::for_recipients(&recipients)?
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let text = sealed.seal(&serde_json::Value::Object(granted.file.clone()))?;
    super::token_file::write_text_atomically(path, &text)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_is_rfc7636_appendix_b() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifier_is_long_and_unreserved() {
        let a = Attempt::new("http://127.0.0.1:1/".into());
        assert_eq!(a.verifier.len(), 64);
        assert!(a.verifier.bytes().all(|b| UNRESERVED.contains(&b)));
        assert_ne!(a.state, Attempt::new(String::new()).state);
    }

    #[test]
    fn redirects_are_checked() {
        let a = Attempt::new("http://127.0.0.1:1/".into());
        let ok = format!("http://127.0.0.1:1/?state={}&code=4/abc", a.state);
        assert_eq!(a.code_from_redirect(&ok).unwrap(), "4/abc");
        let path_only = format!("/?code=4/xyz&state={}", a.state);
        assert_eq!(a.code_from_redirect(&path_only).unwrap(), "4/xyz");
        assert!(
            a.code_from_redirect("http://127.0.0.1:1/?state=other&code=x")
                .is_err()
        );
        let denied = format!("http://127.0.0.1:1/?error=access_denied&state={}", a.state);
        let err = a.code_from_redirect(&denied).unwrap_err().to_string();
        assert!(err.contains("access_denied"), "{err}");
    }
}
