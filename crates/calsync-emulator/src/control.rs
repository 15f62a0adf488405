//! The control API under `/emulator/...`: add users, seed calendars and events, act as a user in Google's
//! UI (the default user, or `{email}` under `/emulator/users/{email}/...`), read the request log and
//! counts, and inject faults. No auth: bind it to loopback.

use actix_web::{HttpResponse, web};
use chrono::{Duration, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::faults::Faults;
use super::state::{CALENDAR_SCOPE, ServiceAccount};
use super::users::{Owner, normalize, valid_email};
use super::{Shared, events};

/// `{cal}` of a calendar route (a struct: under `/emulator/users/{email}` the path also has `email`).
#[derive(Deserialize)]
pub struct CalPath {
    pub cal: String,
}

/// `{cal}/events/{id}` of an event route.
#[derive(Deserialize)]
pub struct EventPath {
    pub cal: String,
    pub id: String,
}

fn unknown_calendar() -> HttpResponse {
    HttpResponse::NotFound().json(json!({"error": "unknown calendar"}))
}

#[derive(Deserialize)]
pub struct NewCalendar {
    pub id: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default, rename = "timeZone")]
    pub time_zone: Option<String>,
    /// `events.watch` on it answers 400 `pushNotSupportedForRequestedResource`.
    #[serde(default, rename = "pushNotSupported")]
    pub push_not_supported: Option<bool>,
    /// Its channels are created but never delivered to.
    #[serde(default, rename = "silentChannels")]
    pub silent_channels: Option<bool>,
}

pub async fn reset(s: web::Data<Shared>) -> HttpResponse {
    s.lock().reset();
    HttpResponse::Ok().json(json!({"reset": true}))
}

/// Creates a calendar, or updates an existing one (`primary` exists from the start): a success either way.
pub async fn add_calendar(
    s: web::Data<Shared>,
    owner: Owner,
    body: web::Json<NewCalendar>,
) -> HttpResponse {
    let b = body.into_inner();
    if b.id.is_empty() {
        return HttpResponse::BadRequest().json(json!({"error": "id is required"}));
    }
    let mut state = s.lock();
    let Some(user) = state.user_mut(&owner.email) else {
        return super::users::unknown_user();
    };
    let created = user.upsert_calendar(&b.id, b.summary.as_deref(), b.time_zone.as_deref());
    if let Some(c) = user.calendars.get_mut(&b.id) {
        if let Some(flag) = b.push_not_supported {
            c.push_not_supported = flag;
        }
        if let Some(flag) = b.silent_channels {
            c.silent_channels = flag;
        }
    }
    if created {
        s.pusher.list_changed(&mut state, &owner.email);
    }
    HttpResponse::Ok().json(json!({"id": b.id, "created": created}))
}

/// Removes a calendar from the account (its channels stop); `calendarList.watch` channels are pushed.
pub async fn remove_calendar(
    s: web::Data<Shared>,
    owner: Owner,
    path: web::Path<CalPath>,
) -> HttpResponse {
    let mut state = s.lock();
    let Some(user) = state.user_mut(&owner.email) else {
        return super::users::unknown_user();
    };
    let Some(cal) = user.calendars.remove(&path.cal) else {
        return unknown_calendar();
    };
    user.list_etag += 1;
    for id in &cal.channels {
        state.channels.remove(id);
    }
    s.pusher.list_changed(&mut state, &owner.email);
    HttpResponse::NoContent().finish()
}

fn reply(r: Result<Value, HttpResponse>) -> HttpResponse {
    match r {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => e,
    }
}

/// A user creates an event in Google's UI (push fires).
pub async fn user_insert(
    s: web::Data<Shared>,
    owner: Owner,
    path: web::Path<CalPath>,
    body: web::Json<Value>,
) -> HttpResponse {
    let (user, cal) = (owner.email, &path.cal);
    let mut state = s.lock();
    let r = events::insert_as_google(&mut state, &user, cal, body.into_inner());
    if r.is_ok() {
        let resolved = state.resolve(&user, cal).unwrap_or_default();
        s.pusher.changed(&mut state, &user, &resolved);
    }
    reply(r)
}

