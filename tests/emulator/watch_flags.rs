//! calendarList.watch, pushes of a move on both calendars, and the control flags that refuse or silence watches.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::push::{count_after, header, receiver};
use crate::{Emu, timed};

fn channel(id: &str, address: &str) -> serde_json::Value {
    json!({"id": id, "type": "web_hook", "address": address})
}

#[tokio::test]
async fn calendar_list_watch_pushes_when_calendars_come_and_go() {
    let e = Emu::start().await;
    let (address, r) = receiver().await;
    let (status, ch) = e
        .call(
            e.api(Method::POST, "/users/me/calendarList/watch")
                .json(&channel("list-1", &address)),
        )
        .await;
    assert_eq!(status, 200, "{ch}");
    assert!(
        ch["resourceUri"]
            .as_str()
            .unwrap()
            .contains("/users/me/calendarList")
    );
    assert_eq!(count_after(&r, 1).await, 1);
    e.control("/calendars", json!({"id": "added"})).await;
    assert_eq!(count_after(&r, 2).await, 2);
    e.control("/calendars", json!({"id": "added", "summary": "renamed"}))
        .await;
    let status = e
        .http
        .delete(format!("{}/emulator/calendars/added", e.emu.base_url()))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    assert_eq!(
        count_after(&r, 4).await,
        3,
        "an update is not a list change"
    );
    let seen = r.seen.lock().unwrap().clone();
    assert_eq!(header(&seen[0], "x-goog-resource-state"), "sync");
    assert_eq!(header(&seen[2], "x-goog-resource-state"), "exists");
    assert!(header(&seen[2], "x-goog-resource-uri").contains("calendarList"));
    let (_, list) = e.call(e.api(Method::GET, "/users/me/calendarList")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_move_pushes_both_calendars() {
    let e = Emu::start().await;
    e.control("/calendars", json!({"id": "other"})).await;
    let (a, ra) = receiver().await;
    let (b, rb) = receiver().await;
    for (cal, id, addr) in [("primary", "ca", &a), ("other", "cb", &b)] {
        let (status, _) = e
            .call(
                e.api(Method::POST, &format!("/calendars/{cal}/events/watch"))
                    .json(&channel(id, addr)),
            )
            .await;
        assert_eq!(status, 200);
    }
    let ev = e.insert(timed("m", 9)).await;
    assert_eq!(count_after(&ra, 2).await, 2);
    let path = format!(
        "/calendars/primary/events/{}/move",
        ev["id"].as_str().unwrap()
    );
    let (status, _) = e
        .call(
            e.api(Method::POST, &path)
                .query(&[("destination", "other")]),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(count_after(&ra, 3).await, 3);
    assert_eq!(count_after(&rb, 2).await, 2);
}

#[tokio::test]
async fn flagged_calendars_refuse_or_silence_watches() {
    let e = Emu::start().await;
    e.control(
        "/calendars",
        json!({"id": "holidays", "pushNotSupported": true}),
    )
    .await;
    e.control("/calendars", json!({"id": "quiet", "silentChannels": true}))
        .await;
    let (address, r) = receiver().await;
    let (status, body) = e
        .call(
            e.api(Method::POST, "/calendars/holidays/events/watch")
                .json(&channel("h", &address)),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["errors"][0]["reason"],
        "pushNotSupportedForRequestedResource"
    );
    assert_eq!(
        body["error"]["message"],
        "Push notifications are not supported by this resource."
    );
    let (status, ch) = e
        .call(
            e.api(Method::POST, "/calendars/quiet/events/watch")
                .json(&channel("q", &address)),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(ch["id"], "q");
    e.control("/calendars/quiet/events", timed("x", 9)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        r.seen.lock().unwrap().len(),
        0,
        "a silent channel delivers nothing"
    );
    let (_, channels) = e
        .call(
            e.http
                .get(format!("{}/emulator/channels", e.emu.base_url())),
        )
        .await;
    assert_eq!(channels["channels"].as_array().unwrap().len(), 1);
}
