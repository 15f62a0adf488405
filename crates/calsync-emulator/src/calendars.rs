//! Calendars as resources: `calendars.get`, `calendarList.list/get` (with `accessRole`),
//! `calendarList.watch`, and `colors.get` with Google's palette.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::state::{Calendar, State};
use super::users::Caller;
use super::{Shared, channels, errors, fields};

/// The calendar-list entry of `c`, as Google lists it (`primary` only on the primary calendar).
fn entry(c: &Calendar) -> Value {
    let mut e = json!({
        "kind": "calendar#calendarListEntry", "etag": format!("\"{}\"", c.etag), "id": c.id,
        "summary": c.summary, "timeZone": c.time_zone, "colorId": "14",
        "backgroundColor": "#9fe1e7", "foregroundColor": "#000000", "selected": true,
        "accessRole": "owner", "defaultReminders": [{"method": "popup", "minutes": 30}],
        "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
    });
    if c.id == "primary" {
        e["primary"] = json!(true);
        e["notificationSettings"] = json!({"notifications": [
            {"type": "eventCreation", "method": "email"}, {"type": "eventChange", "method": "email"},
            {"type": "eventCancellation", "method": "email"}, {"type": "eventResponse", "method": "email"}]});
    }
    e
}

fn find<'a>(state: &'a State, user: &str, id: &str) -> Result<&'a Calendar, HttpResponse> {
    let id = state.resolve(user, id).ok_or_else(errors::not_found)?;
    state.cal(user, &id).ok_or_else(errors::not_found)
}

fn answer(r: Result<Value, HttpResponse>, q: &HashMap<String, String>) -> HttpResponse {
    match r.and_then(|v| fields::apply(v, q)) {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => e,
    }
}

/// `GET /calendars/{cal}`.
pub async fn get(
    s: web::Data<Shared>,
    who: Caller,
    path: web::Path<String>,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let state = s.lock();
    let r = find(&state, &who.0, &path).map(|c| {
        json!({"kind": "calendar#calendar", "etag": format!("\"{}\"", c.etag), "id": c.id,
               "summary": c.summary, "timeZone": c.time_zone,
               "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}})
    });
    answer(r, &q)
}

/// `GET /users/me/calendarList` (one page: an account has few calendars).
pub async fn list(
    s: web::Data<Shared>,
    who: Caller,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let state = s.lock();
    let Some(user) = state.user(&who.0) else {
        return errors::unauthorized();
    };
    let mut ids: Vec<&String> = user.calendars.keys().collect();
    ids.sort_by_key(|id| (id.as_str() != "primary", id.as_str()));
    let items: Vec<Value> = ids
        .into_iter()
        .filter_map(|id| user.calendars.get(id))
        .map(entry)
        .collect();
    let body = json!({"kind": "calendar#calendarList", "etag": format!("\"{}\"", user.list_etag),
                      "nextSyncToken": format!("cl{}", user.list_etag), "items": items});
    answer(Ok(body), &q)
}

/// `GET /users/me/calendarList/{cal}`.
pub async fn get_entry(
    s: web::Data<Shared>,
    who: Caller,
    path: web::Path<String>,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let state = s.lock();
    answer(find(&state, &who.0, &path).map(entry), &q)
}

/// `POST /users/me/calendarList/watch`: pushes when the caller's calendars are added or removed.
pub async fn watch(s: web::Data<Shared>, who: Caller, body: web::Json<Value>) -> HttpResponse {
    let mut state = s.lock();
    let uri = "https://www.googleapis.com/calendar/v3/users/me/calendarList?alt=json".to_string();
    match channels::open(&mut state, &body, &who.0, "", uri, false) {
        Ok(v) => {
            let id = v["id"].as_str().unwrap_or_default().to_string();
            if let Some(u) = state.user_mut(&who.0) {
                u.list_channels.push(id.clone());
            }
            s.pusher.send(&mut state, &id, "sync");
            HttpResponse::Ok().json(v)
        }
        Err(e) => e,
    }
}

const CALENDAR_COLORS: [&str; 24] = [
    "#ac725e", "#d06b64", "#f83a22", "#fa573c", "#ff7537", "#ffad46", "#42d692", "#16a765",
    "#7bd148", "#b3dc6c", "#fbe983", "#fad165", "#92e1c0", "#9fe1e7", "#9fc6e7", "#4986e7",
    "#9a9cff", "#b99aff", "#c2c2c2", "#cabdbf", "#cca6ac", "#f691b2", "#cd74e6", "#a47ae2",
];
const EVENT_COLORS: [&str; 11] = [
    "#a4bdfc", "#7ae7bf", "#dbadff", "#ff887c", "#fbd75b", "#ffb878", "#46d6db", "#e1e1e1",
    "#5484ed", "#51b749", "#dc2127",
];

/// `GET /colors`: Google's palette (calendar colors 1–24, event colors 1–11).
pub async fn colors(q: web::Query<HashMap<String, String>>) -> HttpResponse {
    let palette = |colors: &[&str]| -> Value {
        let mut m = serde_json::Map::new();
        for (i, c) in colors.iter().enumerate() {
            m.insert(
                (i + 1).to_string(),
                json!({"background": c, "foreground": "#1d1d1d"}),
            );
        }
        Value::Object(m)
    };
    let body = json!({"kind": "calendar#colors", "updated": "2012-02-14T00:00:00.000Z",
                      "calendar": palette(&CALENDAR_COLORS), "event": palette(&EVENT_COLORS)});
    answer(Ok(body), &q)
}