/// Reads one event as it is now (cancelled ones included), without a token.
pub async fn peek(s: web::Data<Shared>, owner: Owner, path: web::Path<EventPath>) -> HttpResponse {
    let state = s.lock();
    reply(events::get(&state, &owner.email, &path.cal, &path.id))
}

/// A user edits an event (push fires).
pub async fn user_patch(
    s: web::Data<Shared>,
    owner: Owner,
    path: web::Path<EventPath>,
    body: web::Json<Value>,
) -> HttpResponse {
    let (user, p) = (owner.email, path.into_inner());
    let mut state = s.lock();
    let r = events::patch(
        &mut state,
        &user,
        &p.cal,
        &p.id,
        body.into_inner(),
        None,
        false,
    );
    if r.is_ok() {
        let resolved = state.resolve(&user, &p.cal).unwrap_or_default();
        s.pusher.changed(&mut state, &user, &resolved);
    }
    reply(r)
}

/// A user deletes an event (push fires).
pub async fn user_delete(
    s: web::Data<Shared>,
    owner: Owner,
    path: web::Path<EventPath>,
) -> HttpResponse {
    let (user, p) = (owner.email, path.into_inner());
    let mut state = s.lock();
    match events::delete(&mut state, &user, &p.cal, &p.id, None) {
        Ok(()) => {
            let resolved = state.resolve(&user, &p.cal).unwrap_or_default();
            s.pusher.changed(&mut state, &user, &resolved);
            HttpResponse::NoContent().finish()
        }
        Err(e) => e,
    }
}

#[derive(Deserialize)]
pub struct Bulk {
    pub count: usize,
}

/// Seeds `count` generated events at once, with a single push.
pub async fn bulk(
    s: web::Data<Shared>,
    owner: Owner,
    path: web::Path<CalPath>,
    body: web::Json<Bulk>,
) -> HttpResponse {
    let (user, cal) = (owner.email, &path.cal);
    let mut state = s.lock();
    let base = Utc::now() - Duration::days(365);
    for i in 0..body.count {
        let start = base + Duration::minutes(97 * i as i64);
        let fmt = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let event = json!({"summary": format!("Event {i}"), "location": format!("Room {}", i % 17),
            "start": {"dateTime": fmt(start)}, "end": {"dateTime": fmt(start + Duration::minutes(45))}});
        if let Err(e) = events::insert(&mut state, &user, cal, event) {
            return e;
        }
    }
    let resolved = state.resolve(&user, cal).unwrap_or_default();
    s.pusher.changed(&mut state, &user, &resolved);
    HttpResponse::Ok().json(json!({"created": body.count}))
}

#[derive(Deserialize)]
pub struct UserFilter {
    pub user: Option<String>,
}

/// The request log; `?user=` keeps that user's requests.
pub async fn requests(s: web::Data<Shared>, q: web::Query<UserFilter>) -> HttpResponse {
    let state = s.lock();
    let wanted = q.user.as_deref().map(normalize);
    let log: Vec<&super::state::LoggedRequest> = state
        .log
        .iter()
        .filter(|r| wanted.is_none() || r.user == wanted)
        .collect();
    HttpResponse::Ok().json(json!({"requests": log}))
}

/// Counts per method, channels, calendars (the default user's), users; `?user=`: that user's requests,
/// channels and calendars.
pub async fn stats(s: web::Data<Shared>, q: web::Query<UserFilter>) -> HttpResponse {
    let state = s.lock();
    let Some(email) = q.user.as_deref().map(normalize) else {
        let calendars = state
            .user(super::credentials::USER_EMAIL)
            .map_or(0, |u| u.calendars.len());
        return HttpResponse::Ok().json(
            json!({"counts": state.counts, "channels": state.channels.len(),
            "calendars": calendars, "users": state.users.len()}),
        );
    };
    let Some(user) = state.user(&email) else {
        return super::users::unknown_user();
    };
    let mut counts: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    for r in state
        .log
        .iter()
        .filter(|r| r.user.as_deref() == Some(&email))
    {
        *counts.entry(r.method.as_str()).or_default() += 1;
    }
    let channels = state.channels.values().filter(|c| c.user == email).count();
    HttpResponse::Ok().json(json!({"counts": counts, "channels": channels,
        "calendars": user.calendars.len(), "user": email}))
}

