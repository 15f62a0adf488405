//! Event writes and reads with Google's rules: client ids, 409/412/410, etags, `sequence`, PATCH semantics,
//! and instances of recurring series addressed by `<masterId>_<start>`.

use actix_web::HttpResponse;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use super::state::{Calendar, State, new_event_id, now_rfc3339, valid_client_id};
use super::users::calendar_address;
use super::{errors, validate};

type Reply = Result<Value, HttpResponse>;

fn calendar(state: &State, user: &str, cal: &str) -> Result<String, HttpResponse> {
    state.resolve(user, cal).ok_or_else(errors::not_found)
}

fn times_changed(a: &Value, b: &Value) -> bool {
    a.get("start") != b.get("start") || a.get("end") != b.get("end")
}

fn check_if_match(current: &Value, if_match: Option<&str>) -> Result<(), HttpResponse> {
    match if_match {
        None | Some("*") => Ok(()),
        Some(tag) if current.get("etag").and_then(Value::as_str) == Some(tag) => Ok(()),
        Some(_) => Err(errors::precondition_failed()),
    }
}

/// events.insert into `user`'s `cal`.
pub fn insert(state: &mut State, user: &str, cal: &str, body: Value) -> Reply {
    insert_with(state, user, cal, body, valid_client_id)
}

