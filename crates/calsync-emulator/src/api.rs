//! The Google-shaped HTTP surface: `/calendar/v3/...` and `/token`, behind the fault and auth gate.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde_json::Value;

use super::users::Caller;
use super::{Shared, channels, errors, events, fields, list, token};

fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("If-Match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn reply(r: Result<Value, HttpResponse>) -> HttpResponse {
    match r {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => e,
    }
}

pub async fn list_events(
    s: web::Data<Shared>,
    who: Caller,
    path: web::Path<String>,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let state = s.lock();
    reply(list::list(&state, &who.0, &path, &q).and_then(|v| fields::apply(v, &q)))
}

pub async fn insert_event(
    s: web::Data<Shared>,
    who: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut state = s.lock();
    let cal = state.resolve(&who.0, &path).unwrap_or_default();
    let r = events::insert(&mut state, &who.0, &path, body.into_inner());
    if r.is_ok() {
        s.pusher.changed(&mut state, &who.0, &cal);
    }
    reply(r)
}

pub async fn get_event(
    s: web::Data<Shared>,
    who: Caller,
    path: web::Path<(String, String)>,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let (cal, id) = path.into_inner();
    let state = s.lock();
    reply(events::get(&state, &who.0, &cal, &id).and_then(|v| fields::apply(v, &q)))
}

async fn write(
    s: web::Data<Shared>,
    who: Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Value,
    replace: bool,
) -> HttpResponse {
    let (cal, id) = path.into_inner();
    let mut state = s.lock();
    let resolved = state.resolve(&who.0, &cal).unwrap_or_default();
    let r = events::patch(
        &mut state,
        &who.0,
        &cal,
        &id,
        body,
        if_match(&req).as_deref(),
        replace,
    );
    if r.is_ok() {
        s.pusher.changed(&mut state, &who.0, &resolved);
    }
    reply(r)
}

pub async fn patch_event(
    s: web::Data<Shared>,
    who: Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> HttpResponse {
    write(s, who, req, path, body.into_inner(), false).await
}

pub async fn update_event(
    s: web::Data<Shared>,
    who: Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> HttpResponse {
    write(s, who, req, path, body.into_inner(), true).await
}

pub async fn delete_event(
    s: web::Data<Shared>,
    who: Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (cal, id) = path.into_inner();
    let mut state = s.lock();
    let resolved = state.resolve(&who.0, &cal).unwrap_or_default();
    match events::delete(&mut state, &who.0, &cal, &id, if_match(&req).as_deref()) {
        Ok(()) => {
            s.pusher.changed(&mut state, &who.0, &resolved);
            HttpResponse::NoContent().finish()
        }
        Err(e) => e,
    }
}

pub async fn watch(
    s: web::Data<Shared>,
    who: Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let user = who.0;
    let mut state = s.lock();
    let Some(cal) = state.resolve(&user, &path) else {
        return errors::not_found();
    };
    let Some((push_not_supported, silent)) = state
        .cal(&user, &cal)
        .map(|c| (c.push_not_supported, c.silent_channels))
    else {
        return errors::not_found();
    };
    if push_not_supported {
        return errors::push_not_supported();
    }
    let uri = format!("https://www.googleapis.com/calendar/v3/calendars/{cal}/events?alt=json");
    let r = channels::open(&mut state, &body, &user, &cal, uri, silent);
    if let Ok(v) = &r {
        let id = v["id"].as_str().unwrap_or_default().to_string();
        if let Some(c) = state.cal_mut(&user, &cal) {
            c.channels.push(id.clone());
        }
        s.pusher.send(&mut state, &id, "sync");
    }
    reply(r)
}

/// `channels.stop`: only the channel's own user may stop it (another user's is notFound, as at Google).
pub async fn stop(s: web::Data<Shared>, who: Caller, body: web::Json<Value>) -> HttpResponse {
    let b = body.into_inner();
    let mut state = s.lock();
    let id = b.get("id").and_then(Value::as_str).unwrap_or_default();
    let resource = b
        .get("resourceId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match state.channels.get(id) {
        Some(c) if c.resource_id == resource && c.user == who.0 => {
            let (cal, user) = (c.calendar_id.clone(), c.user.clone());
            state.channels.remove(id);
            if let Some(u) = state.user_mut(&user) {
                u.list_channels.retain(|x| x != id);
                if let Some(c) = u.calendars.get_mut(&cal) {
                    c.channels.retain(|x| x != id);
                }
            }
            HttpResponse::NoContent().finish()
        }
        _ => errors::google_error(
            404,
            "global",
            "notFound",
            &format!("Channel '{id}' not found for project"),
        ),
    }
}

pub async fn token_endpoint(
    s: web::Data<Shared>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let url = format!("{}/token", s.base_url);
    let mut state = s.lock();
    *state.counts.entry("token".into()).or_default() += 1;
    let (resp, user) = token::grant(&mut state, &form, &url);
    let at_ms = Utc::now().timestamp_millis();
    state.log.push(super::state::LoggedRequest {
        method: "token".into(),
        http_method: "POST".into(),
        path: "/token".into(),
        query: String::new(),
        status: resp.status().as_u16(),
        at_ms,
        user,
    });
    resp
}