/// Global faults (unscoped), or the faults of the user's own requests (`/emulator/users/{email}/faults`).
pub async fn set_faults(
    s: web::Data<Shared>,
    owner: Owner,
    body: web::Json<Faults>,
) -> HttpResponse {
    use rand::SeedableRng;
    let faults = body.into_inner();
    let mut state = s.lock();
    if !owner.scoped {
        if let Some(seed) = faults.seed {
            state.rng = rand::rngs::StdRng::seed_from_u64(seed);
        }
        state.faults = faults;
        return HttpResponse::Ok().json(json!({"faults": state.faults}));
    }
    let Some(user) = state.user_mut(&owner.email) else {
        return super::users::unknown_user();
    };
    if let Some(seed) = faults.seed {
        user.rng = rand::rngs::StdRng::seed_from_u64(seed);
    }
    user.faults = faults;
    HttpResponse::Ok().json(json!({"faults": user.faults, "user": owner.email}))
}

pub async fn invalidate_sync_tokens(s: web::Data<Shared>) -> HttpResponse {
    let mut state = s.lock();
    state.token_generation += 1;
    HttpResponse::Ok().json(json!({"generation": state.token_generation}))
}

pub async fn expire_channel(s: web::Data<Shared>, path: web::Path<String>) -> HttpResponse {
    let mut state = s.lock();
    match state.channels.get_mut(path.as_str()) {
        Some(c) => {
            c.expiration = Utc::now().timestamp_millis() - 1;
            HttpResponse::Ok().json(json!({"expired": path.as_str()}))
        }
        None => HttpResponse::NotFound().json(json!({"error": "unknown channel"})),
    }
}

pub async fn channels(s: web::Data<Shared>) -> HttpResponse {
    let state = s.lock();
    let list: Vec<Value> = state
        .channels
        .values()
        .map(|c| {
            json!({"id": c.id, "resourceId": c.resource_id, "calendarId": c.calendar_id,
                   "address": c.address, "expiration": c.expiration, "user": c.user})
        })
        .collect();
    HttpResponse::Ok().json(json!({"channels": list}))
}

#[derive(Deserialize)]
pub struct NewUser {
    pub email: String,
}

/// `POST /emulator/users`: the user (created with its `primary` if absent) and a new refresh token of
/// the dev client for it, as a fresh consent would give.
pub async fn add_user(s: web::Data<Shared>, body: web::Json<NewUser>) -> HttpResponse {
    let email = normalize(&body.email);
    if !valid_email(&email) {
        return HttpResponse::BadRequest()
            .json(json!({"error": "email must be an e-mail address"}));
    }
    let mut state = s.lock();
    state.ensure_user(&email);
    let refresh_token = state.issue_refresh_token(&email, CALENDAR_SCOPE);
    HttpResponse::Ok().json(json!({"email": email, "refresh_token": refresh_token}))
}

/// `GET /emulator/users`: every user with its calendars' ids.
pub async fn list_users(s: web::Data<Shared>) -> HttpResponse {
    let state = s.lock();
    let mut users: Vec<Value> = state
        .users
        .values()
        .map(|u| {
            let mut cals: Vec<&String> = u.calendars.keys().collect();
            cals.sort_by_key(|id| (id.as_str() != "primary", id.as_str()));
            json!({"email": u.email, "calendars": cals})
        })
        .collect();
    users.sort_by(|a, b| a["email"].as_str().cmp(&b["email"].as_str()));
    HttpResponse::Ok().json(json!({"users": users}))
}

#[derive(Deserialize)]
pub struct NewServiceAccount {
    pub client_email: String,
    pub public_key_pem: String,
}

pub async fn add_service_account(
    s: web::Data<Shared>,
    body: web::Json<NewServiceAccount>,
) -> HttpResponse {
    let b = body.into_inner();
    s.lock().service_accounts.insert(
        b.client_email.clone(),
        ServiceAccount {
            public_key_pem: b.public_key_pem,
        },
    );
    HttpResponse::Ok().json(json!({"client_email": b.client_email}))
}
