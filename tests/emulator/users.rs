//! Several Google accounts in one emulator: each user's calendars, events, calendar list and channels
//! are its own; nothing crosses, whether through the API with each user's token or through the control
//! API under `/emulator/users/{email}` (faults, tokens and the log: user_limits.rs).

use std::time::Duration;

use calsync::emulator::dev_credentials;
use calsync_testkit::Google;
use reqwest::Method;
use serde_json::{Value, json};

use crate::push::{header, receiver};
use crate::timed;

pub const ALICE: &str = "alice@example.org";
pub const BOB: &str = "bob@example.org";

/// The token endpoint's answer to a refresh grant with `refresh`.
pub async fn grant(g: &Google, refresh: &str) -> (u16, Value) {
    let resp = g
        .http
        .post(g.emu.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", dev_credentials::CLIENT_ID),
            ("client_secret", dev_credentials::CLIENT_SECRET),
            ("refresh_token", refresh),
        ])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// An access token from `refresh`.
pub async fn token(g: &Google, refresh: &str) -> String {
    let (status, body) = grant(g, refresh).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// A Calendar API call with `token`: its status and JSON body (`null` when none).
pub async fn call(
    g: &Google,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = g
        .http
        .request(method, format!("{}{path}", g.emu.api_base_url()))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn summaries(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|i| i["summary"].as_str().unwrap_or(""))
        .collect()
}

async fn raw(g: &Google, method: Method, path: &str, body: Value) -> (u16, Value) {
    let resp = g
        .http
        .request(method, format!("{}{path}", g.emu.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn two_users_with_the_same_calendar_ids_share_nothing() {
    let g = Google::start().await;
    let (ta, tb) = (
        token(&g, &g.add_user(ALICE).await).await,
        token(&g, &g.add_user(BOB).await).await,
    );
    let (alice, bob) = (g.user(ALICE), g.user(BOB));
    alice
        .add_calendar(json!({"id": "team", "summary": "A team"}))
        .await;
    bob.add_calendar(json!({"id": "team", "summary": "B team"}))
        .await;

    // Through the API, each with its own token: the same client id in both primaries is no conflict.
    let mut mine = timed("alice primary", 9);
    mine["id"] = json!("sameid001");
    let (status, created) = call(
        &g,
        &ta,
        Method::POST,
        "/calendars/primary/events",
        Some(mine),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["organizer"]["email"], ALICE);
    let mut theirs = timed("bob primary", 10);
    theirs["id"] = json!("sameid001");
    let (status, _) = call(
        &g,
        &tb,
        Method::POST,
        "/calendars/primary/events",
        Some(theirs),
    )
    .await;
    assert_eq!(status, 200);
    // Through the control API, as each user in Google's UI.
    let only_alice = alice.insert("team", timed("alice team", 11)).await;
    bob.insert("team", timed("bob team", 12)).await;

    assert_eq!(
        summaries(&alice.list_all("primary").await),
        ["alice primary"]
    );
    assert_eq!(summaries(&bob.list_all("primary").await), ["bob primary"]);
    assert_eq!(summaries(&alice.list_all("team").await), ["alice team"]);
    assert_eq!(summaries(&bob.list_all("team").await), ["bob team"]);
    assert!(
        g.list_all("primary").await.is_empty(),
        "the default user sees neither"
    );
    let alias = format!("/calendars/{ALICE}/events/sameid001");
    let (status, got) = call(&g, &ta, Method::GET, &alias, None).await;
    assert_eq!(
        (status, got["summary"].as_str()),
        (200, Some("alice primary"))
    );
    let other = format!(
        "/calendars/team/events/{}",
        only_alice["id"].as_str().unwrap()
    );
    assert_eq!(call(&g, &tb, Method::GET, &other, None).await.0, 404);
    assert_eq!(
        call(&g, &tb, Method::GET, &alias, None).await.0,
        404,
        "Alice's address is not Bob's calendar"
    );
    let peek = format!("/emulator/users/{BOB}{other}");
    assert_eq!(raw(&g, Method::GET, &peek, Value::Null).await.0, 404);

    // Each calendar list: its own primary (aliased by its address) and its own "team".
    let (_, list) = call(&g, &tb, Method::GET, "/users/me/calendarList", None).await;
    let entries: Vec<(&str, &str)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["summary"].as_str().unwrap()))
        .collect();
    assert_eq!(entries, [("primary", BOB), ("team", "B team")]);
    let (_, cal) = call(&g, &ta, Method::GET, &format!("/calendars/{ALICE}"), None).await;
    assert_eq!(cal["id"], "primary");

    // Unknown users are 404 on the control API; a reset leaves the default user alone.
    let (status, body) = raw(
        &g,
        Method::POST,
        "/emulator/users/nobody@x.org/calendars",
        json!({"id": "c"}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown user"))
    );
    let (status, _) = raw(
        &g,
        Method::POST,
        "/emulator/users",
        json!({"email": "not-an-address"}),
    )
    .await;
    assert_eq!(status, 400);
    g.control("POST", "/emulator/reset", json!({})).await;
    let users = g.control("GET", "/emulator/users", Value::Null).await;
    assert_eq!(
        users["users"],
        json!([{"email": dev_credentials::USER_EMAIL, "calendars": ["primary"]}])
    );
    assert_eq!(
        call(&g, &ta, Method::GET, "/calendars/primary/events", None)
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn channels_push_their_own_user_and_stop_only_by_it() {
    let g = Google::start().await;
    let (ta, tb) = (
        token(&g, &g.add_user(ALICE).await).await,
        token(&g, &g.add_user(BOB).await).await,
    );
    let (address, r) = receiver().await;
    let watch = |id: &str| json!({"id": id, "type": "web_hook", "address": address});
    let (status, ch) = call(
        &g,
        &ta,
        Method::POST,
        "/calendars/primary/events/watch",
        Some(watch("a-primary")),
    )
    .await;
    assert_eq!(status, 200, "{ch}");
    let (status, _) = call(
        &g,
        &tb,
        Method::POST,
        "/calendars/primary/events/watch",
        Some(watch("b-primary")),
    )
    .await;
    assert_eq!(status, 200);
    // Channel ids stay unique across users.
    let (status, dup) = call(
        &g,
        &tb,
        Method::POST,
        "/calendars/primary/events/watch",
        Some(watch("a-primary")),
    )
    .await;
    assert_eq!(
        (status, dup["error"]["errors"][0]["reason"].as_str()),
        (400, Some("channelIdNotUnique"))
    );

    g.user(ALICE).insert("primary", timed("x", 9)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen: Vec<(String, String)> = r
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|h| {
            (
                header(h, "x-goog-channel-id").to_string(),
                header(h, "x-goog-resource-state").to_string(),
            )
        })
        .collect();
    let exists: Vec<&str> = seen
        .iter()
        .filter(|(_, s)| s == "exists")
        .map(|(c, _)| c.as_str())
        .collect();
    assert_eq!(
        exists,
        ["a-primary"],
        "Bob's primary did not change: {seen:?}"
    );

    let channels = g.control("GET", "/emulator/channels", Value::Null).await;
    let mut owners: Vec<(String, String)> = channels["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().into(),
                c["user"].as_str().unwrap().into(),
            )
        })
        .collect();
    owners.sort();
    assert_eq!(
        owners,
        [
            ("a-primary".into(), ALICE.into()),
            ("b-primary".into(), BOB.into())
        ]
    );

    let stop = json!({"id": "a-primary", "resourceId": ch["resourceId"]});
    let (status, body) = call(&g, &tb, Method::POST, "/channels/stop", Some(stop.clone())).await;
    assert_eq!(
        (status, body["error"]["errors"][0]["reason"].as_str()),
        (404, Some("notFound"))
    );
    assert_eq!(
        call(&g, &ta, Method::POST, "/channels/stop", Some(stop))
            .await
            .0,
        204
    );
}
