//! `calsync auth login` (installed-app flow, loopback or paste-back) and `calsync auth status`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow};
use chrono::Utc;
use serde_json::Value;

use super::Failure;
use crate::cli::AuthCommand;
use crate::config::{ConfigError, Settings};
use crate::google::installed_flow::{self, Attempt, OAuthClient};

pub async fn run(settings: Settings, command: &AuthCommand) -> Result<(), Failure> {
    match command {
        AuthCommand::Login {
            port,
            timeout,
            account,
        } => login(&settings, *port, *timeout, account.as_deref()).await,
        AuthCommand::Status { offline } => status(&settings, *offline).await,
    }
}

fn paths(settings: &Settings) -> Result<(PathBuf, PathBuf), ConfigError> {
    let g = &settings.google;
    let secret = g.client_secret_path.clone().ok_or_else(|| {
        ConfigError::new("google.client_secret_path", "is required for `auth login`")
    })?;
    let token = g
        .token_path
        .clone()
        .ok_or_else(|| ConfigError::new("google.token_path", "is required for `auth`"))?;
    Ok((secret, token))
}

fn http() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .context("HTTP client")
}

/// Reads one line from stdin on a plain thread (a blocked read never holds up the exit).
fn pasted_line() -> tokio::sync::oneshot::Receiver<String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        if std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Where a login's token goes.
enum Destination {
    File(PathBuf),
    Sops(PathBuf),
    Account(std::sync::Arc<crate::accounts::StoredCredentials>, String),
}

/// Checked before the browser opens: a login that cannot be stored must not consume a consent.
async fn destination(settings: &Settings, account: Option<&str>) -> Result<Destination, Failure> {
    let Some(name) = account else {
        let (_, token_path) = paths(settings)?;
        return Ok(match &settings.google.token_enc_path {
            Some(enc) => Destination::Sops(enc.clone()),
            None => Destination::File(token_path),
        });
    };
    if !crate::accounts::valid_name(name) {
        return Err(ConfigError::new(
            "--account",
            format!(
                "{name:?} is not an account name ({})",
                crate::accounts::NAME_RULE
            ),
        )
        .into());
    }
    let keys = settings.secrets.keys()?;
    let key_id = keys.current_id().to_string();
    let pool = super::accounts::database(settings).await?;
    Ok(Destination::Account(
        crate::accounts::StoredCredentials::new(pool, name, keys),
        key_id,
    ))
}

async fn login(
    settings: &Settings,
    port: u16,
    timeout: u64,
    account: Option<&str>,
) -> Result<(), Failure> {
    let secret_path = settings.google.client_secret_path.clone().ok_or_else(|| {
        ConfigError::new("google.client_secret_path", "is required for `auth login`")
    })?;
    let destination = destination(settings, account).await?;
    let client = OAuthClient::from_file(&secret_path, settings.google.token_url.as_deref())?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let port = listener.local_addr().context("loopback address")?.port();
    let attempt = Attempt::new(format!("http://127.0.0.1:{port}/"));
    let url = attempt.authorization_url(&client)?;
    println!("Open this URL in a browser and allow calsync to manage your calendars:\n\n  {url}\n");
    println!("Waiting for Google's redirect to http://127.0.0.1:{port}/ ...");
    println!(
        "Headless server? Open the URL on any machine. When its browser fails to load the \
         http://127.0.0.1:{port}/... page, copy that page's full address and paste it here:"
    );
    let pasted = pasted_line();
    let redirect = tokio::select! {
        r = installed_flow::receive_redirect(&listener) => r.context("loopback redirect")?,
        Ok(line) = pasted => line,
        _ = tokio::time::sleep(Duration::from_secs(timeout)) => {
            return Err(anyhow!("no redirect within {timeout} s; run `calsync auth login` again").into());
        }
    };
    let code = attempt.code_from_redirect(&redirect)?;
    let granted = installed_flow::exchange(&http()?, &client, &attempt, &code).await?;
    let stored = match destination {
        Destination::Sops(enc) => {
            installed_flow::write_sops_token_file(&enc, &granted)?;
            format!("Token written to {} (SOPS, mode 0600).", enc.display())
        }
        Destination::File(path) => {
            installed_flow::write_token_file(&path, &granted)?;
            format!("Token written to {} (mode 0600).", path.display())
        }
        Destination::Account(vault, key_id) => {
            vault
                .connect(&granted.file)
                .await
                .context("cannot store the account's credentials")?;
            let name = crate::google::CredentialVault::account(vault.as_ref()).to_string();
            format!(
                "Account {name} connected: its token is stored in PostgreSQL, sealed under key                  {key_id}. Calendars name it with `account: {name}`."
            )
        }
    };
    println!(
        "\nLogged in as {}. Scopes: {}. Access token valid until {} (refreshed automatically).",
        granted
            .account
            .as_deref()
            .unwrap_or("(identity not shared)"),
        granted.scopes.join(" "),
        granted.expiry.format("%Y-%m-%d %H:%M:%S UTC"),
    );
    println!("{stored}");
    Ok(())
}