/// An insert made in Google's UI: ids Google itself generates (`<id>_R<start>` for a split series,
/// `_…` for Gmail events) are accepted.
pub fn insert_as_google(state: &mut State, user: &str, cal: &str, body: Value) -> Reply {
    insert_with(state, user, cal, body, |id| {
        (5..=1024).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn insert_with(
    state: &mut State,
    user: &str,
    cal: &str,
    mut body: Value,
    id_ok: fn(&str) -> bool,
) -> Reply {
    let cal = calendar(state, user, cal)?;
    if !body.is_object() {
        return Err(errors::bad_request("Invalid JSON payload."));
    }
    let id = match body.get("id").and_then(Value::as_str) {
        Some(id) if !id_ok(id) => {
            return Err(errors::invalid("Invalid resource id value."));
        }
        Some(id) => id.to_string(),
        None => new_event_id(&mut state.rng),
    };
    if state
        .cal(user, &cal)
        .is_some_and(|c| c.events.contains_key(&id))
    {
        return Err(errors::duplicate());
    }
    validate::event(&body)?;
    let now = now_rfc3339();
    let etag = state.next_etag();
    let obj = body
        .as_object_mut()
        .ok_or_else(|| errors::bad_request("Invalid JSON payload."))?;
    obj.insert("kind".into(), json!("calendar#event"));
    obj.insert("id".into(), json!(id));
    obj.insert("etag".into(), json!(etag));
    obj.entry("status").or_insert(json!("confirmed"));
    obj.insert("created".into(), json!(now));
    obj.insert("updated".into(), json!(now));
    // A client may set `sequence` and an `iCalUID` of its own (instead of an id); Google keeps both.
    obj.entry("sequence").or_insert(json!(0));
    obj.entry("iCalUID")
        .or_insert(json!(format!("{id}@google.com")));
    obj.insert(
        "htmlLink".into(),
        json!(format!("https://www.google.com/calendar/event?eid={id}")),
    );
    obj.insert("creator".into(), json!({"email": user, "self": true}));
    obj.insert(
        "organizer".into(),
        json!({"email": calendar_address(user, &cal), "self": true}),
    );
    obj.entry("reminders")
        .or_insert(json!({"useDefault": true}));
    obj.entry("eventType").or_insert(json!("default"));
    state.commit(user, &cal, body.clone());
    Ok(body)
}

/// The current version of an event, materialising an untouched instance of a series on demand.
fn current(state: &State, user: &str, cal: &str, id: &str) -> Result<Value, HttpResponse> {
    let calendar = state.cal(user, cal).ok_or_else(errors::not_found)?;
    if let Some(e) = calendar.events.get(id) {
        return Ok(e.clone());
    }
    instance_of_series(calendar, id).ok_or_else(errors::not_found)
}

/// `<masterId>_<yyyymmddThhmmssZ>` (or `_<yyyymmdd>` for all-day series) as a fresh instance.
fn instance_of_series(calendar: &Calendar, id: &str) -> Option<Value> {
    let (master_id, suffix) = id.rsplit_once('_')?;
    let master = calendar.events.get(master_id)?.clone();
    master.get("recurrence")?;
    let start = master.get("start")?;
    let end = master.get("end")?;
    let tz = start.get("timeZone").cloned();
    let (new_start, new_end, original) = if suffix.len() == 8 {
        let d = NaiveDate::parse_from_str(suffix, "%Y%m%d").ok()?;
        let s0 = NaiveDate::parse_from_str(start.get("date")?.as_str()?, "%Y-%m-%d").ok()?;
        let e0 = NaiveDate::parse_from_str(end.get("date")?.as_str()?, "%Y-%m-%d").ok()?;
        let len = e0 - s0;
        (
            json!({"date": d.to_string()}),
            json!({"date": (d + len).to_string()}),
            json!({"date": d.to_string()}),
        )
    } else {
        let at = chrono::NaiveDateTime::parse_from_str(suffix, "%Y%m%dT%H%M%SZ")
            .ok()?
            .and_utc();
        let s0 = validate::instant(start)?;
        let e0 = validate::instant(end)?;
        let len = e0 - s0;
        let zone: chrono_tz::Tz = tz
            .as_ref()
            .and_then(Value::as_str)
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::UTC);
        let fmt = |t: DateTime<Utc>| super::recurrence::local(t, zone);
        let mut s = json!({"dateTime": fmt(at)});
        let mut e = json!({"dateTime": fmt(at + len)});
        let mut o = json!({"dateTime": fmt(at)});
        if let Some(tz) = &tz {
            s["timeZone"] = tz.clone();
            e["timeZone"] = tz.clone();
            o["timeZone"] = tz.clone();
        }
        (s, e, o)
    };
    let mut inst = master.clone();
    let obj = inst.as_object_mut()?;
    obj.remove("recurrence");
    obj.insert("id".into(), json!(id));
    obj.insert("recurringEventId".into(), json!(master_id));
    obj.insert("originalStartTime".into(), original);
    obj.insert("start".into(), new_start);
    obj.insert("end".into(), new_end);
    Some(inst)
}

/// events.get (cancelled events included, as Google does).
pub fn get(state: &State, user: &str, cal: &str, id: &str) -> Reply {
    let cal = calendar(state, user, cal)?;
    current(state, user, &cal, id)
}

/// events.patch (`replace = false`) and events.update (`replace = true`).
#[allow(clippy::too_many_arguments)]
pub fn patch(
    state: &mut State,
    user: &str,
    cal: &str,
    id: &str,
    body: Value,
    if_match: Option<&str>,
    replace: bool,
) -> Reply {
    let cal = calendar(state, user, cal)?;
    let Value::Object(changes) = body else {
        return Err(errors::bad_request("Invalid JSON payload."));
    };
    let old = current(state, user, &cal, id)?;
    check_if_match(&old, if_match)?;
    let mut next: Map<String, Value> = if replace {
        let mut keep = Map::new();
        for key in [
            "kind",
            "id",
            "created",
            "iCalUID",
            "htmlLink",
            "creator",
            "organizer",
            "recurringEventId",
            "originalStartTime",
            "eventType",
        ] {
            if let Some(v) = old.get(key) {
                keep.insert(key.into(), v.clone());
            }
        }
        keep
    } else {
        old.as_object().cloned().unwrap_or_default()
    };
    for (k, v) in changes {
        if matches!(
            k.as_str(),
            "id" | "kind" | "etag" | "created" | "updated" | "iCalUID" | "htmlLink" | "sequence"
        ) {
            continue;
        }
        if v.is_null() {
            next.remove(&k);
        } else if k == "extendedProperties" && !replace {
            let merged = merge_properties(next.get(&k), &v);
            next.insert(k, merged);
        } else {
            next.insert(k, v);
        }
    }
    let mut next = Value::Object(next);
    validate::event(&next)?;
    let seq = old.get("sequence").and_then(Value::as_i64).unwrap_or(0);
    let bump = if times_changed(&old, &next) { 1 } else { 0 };
    next["sequence"] = json!(seq + bump);
    next["etag"] = json!(state.next_etag());
    next["updated"] = json!(now_rfc3339());
    next.as_object_mut()
        .map(|o| o.entry("status").or_insert(json!("confirmed")));
    state.commit(user, &cal, next.clone());
    Ok(next)
}

/// Patch semantics inside `extendedProperties.private/shared`: keys merge, `null` deletes a key.
fn merge_properties(old: Option<&Value>, new: &Value) -> Value {
    let mut out = old.cloned().unwrap_or_else(|| json!({}));
    for scope in ["private", "shared"] {
        let Some(changes) = new.get(scope).and_then(Value::as_object) else {
            continue;
        };
        let target = out
            .as_object_mut()
            .map(|o| o.entry(scope).or_insert_with(|| json!({})));
        if let Some(Value::Object(t)) = target {
            for (k, v) in changes {
                if v.is_null() {
                    t.remove(k);
                } else {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
    }
    out
}

/// events.delete: marks the event cancelled; a second delete is 410.
pub fn delete(
    state: &mut State,
    user: &str,
    cal: &str,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), HttpResponse> {
    let cal = calendar(state, user, cal)?;
    let old = current(state, user, &cal, id)?;
    if old.get("status").and_then(Value::as_str) == Some("cancelled") {
        return Err(errors::deleted());
    }
    check_if_match(&old, if_match)?;
    let mut next = old;
    next["status"] = json!("cancelled");
    next["etag"] = json!(state.next_etag());
    next["updated"] = json!(now_rfc3339());
    state.commit(user, &cal, next);
    Ok(())
}
