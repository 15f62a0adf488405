//! Accounts and calendars at run time: `GET/POST/DELETE /admin/accounts[/{name}]` (admin tokens)
//! and `GET/POST/DELETE /admin/calendars[/{id}]` (an account-scoped token manages its own account's
//! calendars); no restart, and no YAML edit, needed.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::AppState;
use super::auth::{AccountQuery, Admin};
use crate::accounts::manage::{EventsChoice, ManageError};
use crate::db::calendars;
use crate::error::ApiError;

impl From<ManageError> for ApiError {
    fn from(e: ManageError) -> Self {
        match e {
            ManageError::Refused(why) => ApiError::BadRequest(why),
            ManageError::UnknownAccount(name) => ApiError::NotFound(format!("account {name:?}")),
            ManageError::Database(db) => db.into(),
            ManageError::Google(g) => ApiError::Unavailable(anyhow::anyhow!("google: {g}")),
        }
    }
}

/// `GET /admin/accounts`: every account, where its credentials are, its calendars and its pause.
pub async fn list_accounts(
    caller: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let connected = crate::db::accounts::list(&state.pool).await?;
    let paused = crate::db::account_state::paused(&state.pool).await?;
    let settings = &state.settings;
    let mut names: std::collections::BTreeMap<String, i64> = settings
        .configured_accounts()
        .into_iter()
        .map(|n| {
            let configured = settings.calendars_of(&n);
            (n, i64::try_from(configured).unwrap_or(i64::MAX))
        })
        .collect();
    for (name, added) in calendars::accounts(&state.pool).await? {
        *names.entry(name).or_default() += added;
    }
    let items: Vec<Value> = names
        .into_iter()
        .map(|(name, active)| {
            let source = match state.settings.account_source(&name) {
                crate::config::AccountSource::Files(_) => "config",
                crate::config::AccountSource::Stored
                    if connected.iter().any(|r| r.name == name) =>
                {
                    "connected"
                }
                crate::config::AccountSource::Stored => "missing",
            };
            let pause = paused.iter().find(|p| p.account == name);
            json!({"name": name, "source": source, "calendars": active,
                   "paused": pause.map(|p| json!({"reason": p.reason, "since": p.since}))})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"accounts": items})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub name: String,
    /// A google-auth token document: its `refresh_token` (and `scopes`, `account`) are kept; the
    /// OAuth client and the token endpoint are always the configured ones, so a document cannot
    /// send the refresh token, or the client secret, anywhere else.
    pub token: Map<String, Value>,
}

/// `POST /admin/accounts`: connects an account from a token document obtained elsewhere (a team's
/// provisioning); the browser way is `GET /connect/google`.
pub async fn connect_account(
    caller: Admin,
    state: web::Data<AppState>,
    body: web::Json<NewAccount>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let NewAccount { name, token } = body.into_inner();
    let client = state.oauth_client().map_err(ApiError::Conflict)?;
    let mut document = Map::new();
    for key in ["refresh_token", "scopes", "account"] {
        if let Some(v) = token.get(key) {
            document.insert(key.into(), v.clone());
        }
    }
    document.insert("client_id".into(), Value::from(client.client_id));
    document.insert("client_secret".into(), Value::from(client.client_secret));
    document.insert("token_uri".into(), Value::from(client.token_uri));
    state.manager().connect(&name, &document).await?;
    Ok(HttpResponse::Created().json(json!({"name": name, "source": "connected"})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveQuery {
    #[serde(default)]
    pub revoke: bool,
    pub events: Option<EventsChoice>,
}

/// `DELETE /admin/accounts/{name}?revoke=true&events=keep|delete`.
pub async fn remove_account(
    caller: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<RemoveQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let events = q.events.unwrap_or(EventsChoice::Keep);
    let removed = state
        .manager()
        .remove_account(&path, q.revoke, events)
        .await?;
    Ok(HttpResponse::Ok().json(removed))
}

/// `GET /admin/calendars?account=`.
pub async fn list_calendars(
    caller: Admin,
    state: web::Data<AppState>,
    q: web::Query<AccountQuery>,
) -> Result<HttpResponse, ApiError> {
    let rows = calendars::list_active(&state.pool, caller.scope(q.account.as_deref())?).await?;
    Ok(HttpResponse::Ok().json(json!({"calendars": rows})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCalendar {
    pub account: String,
    /// The Google calendar id (`primary`, `…@group.calendar.google.com`).
    pub id: String,
    pub name: Option<String>,
    pub casquette: String,
    pub color: Option<String>,
}

/// `POST /admin/calendars`: syncs one more calendar of an account, at once.
pub async fn add_calendar(
    caller: Admin,
    state: web::Data<AppState>,
    body: web::Json<NewCalendar>,
) -> Result<HttpResponse, ApiError> {
    let c = body.into_inner();
    let account = caller
        .scope(Some(&c.account))?
        .unwrap_or(c.account.as_str());
    super::input::text("id", &c.id)?;
    let name = c.name.clone().unwrap_or_else(|| c.id.clone());
    super::input::text("name", &name)?;
    let row = state
        .manager()
        .add_calendar(account, &c.id, &name, &c.casquette, c.color.as_deref())
        .await?;
    Ok(HttpResponse::Created().json(row))
}

/// `DELETE /admin/calendars/{key}`: stops syncing it (its channels stopped, its events kept).
pub async fn remove_calendar(
    caller: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller
        .may_see_calendar(&state.pool, &path, "calendar")
        .await?;
    let (was_active, stopped) = state.manager().remove_calendar(&path).await?;
    if !was_active {
        return Err(ApiError::NotFound("calendar".into()));
    }
    Ok(HttpResponse::Ok().json(json!({"removed": path.as_str(), "channels_stopped": stopped})))
}
