//! The run's Google side and config: emulator users with three calendars and an event each, a
//! token file per account, and the config file naming them all.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use futures_util::StreamExt;
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::*;

/// `accounts` emulator users (`u0000@scale.test`, …), each with `primary`, `team` and `lab`, one
/// event on each, and a token file per account.
pub(super) async fn make_users(
    http: &reqwest::Client,
    emu: &str,
    creds: &Path,
    accounts: usize,
) -> anyhow::Result<Vec<Cal>> {
    let token_url = format!("{emu}/token");
    let tokens = creds.join("accounts");
    std::fs::create_dir_all(&tokens)?;
    let made: Vec<anyhow::Result<Vec<Cal>>> = futures_util::stream::iter(0..accounts)
        .map(|i| {
            let (http, token_url, tokens) = (http.clone(), token_url.clone(), tokens.clone());
            async move {
                let email = format!("u{i:04}@scale.test");
                let user: Value = http
                    .post(format!("{emu}/emulator/users"))
                    .json(&json!({"email": email}))
                    .send()
                    .await?
                    .json()
                    .await?;
                let rt = user["refresh_token"]
                    .as_str()
                    .ok_or_else(|| anyhow!("no refresh token for {email}"))?;
                calsync_emulator::dev_credentials::write_token(
                    &tokens.join(format!("{}.json", account(i))),
                    &token_url,
                    rt,
                )?;
                let mut cals = Vec::new();
                for google_id in ["primary", "team", "lab"] {
                    let scoped = format!("{emu}/emulator/users/{email}/calendars");
                    if google_id != "primary" {
                        http.post(&scoped)
                            .json(&json!({"id": google_id, "timeZone": "Europe/Paris"}))
                            .send()
                            .await?
                            .error_for_status()?;
                    }
                    let ev: Value = http
                        .post(format!("{scoped}/{google_id}/events"))
                        .json(&json!({"summary": "scale", "start": {"dateTime": "2030-01-01T10:00:00Z"},
                                      "end": {"dateTime": "2030-01-01T11:00:00Z"}}))
                        .send()
                        .await?
                        .error_for_status()?
                        .json()
                        .await?;
                    cals.push(Cal {
                        key: format!("{}:{google_id}", account(i)),
                        email: email.clone(),
                        google_id: google_id.into(),
                        event: ev["id"].as_str().unwrap_or_default().to_string(),
                    });
                }
                Ok(cals)
            }
        })
        .buffered(16)
        .collect()
        .await;
    let mut all = Vec::with_capacity(accounts * 3);
    for m in made {
        all.extend(m?);
    }
    Ok(all)
}

pub(super) fn account(i: usize) -> String {
    format!("a{i:04}")
}

/// The config file of a run: the bench's config with `accounts:` (one token file each), the
/// calendars, the emulator as Google and the real quotas.
pub(super) fn write_config(
    base: &Path,
    dir: &Path,
    name: &str,
    cals: &[Cal],
    emu: &str,
    creds: &Path,
) -> anyhow::Result<PathBuf> {
    use serde_yaml_ng::Value as Y;
    let text =
        std::fs::read_to_string(base).with_context(|| format!("reading {}", base.display()))?;
    let mut root: Y = serde_yaml_ng::from_str(&text)?;
    let map = root
        .as_mapping_mut()
        .ok_or_else(|| anyhow!("the config is not a mapping"))?;
    let mut accounts = serde_yaml_ng::Mapping::new();
    let mut calendars = Vec::new();
    for c in cals {
        let acct = c.key.split(':').next().unwrap_or_default().to_string();
        let path = creds.join("accounts").join(format!("{acct}.json"));
        accounts.insert(
            Y::from(acct.clone()),
            serde_yaml_ng::to_value(json!({"token_path": path}))?,
        );
        calendars.push(serde_yaml_ng::to_value(json!({
            "id": c.google_id, "name": format!("{acct} {}", c.google_id),
            "casquette": "medecin", "account": acct,
        }))?);
    }
    map.insert(Y::from("accounts"), Y::Mapping(accounts));
    let set = |map: &mut serde_yaml_ng::Mapping, section: &str, key: &str, v: Y| {
        let s = map
            .entry(Y::from(section))
            .or_insert_with(|| Y::Mapping(Default::default()));
        if let Some(m) = s.as_mapping_mut() {
            m.insert(Y::from(key), v);
        }
    };
    set(map, "google_calendar", "calendars", Y::Sequence(calendars));
    set(map, "google_calendar", "enabled", Y::from(true));
    set(
        map,
        "google",
        "api_base_url",
        Y::from(format!("{emu}/calendar/v3")),
    );
    set(map, "google", "token_url", Y::from(format!("{emu}/token")));
    set(
        map,
        "google",
        "client_secret_path",
        Y::from(creds.join("client_secret.json").display().to_string()),
    );
    set(map, "google", "token_path", Y::Null);
    set(map, "google", "token_enc_path", Y::Null);
    set(map, "google", "service_account_key_path", Y::Null);
    // Google's own quotas: 600/min per user, 10,000/min per project.
    set(map, "google", "requests_per_minute", Y::from(600));
    set(
        map,
        "google",
        "project_requests_per_minute",
        Y::from(10_000),
    );
    set(map, "server", "workers_enabled", Y::from(true));
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, serde_yaml_ng::to_string(&root)?)?;
    Ok(path)
}

pub(super) async fn bench_pool(url: &str) -> anyhow::Result<PgPool> {
    let opts: PgConnectOptions = url.parse::<PgConnectOptions>()?.application_name(BENCH_APP);
    Ok(PgPoolOptions::new()
        .max_connections(8)
        .connect_with(opts)
        .await?)
}
