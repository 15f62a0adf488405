//! Push delivery to a real local receiver: headers, order, stop, expiry, Google's retry rule.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use calsync_testkit::poll;
use reqwest::Method;
use serde_json::json;

use crate::{Emu, timed};

#[derive(Default)]
pub struct Receiver {
    pub seen: Mutex<Vec<Vec<(String, String)>>>,
    /// Statuses to answer next (200 once empty).
    script: Mutex<VecDeque<u16>>,
}

async fn hook(req: HttpRequest, body: web::Bytes, r: web::Data<Receiver>) -> HttpResponse {
    assert!(body.is_empty(), "Calendar pushes carry no body");
    let headers = req
        .headers()
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("x-goog-"))
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    r.seen.lock().unwrap().push(headers);
    let status = r.script.lock().unwrap().pop_front().unwrap_or(200);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

pub async fn receiver() -> (String, web::Data<Receiver>) {
    let data = web::Data::new(Receiver::default());
    let d = data.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(d.clone())
            .route("/hook", web::post().to(hook))
    })
    .listen(listener)
    .unwrap()
    .workers(1)
    .run();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}/hook"), data)
}

pub fn header<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
    h.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

pub async fn count_after(r: &Receiver, n: usize) -> usize {
    poll(
        Duration::from_secs(2),
        Duration::from_millis(20),
        || async { r.seen.lock().unwrap().len() >= n },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    r.seen.lock().unwrap().len()
}

#[tokio::test]
async fn watch_delivers_sync_then_exists_with_every_header_until_stopped() {
    let e = Emu::start().await;
    let (address, r) = receiver().await;
    let (status, ch) = e
        .call(e.api(Method::POST, "/calendars/primary/events/watch").json(&json!({"id": "chan-1", "type": "web_hook", "address": address, "token": "t=1", "params": {"ttl": "3600"}})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(ch["kind"], "api#channel");
    assert!(
        ch["expiration"].as_str().unwrap().parse::<i64>().is_ok(),
        "expiration in ms, as a string"
    );
    assert_eq!(count_after(&r, 1).await, 1);
    e.insert(timed("a", 9)).await;
    e.insert(timed("b", 10)).await;
    assert_eq!(count_after(&r, 3).await, 3);
    let seen = r.seen.lock().unwrap().clone();
    assert_eq!(header(&seen[0], "x-goog-resource-state"), "sync");
    assert_eq!(header(&seen[0], "x-goog-message-number"), "1");
    for h in &seen[1..] {
        assert_eq!(header(h, "x-goog-resource-state"), "exists");
        assert_eq!(header(h, "x-goog-channel-id"), "chan-1");
        assert_eq!(header(h, "x-goog-channel-token"), "t=1");
        assert_eq!(
            header(h, "x-goog-resource-id"),
            ch["resourceId"].as_str().unwrap()
        );
        assert!(header(h, "x-goog-resource-uri").contains("/calendars/primary/events"));
        assert!(header(h, "x-goog-channel-expiration").ends_with("GMT"));
    }
    let numbers: Vec<i64> = seen
        .iter()
        .map(|h| header(h, "x-goog-message-number").parse().unwrap())
        .collect();
    assert!(numbers.windows(2).all(|w| w[1] > w[0]), "{numbers:?}");

    let (status, _) = e
        .call(
            e.api(Method::POST, "/channels/stop")
                .json(&json!({"id": "chan-1", "resourceId": ch["resourceId"]})),
        )
        .await;
    assert_eq!(status, 204);
    e.insert(timed("c", 11)).await;
    assert_eq!(
        count_after(&r, 4).await,
        3,
        "stopped channels deliver nothing"
    );
    let (status, _) = e
        .call(
            e.api(Method::POST, "/channels/stop")
                .json(&json!({"id": "chan-1", "resourceId": ch["resourceId"]})),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn expired_channels_stop_delivering() {
    let e = Emu::start().await;
    let (address, r) = receiver().await;
    e.call(
        e.api(Method::POST, "/calendars/primary/events/watch")
            .json(&json!({"id": "chan-x", "type": "web_hook", "address": address})),
    )
    .await;
    assert_eq!(count_after(&r, 1).await, 1);
    e.control("/channels/chan-x/expire", json!({})).await;
    e.insert(timed("a", 9)).await;
    assert_eq!(count_after(&r, 2).await, 1);
}

#[tokio::test]
async fn a_503_is_retried_and_a_404_is_not() {
    let e = Emu::start().await;
    let (address, r) = receiver().await;
    r.script.lock().unwrap().extend([200, 503, 503, 200, 404]);
    e.call(
        e.api(Method::POST, "/calendars/primary/events/watch")
            .json(&json!({"id": "chan-r", "type": "web_hook", "address": address})),
    )
    .await;
    assert_eq!(count_after(&r, 1).await, 1);
    e.insert(timed("a", 9)).await;
    assert_eq!(count_after(&r, 4).await, 4, "503, 503, then delivered");
    e.insert(timed("b", 10)).await;
    assert_eq!(
        count_after(&r, 6).await,
        5,
        "a 404 is a failed message, not retried"
    );
}

#[tokio::test]
async fn ten_thousand_calendars_with_a_channel_each_notify_only_their_own() {
    let e = Emu::start().await;
    let (address, r) = receiver().await;
    for i in 0..10_000 {
        e.control("/calendars", json!({"id": format!("cal{i}")}))
            .await;
        let (status, _) = e
            .call(
                e.api(Method::POST, &format!("/calendars/cal{i}/events/watch"))
                    .json(&json!({"id": format!("ch{i}"), "type": "web_hook", "address": address})),
            )
            .await;
        assert_eq!(status, 200);
    }
    assert_eq!(
        count_after(&r, 10_000).await,
        10_000,
        "one sync message per channel"
    );
    let (status, _) = e
        .call(
            e.api(Method::POST, "/calendars/cal4242/events")
                .json(&timed("one", 9)),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(count_after(&r, 10_001).await, 10_001);
    let last = r.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(header(&last, "x-goog-channel-id"), "ch4242");
    assert_eq!(header(&last, "x-goog-resource-state"), "exists");
}
