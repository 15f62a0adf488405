//! events.instances (paging, exceptions, splits), events.move, calendars, colors and `fields=`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::Emu;

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn daily(count: u32) -> Value {
    json!({"summary": "daily",
        "start": {"dateTime": "2030-01-01T09:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": "2030-01-01T10:00:00Z", "timeZone": "UTC"},
        "recurrence": [format!("RRULE:FREQ=DAILY;COUNT={count}")]})
}

#[tokio::test]
async fn instances_page_and_reflect_edited_and_cancelled_occurrences() {
    let e = Emu::start().await;
    let master = e.insert(daily(5)).await;
    let id = master["id"].as_str().unwrap().to_string();
    let path = format!("/calendars/primary/events/{id}/instances");
    let second = format!("{id}_20300102T090000Z");
    let third = format!("{id}_20300103T090000Z");
    let (status, moved) = e
        .call(
            e.api(
                Method::PATCH,
                &format!("/calendars/primary/events/{second}"),
            )
            .json(
                &json!({"summary": "later", "start": {"dateTime": "2030-01-02T15:00:00Z"},
                    "end": {"dateTime": "2030-01-02T16:00:00Z"}}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["sequence"], 1);
    let (status, _) = e
        .call(e.api(
            Method::DELETE,
            &format!("/calendars/primary/events/{third}"),
        ))
        .await;
    assert_eq!(status, 204);

    let mut all = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let mut req = e.api(Method::GET, &path).query(&[("maxResults", "2")]);
        if let Some(p) = &page {
            req = req.query(&[("pageToken", p)]);
        }
        let (status, body) = e.call(req).await;
        assert_eq!(status, 200, "{body}");
        all.extend(body["items"].as_array().unwrap().clone());
        match body["nextPageToken"].as_str() {
            Some(p) => page = Some(p.to_string()),
            None => break,
        }
    }
    let got: Vec<&str> = all.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(
        got.len(),
        4,
        "the cancelled occurrence is left out: {got:?}"
    );
    assert!(!got.contains(&third.as_str()));
    let edited = all.iter().find(|i| i["id"] == second.as_str()).unwrap();
    assert_eq!(edited["summary"], "later");
    assert_eq!(edited["start"]["dateTime"], "2030-01-02T15:00:00Z");
    assert_eq!(
        edited["originalStartTime"]["dateTime"],
        "2030-01-02T09:00:00Z"
    );
    for i in &all {
        assert_eq!(i["recurringEventId"], id.as_str());
        assert!(i.get("recurrence").is_none());
        assert!(i["originalStartTime"].is_object());
    }
    let (_, with_deleted) = e
        .call(e.api(Method::GET, &path).query(&[("showDeleted", "true")]))
        .await;
    let cancelled = with_deleted["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == third.as_str())
        .cloned()
        .unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        cancelled["originalStartTime"]["dateTime"],
        "2030-01-03T09:00:00Z"
    );
    let (_, window) = e
        .call(e.api(Method::GET, &path).query(&[
            ("timeMin", "2030-01-04T00:00:00Z"),
            ("timeMax", "2030-01-06T00:00:00Z"),
        ]))
        .await;
    assert_eq!(
        ids(&window),
        [
            format!("{id}_20300104T090000Z"),
            format!("{id}_20300105T090000Z")
        ]
    );
    let (status, _) = e
        .call(e.api(
            Method::GET,
            "/calendars/primary/events/nosuchevent/instances",
        ))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn this_and_following_is_an_until_on_the_old_series_and_a_new_series() {
    let e = Emu::start().await;
    let old = e.insert(daily(10)).await;
    let id = old["id"].as_str().unwrap().to_string();
    let (status, _) = e
        .call(
            e.api(Method::PATCH, &format!("/calendars/primary/events/{id}"))
                .json(&json!({"recurrence": ["RRULE:FREQ=DAILY;UNTIL=20300103T235959Z"]})),
        )
        .await;
    assert_eq!(status, 200);
    let new = e
        .insert(
            json!({"summary": "daily, later", "recurrence": ["RRULE:FREQ=DAILY;COUNT=7"],
            "start": {"dateTime": "2030-01-04T11:00:00Z", "timeZone": "UTC"},
            "end": {"dateTime": "2030-01-04T12:00:00Z", "timeZone": "UTC"}}),
        )
        .await;
    let (_, inst) = e
        .call(e.api(
            Method::GET,
            &format!("/calendars/primary/events/{id}/instances"),
        ))
        .await;
    assert_eq!(ids(&inst).len(), 3, "the old series ends at its UNTIL");
    let (_, single) = e
        .call(e.api(Method::GET, "/calendars/primary/events").query(&[
            ("singleEvents", "true"),
            ("orderBy", "startTime"),
            ("timeMin", "2029-12-01T00:00:00Z"),
            ("timeMax", "2030-03-01T00:00:00Z"),
        ]))
        .await;
    let all = ids(&single);
    assert_eq!(all.len(), 10, "{all:?}");
    assert_eq!(all[2], format!("{id}_20300103T090000Z"));
    assert_eq!(
        all[3],
        format!("{}_20300104T110000Z", new["id"].as_str().unwrap())
    );
    let (_, masters) = e
        .call(e.api(Method::GET, "/calendars/primary/events"))
        .await;
    let listed = masters["items"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed[0]["recurrence"][0],
        "RRULE:FREQ=DAILY;UNTIL=20300103T235959Z"
    );
}

async fn sync(e: &Emu, cal: &str) -> String {
    let (_, b) = e
        .call(e.api(Method::GET, &format!("/calendars/{cal}/events")))
        .await;
    b["nextSyncToken"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn move_cancels_in_the_source_and_creates_in_the_destination() {
    let e = Emu::start().await;
    e.control("/calendars", json!({"id": "other", "timeZone": "UTC"}))
        .await;
    let ev = e.insert(crate::timed("moving", 9)).await;
    let id = ev["id"].as_str().unwrap().to_string();
    let (src_token, dst_token) = (sync(&e, "primary").await, sync(&e, "other").await);
    let (status, moved) = e
        .call(
            e.api(
                Method::POST,
                &format!("/calendars/primary/events/{id}/move"),
            )
            .query(&[("destination", "other")]),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["id"], id.as_str());
    assert_eq!(moved["iCalUID"], ev["iCalUID"]);
    assert_eq!(moved["organizer"]["email"], "other");
    let (_, src) = e
        .call(
            e.api(Method::GET, "/calendars/primary/events")
                .query(&[("syncToken", &src_token)]),
        )
        .await;
    assert_eq!(src["items"][0]["id"], id.as_str());
    assert_eq!(src["items"][0]["status"], "cancelled");
    let (_, dst) = e
        .call(
            e.api(Method::GET, "/calendars/other/events")
                .query(&[("syncToken", &dst_token)]),
        )
        .await;
    assert_eq!(dst["items"][0]["id"], id.as_str());
    assert_eq!(dst["items"][0]["summary"], "moving");
    let (status, _) = e
        .call(e.api(
            Method::POST,
            &format!("/calendars/primary/events/{id}/move"),
        ))
        .await;
    assert_eq!(status, 400, "destination is required");
}

#[tokio::test]
async fn calendars_calendar_list_and_colors() {
    let e = Emu::start().await;
    let (status, cal) = e.call(e.api(Method::GET, "/calendars/primary")).await;
    assert_eq!(status, 200);
    assert_eq!(cal["kind"], "calendar#calendar");
    assert_eq!(cal["timeZone"], "Europe/Paris");
    let (status, entry) = e
        .call(e.api(Method::GET, "/users/me/calendarList/primary"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(entry["accessRole"], "owner");
    assert_eq!(entry["primary"], true);
    let (status, _) = e.call(e.api(Method::GET, "/calendars/nope")).await;
    assert_eq!(status, 404);
    let (status, colors) = e.call(e.api(Method::GET, "/colors")).await;
    assert_eq!(status, 200);
    assert_eq!(colors["kind"], "calendar#colors");
    assert_eq!(colors["event"]["11"]["background"], "#dc2127");
    assert_eq!(colors["calendar"].as_object().unwrap().len(), 24);
}

#[tokio::test]
async fn fields_selects_partial_responses() {
    let e = Emu::start().await;
    let ev = e.insert(crate::timed("partial", 9)).await;
    let (status, list) = e
        .call(
            e.api(Method::GET, "/calendars/primary/events")
                .query(&[("fields", "items(id,summary),nextSyncToken")]),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_object().unwrap().len(), 2, "{list}");
    assert_eq!(
        list["items"][0],
        json!({"id": ev["id"], "summary": "partial"})
    );
    let path = format!("/calendars/primary/events/{}", ev["id"].as_str().unwrap());
    let (_, one) = e
        .call(
            e.api(Method::GET, &path)
                .query(&[("fields", "start/dateTime,status")]),
        )
        .await;
    assert_eq!(
        one,
        json!({"start": {"dateTime": "2030-01-01T09:00:00Z"}, "status": "confirmed"})
    );
    let (status, body) = e
        .call(e.api(Method::GET, &path).query(&[("fields", "items(id")]))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["errors"][0]["reason"], "invalidParameter");
}
