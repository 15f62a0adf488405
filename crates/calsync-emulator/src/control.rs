//! The control API under `/emulator/...`: seed calendars and events, act as a user in Google's UI,
//! read the request log and counts, and inject faults. No auth: bind it to loopback.

use actix_web::{HttpResponse, web};
use chrono::{Duration, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::faults::Faults;
use super::state::ServiceAccount;
use super::{Shared, events};

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
pub async fn add_calendar(s: web::Data<Shared>, body: web::Json<NewCalendar>) -> HttpResponse {
    let b = body.into_inner();
    if b.id.is_empty() {
        return HttpResponse::BadRequest().json(json!({"error": "id is required"}));
    }
    let mut state = s.lock();
    let created = state.upsert_calendar(&b.id, b.summary.as_deref(), b.time_zone.as_deref());
    if let Some(c) = state.calendars.get_mut(&b.id) {
        if let Some(flag) = b.push_not_supported {
            c.push_not_supported = flag;
        }
        if let Some(flag) = b.silent_channels {
            c.silent_channels = flag;
        }
    }
    if created {
        s.pusher.list_changed(&mut state);
    }
    HttpResponse::Ok().json(json!({"id": b.id, "created": created}))
}

/// Removes a calendar from the account (its channels stop); `calendarList.watch` channels are pushed.
pub async fn remove_calendar(s: web::Data<Shared>, path: web::Path<String>) -> HttpResponse {
    let mut state = s.lock();
    let Some(cal) = state.calendars.remove(path.as_str()) else {
        return HttpResponse::NotFound().json(json!({"error": "unknown calendar"}));
    };
    for id in &cal.channels {
        state.channels.remove(id);
    }
    state.list_etag += 1;
    s.pusher.list_changed(&mut state);
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
    path: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut state = s.lock();
    let r = events::insert_as_google(&mut state, &path, body.into_inner());
    if r.is_ok() {
        s.pusher.changed(&mut state, &path);
    }
    reply(r)
}

/// Reads one event as it is now (cancelled ones included), without a token.
pub async fn peek(s: web::Data<Shared>, path: web::Path<(String, String)>) -> HttpResponse {
    let (cal, id) = path.into_inner();
    let mut state = s.lock();
    reply(events::get(&mut state, &cal, &id))
}

/// A user edits an event (push fires).
pub async fn user_patch(
    s: web::Data<Shared>,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> HttpResponse {
    let (cal, id) = path.into_inner();
    let mut state = s.lock();
    let r = events::patch(&mut state, &cal, &id, body.into_inner(), None, false);
    if r.is_ok() {
        s.pusher.changed(&mut state, &cal);
    }
    reply(r)
}

/// A user deletes an event (push fires).
pub async fn user_delete(s: web::Data<Shared>, path: web::Path<(String, String)>) -> HttpResponse {
    let (cal, id) = path.into_inner();
    let mut state = s.lock();
    match events::delete(&mut state, &cal, &id, None) {
        Ok(()) => {
            s.pusher.changed(&mut state, &cal);
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
    path: web::Path<String>,
    body: web::Json<Bulk>,
) -> HttpResponse {
    let mut state = s.lock();
    let base = Utc::now() - Duration::days(365);
    for i in 0..body.count {
        let start = base + Duration::minutes(97 * i as i64);
        let fmt = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let event = json!({"summary": format!("Event {i}"), "location": format!("Room {}", i % 17),
            "start": {"dateTime": fmt(start)}, "end": {"dateTime": fmt(start + Duration::minutes(45))}});
        if let Err(e) = events::insert(&mut state, &path, event) {
            return e;
        }
    }
    s.pusher.changed(&mut state, &path);
    HttpResponse::Ok().json(json!({"created": body.count}))
}

pub async fn requests(s: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"requests": s.lock().log}))
}

pub async fn stats(s: web::Data<Shared>) -> HttpResponse {
    let state = s.lock();
    HttpResponse::Ok().json(json!({"counts": state.counts, "channels": state.channels.len(), "calendars": state.calendars.len()}))
}

pub async fn set_faults(s: web::Data<Shared>, body: web::Json<Faults>) -> HttpResponse {
    let faults = body.into_inner();
    let mut state = s.lock();
    if let Some(seed) = faults.seed {
        use rand::SeedableRng;
        state.rng = rand::rngs::StdRng::seed_from_u64(seed);
    }
    state.faults = faults;
    HttpResponse::Ok().json(json!({"faults": state.faults}))
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
                        "address": c.address, "expiration": c.expiration})
        })
        .collect();
    HttpResponse::Ok().json(json!({"channels": list}))
}

pub async fn expire_access_tokens(s: web::Data<Shared>) -> HttpResponse {
    s.lock().access_tokens.clear();
    HttpResponse::Ok().json(json!({"expired": true}))
}

pub async fn revoke_refresh_tokens(s: web::Data<Shared>) -> HttpResponse {
    let mut state = s.lock();
    state.refresh_tokens.clear();
    state.access_tokens.clear();
    HttpResponse::Ok().json(json!({"revoked": true}))
}

/// Gives the dev refresh token back (the user consented again): the credentials work again.
pub async fn restore_refresh_tokens(s: web::Data<Shared>) -> HttpResponse {
    s.lock().refresh_tokens.insert(
        super::dev_credentials::REFRESH_TOKEN.to_string(),
        super::dev_credentials::CLIENT_ID.to_string(),
    );
    HttpResponse::Ok().json(json!({"restored": true}))
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
