//! events.list, writes, errors, recurrence, tokens and faults.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Emu, timed};

#[tokio::test]
async fn paging_and_sync_tokens_follow_googles_rules() {
    let e = Emu::start().await;
    for i in 0..5 {
        e.insert(timed(&format!("e{i}"), 8 + i)).await;
    }
    let mut page: Option<String> = None;
    let mut seen = 0;
    let sync_token = loop {
        let mut req = e
            .api(Method::GET, "/calendars/primary/events")
            .query(&[("maxResults", "2")]);
        if let Some(p) = &page {
            req = req.query(&[("pageToken", p)]);
        }
        let (status, body) = e.call(req).await;
        assert_eq!(status, 200);
        assert_eq!(body["kind"], "calendar#events");
        seen += body["items"].as_array().unwrap().len();
        match body["nextPageToken"].as_str() {
            Some(p) => {
                assert!(
                    body.get("nextSyncToken").is_none(),
                    "nextSyncToken only on the last page"
                );
                page = Some(p.to_string());
            }
            None => break body["nextSyncToken"].as_str().unwrap().to_string(),
        }
    };
    assert_eq!(seen, 5);
    let (_, inc) = e
        .call(
            e.api(Method::GET, "/calendars/primary/events")
                .query(&[("syncToken", &sync_token)]),
        )
        .await;
    assert!(inc["items"].as_array().unwrap().is_empty());
    let new = e.insert(timed("later", 20)).await;
    let (_, inc) = e
        .call(
            e.api(Method::GET, "/calendars/primary/events")
                .query(&[("syncToken", &sync_token)]),
        )
        .await;
    let items = inc["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], new["id"]);
    // Parameters Google forbids with a sync token.
    for bad in ["timeMin", "orderBy", "q", "updatedMin"] {
        let (status, body) = e
            .call(e.api(Method::GET, "/calendars/primary/events").query(&[
                ("syncToken", sync_token.as_str()),
                (bad, "2030-01-01T00:00:00Z"),
            ]))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    // Invalidated tokens: 410 fullSyncRequired with Google's exact body.
    e.control("/sync-tokens/invalidate", json!({})).await;
    let (status, body) = e
        .call(
            e.api(Method::GET, "/calendars/primary/events")
                .query(&[("syncToken", &sync_token)]),
        )
        .await;
    assert_eq!(status, 410);
    assert_eq!(
        body["error"]["errors"][0],
        json!({"domain": "calendar", "reason": "fullSyncRequired", "message": "Sync token is no longer valid, a full sync is required.", "locationType": "parameter", "location": "syncToken"})
    );
}

#[tokio::test]
async fn deletions_come_back_as_minimal_tombstones_in_incremental_lists() {
    let e = Emu::start().await;
    let ev = e.insert(timed("doomed", 9)).await;
    let (_, full) = e
        .call(e.api(Method::GET, "/calendars/primary/events"))
        .await;
    let token = full["nextSyncToken"].as_str().unwrap().to_string();
    let id = ev["id"].as_str().unwrap();
    let (status, _) = e
        .call(e.api(Method::DELETE, &format!("/calendars/primary/events/{id}")))
        .await;
    assert_eq!(status, 204);
    let (status, body) = e
        .call(e.api(Method::DELETE, &format!("/calendars/primary/events/{id}")))
        .await;
    assert_eq!(
        (status, body["error"]["errors"][0]["reason"].clone()),
        (410, json!("deleted"))
    );
    let (_, inc) = e
        .call(
            e.api(Method::GET, "/calendars/primary/events")
                .query(&[("syncToken", &token)]),
        )
        .await;
    let item = &inc["items"][0];
    assert_eq!(item["status"], "cancelled");
    assert!(
        item.get("summary").is_none(),
        "tombstones carry only ids: {item}"
    );
    let (_, after) = e
        .call(e.api(Method::GET, "/calendars/primary/events"))
        .await;
    assert!(
        after["items"].as_array().unwrap().is_empty(),
        "full lists hide cancelled events"
    );
    let (status, got) = e
        .call(e.api(Method::GET, &format!("/calendars/primary/events/{id}")))
        .await;
    assert_eq!(
        (status, got["status"].clone()),
        (200, json!("cancelled")),
        "events.get still returns it"
    );
}

#[tokio::test]
async fn writes_follow_etags_ids_and_patch_semantics() {
    let e = Emu::start().await;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut body = timed("a", 9);
    body["id"] = json!(id);
    body["attendees"] = json!([{"email": "a@example.org"}, {"email": "b@example.org"}]);
    body["location"] = json!("Room 1");
    let ev = e.insert(body.clone()).await;
    assert!(ev["etag"].as_str().unwrap().starts_with('"'));
    assert!(ev["updated"].as_str().unwrap().ends_with('Z'));
    assert_eq!(ev["sequence"], 0);
    let (status, dup) = e
        .call(e.api(Method::POST, "/calendars/primary/events").json(&body))
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        dup["error"]["message"],
        "The requested identifier already exists."
    );
    let mut bad = timed("b", 9);
    bad["id"] = json!("NOT-base32hex");
    assert_eq!(
        e.call(e.api(Method::POST, "/calendars/primary/events").json(&bad))
            .await
            .0,
        400
    );
    bad["id"] = json!("abcd");
    assert_eq!(
        e.call(e.api(Method::POST, "/calendars/primary/events").json(&bad))
            .await
            .0,
        400,
        "too short"
    );
    assert_eq!(
        e.call(
            e.api(Method::POST, "/calendars/primary/events")
                .json(&json!({"summary": "no times"}))
        )
        .await
        .0,
        400
    );

    let etag = ev["etag"].as_str().unwrap().to_string();
    let path = format!("/calendars/primary/events/{id}");
    let (status, patched) = e
        .call(
            e.api(Method::PATCH, &path)
                .header("If-Match", &etag)
                .json(&json!({"location": null, "attendees": [{"email": "c@example.org"}]})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(patched.get("location").is_none(), "null deletes a field");
    assert_eq!(
        patched["attendees"].as_array().unwrap().len(),
        1,
        "arrays are replaced wholesale"
    );
    assert_eq!(patched["summary"], "a", "untouched fields stay");
    assert_ne!(patched["etag"], ev["etag"]);
    assert_eq!(patched["sequence"], 0, "no time change, no sequence bump");
    let (status, stale) = e
        .call(
            e.api(Method::PATCH, &path)
                .header("If-Match", &etag)
                .json(&json!({"summary": "x"})),
        )
        .await;
    assert_eq!(status, 412);
    assert_eq!(stale["error"]["errors"][0]["reason"], "conditionNotMet");
    let (_, moved) = e.call(e.api(Method::PATCH, &path).json(&json!({"start": {"dateTime": "2030-01-02T09:00:00Z"}, "end": {"dateTime": "2030-01-02T10:00:00Z"}}))).await;
    assert_eq!(moved["sequence"], 1, "a time change bumps sequence");
    let (status, put) = e
        .call(e.api(Method::PUT, &path).json(&timed("replaced", 11)))
        .await;
    assert_eq!(status, 200);
    assert!(put.get("attendees").is_none(), "PUT clears omitted fields");
}

#[tokio::test]
async fn recurring_series_expand_with_exceptions_applied() {
    let e = Emu::start().await;
    let master = e
        .insert(
            json!({"summary": "daily", "recurrence": ["RRULE:FREQ=DAILY;COUNT=4"],
            "start": {"dateTime": "2030-01-01T09:00:00+01:00", "timeZone": "Europe/Paris"},
            "end": {"dateTime": "2030-01-01T10:00:00+01:00", "timeZone": "Europe/Paris"}}),
        )
        .await;
    let mid = master["id"].as_str().unwrap();
    let (status, moved) = e
        .call(
            e.api(
                Method::PATCH,
                &format!("/calendars/primary/events/{mid}_20300102T080000Z"),
            )
            .json(&json!({"summary": "moved"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(moved["recurringEventId"], mid);
    assert!(moved.get("originalStartTime").is_some());
    e.call(e.api(
        Method::DELETE,
        &format!("/calendars/primary/events/{mid}_20300103T080000Z"),
    ))
    .await;
    let (_, single) = e
        .call(e.api(Method::GET, "/calendars/primary/events").query(&[
            ("singleEvents", "true"),
            ("timeMin", "2029-12-31T00:00:00Z"),
            ("timeMax", "2030-01-10T00:00:00Z"),
        ]))
        .await;
    let summaries: Vec<&str> = single["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["summary"].as_str().unwrap())
        .collect();
    assert_eq!(summaries, vec!["daily", "moved", "daily"], "{single}");
    let (_, masters) = e
        .call(e.api(Method::GET, "/calendars/primary/events"))
        .await;
    let items = masters["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        3,
        "master + modified + cancelled exception: {masters}"
    );
}

#[tokio::test]
async fn tokens_expire_and_requests_without_one_get_googles_401() {
    let e = Emu::start().await;
    let (status, body) = e
        .call(
            e.http
                .get(format!("{}/calendars/primary/events", e.emu.api_base_url())),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["errors"][0]["reason"], "authError");
    e.control("/tokens/expire", json!({})).await;
    assert_eq!(
        e.call(e.api(Method::GET, "/calendars/primary/events"))
            .await
            .0,
        401
    );
    let bad: Value = e
        .http
        .post(e.emu.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", calsync::emulator::dev_credentials::CLIENT_ID),
            (
                "client_secret",
                calsync::emulator::dev_credentials::CLIENT_SECRET,
            ),
            ("refresh_token", "nope"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bad["error"], "invalid_grant");
}

#[tokio::test]
async fn injected_faults_are_deterministic_for_a_seed() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let e = Emu::start().await;
        e.control(
            "/faults",
            json!({"seed": seed, "rate_429": 0.2, "rate_503": 0.2, "retry_after_secs": 2}),
        )
        .await;
        let mut out = Vec::new();
        for _ in 0..30 {
            let resp = e
                .api(Method::GET, "/calendars/primary/events")
                .send()
                .await
                .unwrap();
            if resp.status() == 429 {
                assert_eq!(resp.headers()["retry-after"], "2");
            }
            out.push(resp.status().as_u16());
        }
        out
    }
    let a = statuses(42).await;
    assert_eq!(a, statuses(42).await);
    assert!(
        a.contains(&429) && a.contains(&503) && a.contains(&200),
        "{a:?}"
    );
}

#[tokio::test]
async fn a_hundred_thousand_events_list_page_by_page() {
    let e = Emu::start().await;
    e.control("/calendars/primary/bulk", json!({"count": 100_000}))
        .await;
    let mut page: Option<String> = None;
    let mut total = 0;
    loop {
        let mut req = e
            .api(Method::GET, "/calendars/primary/events")
            .query(&[("maxResults", "2500")]);
        if let Some(p) = &page {
            req = req.query(&[("pageToken", p)]);
        }
        let (_, body) = e.call(req).await;
        total += body["items"].as_array().unwrap().len();
        match body["nextPageToken"].as_str() {
            Some(p) => page = Some(p.to_string()),
            None => break,
        }
    }
    assert_eq!(total, 100_000);
}