fn mode_of(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

fn human(d: chrono::Duration) -> String {
    let s = d.num_seconds().abs();
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

async fn status(settings: &Settings, offline: bool) -> Result<(), Failure> {
    if let Some(key) = &settings.google.service_account_key_path {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(key)
                .with_context(|| format!("cannot read {}", key.display()))?,
        )
        .with_context(|| format!("{} is not JSON", key.display()))?;
        println!("credentials:   service account key {}", key.display());
        println!(
            "identity:      {}",
            v.get("client_email").and_then(Value::as_str).unwrap_or("?")
        );
        if let Some(user) = &settings.google.impersonate_user {
            println!("acting as:     {user} (domain-wide delegation)");
        }
        return Ok(());
    }
    let (_, plain_path) = paths(settings)?;
    let token_path = settings.google.token_enc_path.clone().unwrap_or(plain_path);
    let text = std::fs::read_to_string(&token_path).map_err(|e| {
        anyhow!(
            "no token file at {} ({e}): run `calsync auth login`",
            token_path.display()
        )
    })?;
    let file: Value = if settings.google.token_enc_path.is_some() {
        println!("encryption:    SOPS (age), decrypted in memory");
        crate::secrets::sops::open(&text)
            .map(|(plain, _)| plain)
            .with_context(|| format!("{}", token_path.display()))?
    } else {
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", token_path.display()))?
    };
    let get = |k: &str| {
        file.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let mode = mode_of(&token_path);
    println!(
        "token file:    {}{}",
        token_path.display(),
        match mode {
            Some(0o600) => " (mode 0600)".to_string(),
            Some(m) => format!(" (mode {m:o}: should be 0600, run chmod 600)"),
            None => String::new(),
        }
    );
    println!("account:       {}", get("account").unwrap_or("(unknown)"));
    println!(
        "client id:     {}",
        get("client_id").unwrap_or("(from the client secret file)")
    );
    let scopes: Vec<&str> = file
        .get("scopes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    println!("scopes:        {}", scopes.join(" "));
    let expiry = get("expiry").and_then(crate::google::auth_expiry);
    println!(
        "access token:  {}",
        match expiry {
            Some(t) if t > Utc::now() => format!(
                "valid until {} (in {})",
                t.format("%Y-%m-%d %H:%M:%S UTC"),
                human(t - Utc::now())
            ),
            Some(t) => format!(
                "expired {} ago (refreshed on next use)",
                human(Utc::now() - t)
            ),
            None => "none yet (fetched on first use)".into(),
        }
    );
    println!(
        "refresh token: {}",
        if get("refresh_token").is_some() {
            "present"
        } else {
            "MISSING: run `calsync auth login`"
        }
    );
    if offline {
        return Ok(());
    }
    live_check(settings, &token_path).await
}

/// Refreshes when needed and asks Google's `tokeninfo` what the access token grants.
async fn live_check(settings: &Settings, token_path: &Path) -> Result<(), Failure> {
    let http = http()?;
    let provider = crate::google::TokenProvider::user(
        http.clone(),
        token_path,
        settings.google.client_secret_path.as_deref(),
        settings.google.token_url.as_deref(),
    )
    .map_err(|e| anyhow!("{e}"))?;
    let info_url = provider.tokeninfo_url();
    let mut info = Value::Null;
    // A token revoked or expired early at Google: drop it, refresh once, ask again.
    for attempt in 0..2 {
        let token = provider.token().await.map_err(|e| {
            anyhow!("Google refused the credentials: {e}; run `calsync auth login`")
        })?;
        let resp = http
            .get(&info_url)
            .query(&[("access_token", token.as_str())])
            .send()
            .await
            .context("tokeninfo unreachable")?;
        let ok = resp.status().is_success();
        info = resp.json().await.context("tokeninfo answered non-JSON")?;
        if ok {
            break;
        }
        if attempt == 1 {
            return Err(anyhow!("Google does not accept the access token ({info})").into());
        }
        provider.invalidate(&token).await;
    }
    let field = |k: &str| {
        info.get(k)
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    println!(
        "Google says:   account {}, scopes {}, access token expires in {} s",
        info.get("email")
            .and_then(Value::as_str)
            .unwrap_or("(not shared)"),
        field("scope"),
        field("expires_in"),
    );
    Ok(())
}
