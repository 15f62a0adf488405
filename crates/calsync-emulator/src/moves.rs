//! `events.move`: the event leaves its calendar (a cancelled entry there, as incremental sync sees a
//! deletion) and arrives in the destination with the same id and iCalUID, the destination as its
//! organizer; both calendars' channels are pushed.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::state::{State, now_rfc3339};
use super::users::{Caller, calendar_address};
use super::{Shared, errors, fields};

/// Moves `id` from `user`'s `cal` to its `dest`; returns the moved event and the two calendars' ids.
pub fn move_event(
    state: &mut State,
    user: &str,
    cal: &str,
    id: &str,
    dest: &str,
) -> Result<(Value, String, String), HttpResponse> {
    let from = state.resolve(user, cal).ok_or_else(errors::not_found)?;
    let to = state.resolve(user, dest).ok_or_else(errors::not_found)?;
    let event = state
        .cal(user, &from)
        .and_then(|c| c.events.get(id))
        .cloned()
        .ok_or_else(errors::not_found)?;
    if event.get("status").and_then(Value::as_str) == Some("cancelled") {
        return Err(errors::not_found());
    }
    if event.get("recurringEventId").is_some() {
        return Err(errors::google_error(
            400,
            "calendar",
            "cannotChangeOrganizerOfInstance",
            "Cannot change the organizer of an instance.",
        ));
    }
    if from == to {
        return Ok((event, from, to));
    }
    let taken = state
        .cal(user, &to)
        .and_then(|c| c.events.get(id))
        .is_some_and(|e| e.get("status").and_then(Value::as_str) != Some("cancelled"));
    if taken {
        return Err(errors::duplicate());
    }
    let now = now_rfc3339();
    let mut gone = event.clone();
    gone["status"] = json!("cancelled");
    gone["etag"] = json!(state.next_etag());
    gone["updated"] = json!(now);
    state.commit(user, &from, gone);
    let mut moved = event;
    moved["etag"] = json!(state.next_etag());
    moved["updated"] = json!(now);
    moved["organizer"] = json!({"email": calendar_address(user, &to), "self": true});
    state.commit(user, &to, moved.clone());
    Ok((moved, from, to))
}

/// `POST /calendars/{cal}/events/{id}/move?destination=…`.
pub async fn handler(
    s: web::Data<Shared>,
    who: Caller,
    path: web::Path<(String, String)>,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let (cal, id) = path.into_inner();
    let Some(dest) = q.get("destination") else {
        return errors::required("Required parameter: destination");
    };
    let mut state = s.lock();
    match move_event(&mut state, &who.0, &cal, &id, dest) {
        Ok((moved, from, to)) => {
            s.pusher.changed(&mut state, &who.0, &from);
            if to != from {
                s.pusher.changed(&mut state, &who.0, &to);
            }
            match fields::apply(moved, &q) {
                Ok(v) => HttpResponse::Ok().json(v),
                Err(e) => e,
            }
        }
        Err(e) => e,
    }
}
