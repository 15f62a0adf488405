//! Google's own payloads (tests/fixtures/google, captured from real accounts; see its SOURCES.md) put
//! into the emulator as a client or Google's UI would, then read back from events.list (masters,
//! exceptions, tombstones), events.list?singleEvents=true and events.instances: each sample item must
//! come back with the same fields and values.
//!
//! Ignored, because Google assigns them anew on every write: `etag`, `created`, `updated`, `htmlLink`
//! (derived from the id and the account), `creator` and `organizer` (the calendar that writes).

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::Emu;

const ASSIGNED: [&str; 6] = [
    "etag",
    "created",
    "updated",
    "htmlLink",
    "creator",
    "organizer",
];
/// Fields the emulator adds with Google's defaults when the (old) sample predates them.
const DEFAULTED: [&str; 4] = ["eventType", "reminders", "sequence", "iCalUID"];

fn load(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/google/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("a sample")).expect("sample JSON")
}

fn items(sample: &Value) -> Vec<Value> {
    match sample {
        Value::Array(a) => a.clone(),
        Value::Object(o) if o.contains_key("items") => {
            o["items"].as_array().cloned().unwrap_or_default()
        }
        Value::Object(o) => o.values().cloned().collect(),
        _ => Vec::new(),
    }
}

fn same_shape(want: &Value, got: &Value, context: &str) {
    let (w, g) = (want.as_object().unwrap(), got.as_object().unwrap());
    for (k, v) in w {
        if !ASSIGNED.contains(&k.as_str()) {
            assert_eq!(g.get(k), Some(v), "{context}: field {k}");
        }
    }
    for k in g.keys() {
        assert!(
            w.contains_key(k) || ASSIGNED.contains(&k.as_str()) || DEFAULTED.contains(&k.as_str()),
            "{context}: unexpected field {k}"
        );
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// A master for expanded instances whose series is not in the sample: the first instance's body,
/// yearly when there are several (the samples' series are birthdays and anniversaries).
fn synthesized_master(instances: &[&Value]) -> Value {
    let mut m = instances[0].clone();
    let o = m.as_object_mut().unwrap();
    let id = o.remove("recurringEventId").unwrap();
    o.remove("originalStartTime");
    o.insert("id".into(), id);
    let rule = if instances.len() > 1 {
        format!("RRULE:FREQ=YEARLY;COUNT={}", instances.len())
    } else {
        "RRULE:FREQ=DAILY;COUNT=1".to_string()
    };
    o.insert("recurrence".into(), json!([rule]));
    if o["start"].get("dateTime").is_some() && o["start"].get("timeZone").is_none() {
        o["start"]["timeZone"] = json!("UTC");
        o["end"]["timeZone"] = json!("UTC");
    }
    m
}

async fn check(e: &Emu, file: &str) {
    let sample = load(file);
    let cal = file.trim_end_matches(".json");
    let zone = sample.get("timeZone").cloned().unwrap_or(json!("UTC"));
    e.control("/calendars", json!({"id": cal, "timeZone": zone}))
        .await;
    let all = items(&sample);
    let ids: Vec<&str> = all.iter().map(|i| str_of(i, "id")).collect();
    let mut orphans: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for i in &all {
        let master = str_of(i, "recurringEventId");
        if !master.is_empty() && !ids.contains(&master) {
            orphans.entry(master).or_default().push(i);
        }
    }
    // Masters and single events first, as Google's UI creates them (its own ids allowed).
    let mut creations: Vec<Value> = orphans.values().map(|v| synthesized_master(v)).collect();
    creations.extend(
        all.iter()
            .filter(|i| i.get("recurringEventId").is_none())
            .cloned(),
    );
    for mut body in creations {
        let cancelled = str_of(&body, "status") == "cancelled";
        if cancelled {
            body = json!({"id": body["id"], "start": {"dateTime": "2030-01-01T09:00:00Z"},
                          "end": {"dateTime": "2030-01-01T10:00:00Z"}});
        }
        let r = e
            .control(&format!("/calendars/{cal}/events"), body.clone())
            .await;
        assert_eq!(r["id"], body["id"], "{file}: inserted {r}");
        if cancelled {
            let (status, _) = e
                .call(e.api(
                    Method::DELETE,
                    &format!("/calendars/{cal}/events/{}", str_of(&body, "id")),
                ))
                .await;
            assert_eq!(status, 204);
        }
    }
    // Exceptions of sampled masters: a client edits (PUT) or cancels (DELETE) the instance.
    for i in all
        .iter()
        .filter(|i| ids.contains(&str_of(i, "recurringEventId")))
    {
        let path = format!("/calendars/{cal}/events/{}", str_of(i, "id"));
        let req = if str_of(i, "status") == "cancelled" {
            e.api(Method::DELETE, &path)
        } else {
            e.api(Method::PUT, &path).json(i)
        };
        let (status, body) = e.call(req).await;
        assert!(
            status == 200 || status == 204,
            "{file}: {path} → {status} {body}"
        );
    }
    let (_, listed) = e
        .call(
            e.api(Method::GET, &format!("/calendars/{cal}/events"))
                .query(&[("showDeleted", "true")]),
        )
        .await;
    let (_, single) = e
        .call(
            e.api(Method::GET, &format!("/calendars/{cal}/events"))
                .query(&[
                    ("singleEvents", "true"),
                    ("showDeleted", "true"),
                    ("timeMin", "2000-01-01T00:00:00Z"),
                    ("timeMax", "2040-01-01T00:00:00Z"),
                ]),
        )
        .await;
    let find = |page: &Value, id: &str| -> Option<Value> {
        page["items"]
            .as_array()?
            .iter()
            .find(|x| x["id"] == id)
            .cloned()
    };
    for want in &all {
        let id = str_of(want, "id");
        let orphan = orphans.contains_key(str_of(want, "recurringEventId"));
        let got = if orphan {
            find(&single, id)
        } else {
            find(&listed, id)
        };
        let got = got.unwrap_or_else(|| panic!("{file}: {id} is listed"));
        same_shape(want, &got, &format!("{file} list {id}"));
        let master = str_of(want, "recurringEventId");
        if !master.is_empty() {
            let (status, inst) = e
                .call(
                    e.api(
                        Method::GET,
                        &format!("/calendars/{cal}/events/{master}/instances"),
                    )
                    .query(&[("showDeleted", "true"), ("timeMin", "2000-01-01T00:00:00Z")]),
                )
                .await;
            assert_eq!(status, 200, "{inst}");
            let got = find(&inst, id).unwrap_or_else(|| panic!("{file}: {id} in instances"));
            same_shape(want, &got, &format!("{file} instances {id}"));
        }
    }
}

#[tokio::test]
async fn googles_samples_come_back_in_the_same_shape() {
    let e = Emu::start().await;
    for file in [
        "compass_incremental_cancelled_instance.json",
        "compass_incremental_deleted_series.json",
        "compass_modified_instance_exception.json",
        "compass_this_and_following_split.json",
        "event_conferenceData_and_recurring_master.json",
        "event_items_attendees_allday_2017.json",
        "events_list_singleEvents_allday_page.json",
    ] {
        check(&e, file).await;
    }
}
