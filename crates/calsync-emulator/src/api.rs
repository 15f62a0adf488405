//! The Google-shaped HTTP surface: `/calendar/v3/...` and `/token`, behind the fault and auth gate.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde_json::{Value, json};

use super::state::{ChannelState, new_event_id};
use super::{Shared, errors, events, list, token};

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
    path: web::Path<String>,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let state = s.lock();
    reply(list::list(&state, &path, &q))
}

pub async fn insert_event(
    s: web::Data<Shared>,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut state = s.lock();
    let cal = state.resolve(&path).unwrap_or_default();
    let r = events::insert(&mut state, &path, body.into_inner());
    if r.is_ok() {
        s.pusher.changed(&mut state, &cal);
    }
    reply(r)
}

pub async fn get_event(s: web::Data<Shared>, path: web::Path<(String, String)>) -> HttpResponse {
    let (cal, id) = path.into_inner();
    let mut state = s.lock();
    reply(events::get(&mut state, &cal, &id))
}

async fn write(
    s: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Value,
    replace: bool,
) -> HttpResponse {
    let (cal, id) = path.into_inner();
    let mut state = s.lock();
    let resolved = state.resolve(&cal).unwrap_or_default();
    let r = events::patch(
        &mut state,
        &cal,
        &id,
        body,
        if_match(&req).as_deref(),
        replace,
    );
    if r.is_ok() {
        s.pusher.changed(&mut state, &resolved);
    }
    reply(r)
}

pub async fn patch_event(
    s: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> HttpResponse {
    write(s, req, path, body.into_inner(), false).await
}

pub async fn update_event(
    s: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> HttpResponse {
    write(s, req, path, body.into_inner(), true).await
}

pub async fn delete_event(
    s: web::Data<Shared>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (cal, id) = path.into_inner();
    let mut state = s.lock();
    let resolved = state.resolve(&cal).unwrap_or_default();
    match events::delete(&mut state, &cal, &id, if_match(&req).as_deref()) {
        Ok(()) => {
            s.pusher.changed(&mut state, &resolved);
            HttpResponse::NoContent().finish()
        }
        Err(e) => e,
    }
}

pub async fn watch(
    s: web::Data<Shared>,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let b = body.into_inner();
    let mut state = s.lock();
    let Some(cal) = state.resolve(&path) else {
        return errors::not_found();
    };
    let id = b
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if id.is_empty() || id.len() > 64 {
        return errors::bad_request("Channel id must be 1 to 64 characters.");
    }
    if !matches!(
        b.get("type").and_then(Value::as_str),
        Some("web_hook" | "webhook")
    ) {
        return errors::bad_request("Channel type must be web_hook.");
    }
    let Some(address) = b
        .get("address")
        .and_then(Value::as_str)
        .filter(|a| a.starts_with("http"))
    else {
        return errors::bad_request("WebHook callback must be an http(s) URL.");
    };
    let token = b.get("token").and_then(Value::as_str).map(str::to_string);
    if token.as_ref().is_some_and(|t| t.len() > 256) {
        return errors::bad_request("Channel token must be at most 256 characters.");
    }
    if state.channels.contains_key(&id) {
        return errors::google_error(400, "push", "channelIdNotUnique", "Channel id not unique");
    }
    let now = Utc::now().timestamp_millis();
    let ttl_ms = b
        .pointer("/params/ttl")
        .and_then(|v| {
            v.as_str()
                .and_then(|s| s.parse::<i64>().ok())
                .or_else(|| v.as_i64())
        })
        .unwrap_or(604_800)
        .clamp(1, 2_592_000)
        * 1000;
    let asked = b.get("expiration").and_then(|v| {
        v.as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .or_else(|| v.as_i64())
    });
    let expiration = asked.map_or(now + ttl_ms, |e| e.min(now + ttl_ms));
    let resource_id = new_event_id(&mut state.rng);
    let channel = ChannelState {
        id: id.clone(),
        resource_id: resource_id.clone(),
        calendar_id: cal.clone(),
        address: address.to_string(),
        token: token.clone(),
        expiration,
        message_number: 0,
    };
    state.channels.insert(id.clone(), channel);
    if let Some(c) = state.calendars.get_mut(&cal) {
        c.channels.push(id.clone());
    }
    s.pusher.send(&mut state, &id, "sync");
    let mut out = json!({
        "kind": "api#channel", "id": id, "resourceId": resource_id,
        "resourceUri": format!("https://www.googleapis.com/calendar/v3/calendars/{cal}/events?alt=json"),
        "expiration": expiration.to_string(),
    });
    if let Some(t) = token {
        out["token"] = json!(t);
    }
    HttpResponse::Ok().json(out)
}

pub async fn stop(s: web::Data<Shared>, body: web::Json<Value>) -> HttpResponse {
    let b = body.into_inner();
    let mut state = s.lock();
    let id = b.get("id").and_then(Value::as_str).unwrap_or_default();
    let resource = b
        .get("resourceId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match state.channels.get(id) {
        Some(c) if c.resource_id == resource => {
            let cal = c.calendar_id.clone();
            state.channels.remove(id);
            if let Some(c) = state.calendars.get_mut(&cal) {
                c.channels.retain(|x| x != id);
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

pub async fn calendar_list(s: web::Data<Shared>) -> HttpResponse {
    let state = s.lock();
    let mut ids: Vec<&String> = state.calendars.keys().collect();
    ids.sort();
    let primary = state.resolve("primary");
    let items: Vec<Value> = ids
        .into_iter()
        .filter_map(|id| state.calendars.get(id))
        .map(|c| {
            json!({"kind": "calendar#calendarListEntry", "etag": "\"1\"", "id": c.id, "summary": c.summary,
                   "timeZone": c.time_zone, "accessRole": "owner", "primary": Some(&c.id) == primary.as_ref()})
        })
        .collect();
    HttpResponse::Ok()
        .json(json!({"kind": "calendar#calendarList", "etag": "\"1\"", "items": items}))
}

pub async fn token_endpoint(
    s: web::Data<Shared>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let url = format!("{}/token", s.base_url);
    let mut state = s.lock();
    *state.counts.entry("token".into()).or_default() += 1;
    let resp = token::grant(&mut state, &form, &url);
    let at_ms = Utc::now().timestamp_millis();
    state.log.push(super::state::LoggedRequest {
        method: "token".into(),
        http_method: "POST".into(),
        path: "/token".into(),
        query: String::new(),
        status: resp.status().as_u16(),
        at_ms,
    });
    resp
}
