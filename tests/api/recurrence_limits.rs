//! Recurring series cost bounded work: sub-daily and malformed rules are refused at write time (API
//! and plain SQL), dense series are cut and say so, and `/today` never stalls the server.

use std::time::{Duration, Instant};

use calsync_testkit::api::{admin_token as token, call};
use calsync_testkit::{Google, spawn_app, start_synced_app};
use serde_json::{Value, json};

fn series(rule: &str) -> Value {
    json!({"casquette": "medecin", "summary": "x",
           "start": {"dateTime": "2000-01-01T10:00:00+00:00", "timeZone": "UTC"},
           "end": {"dateTime": "2000-01-01T10:00:01+00:00", "timeZone": "UTC"},
           "recurrence": [rule]})
}

#[tokio::test]
async fn the_secondly_reproduction_is_refused_with_a_400_naming_the_line() {
    let app = spawn_app().await;
    for rule in [
        "RRULE:FREQ=SECONDLY",
        "RRULE:FREQ=MINUTELY",
        "RRULE:garbage",
    ] {
        let (status, body) = call(
            &app,
            reqwest::Method::POST,
            "/api/v1/events",
            Some(series(rule)),
        )
        .await;
        assert_eq!(status, 400, "{rule}: {body}");
        let msg = body["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.starts_with("recurrence[0]:"), "{rule}: {msg}");
    }
    // PATCH goes through the same check.
    let (status, created) = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/events",
        Some(series("RRULE:FREQ=DAILY")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let path = format!("/api/v1/events/{}", created["id"].as_str().unwrap());
    let (status, body) = call(
        &app,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"recurrence": ["RRULE:FREQ=DAILY", "EXDATE:soon"]})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("recurrence[1]:"),
        "{body}"
    );
}

#[tokio::test]
async fn plain_sql_recurrence_lines_are_checked_by_the_trigger() {
    let app = spawn_app().await;
    for (lines, expect) in [
        (
            vec!["RRULE:FREQ=SECONDLY"],
            "recurrence[0]: FREQ=SECONDLY is not accepted",
        ),
        (
            vec!["RRULE:FREQ=DAILY", "RRULE:garbage"],
            "recurrence[1]: not a valid rule",
        ),
        (vec!["RRULE:INTERVAL=2"], "recurrence[0]: a rule needs FREQ"),
        (vec!["EXDATE:soon"], "recurrence[0]: each line must start"),
    ] {
        let err = sqlx::query(
            "INSERT INTO events (casquette, summary, start_at, end_at, time_zone, recurrence)
             VALUES ('medecin', 'x', now(), now() + interval '1 hour', 'UTC', $1)",
        )
        .bind(&lines)
        .execute(&app.pool)
        .await
        .expect_err(lines[0]);
        assert!(err.to_string().contains(expect), "{lines:?}: {err}");
    }
    sqlx::query(
        "INSERT INTO events (casquette, summary, start_at, end_at, time_zone, recurrence)
         VALUES ('medecin', 'x', now(), now() + interval '1 hour', 'Europe/Paris',
                 ARRAY['RRULE:FREQ=WEEKLY;BYDAY=MO,-1FR;UNTIL=20271231T235959Z', 'EXDATE;TZID=Europe/Paris:20270105T100000'])",
    )
    .execute(&app.pool)
    .await
    .expect("a well-formed series is accepted");
}

/// A row the sync wrote (Google's own) is not refused by the trigger; `/today` reports it unreadable.
#[tokio::test]
async fn a_secondly_series_from_google_is_reported_not_expanded() {
    let app = spawn_app().await;
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("SET LOCAL calsync.origin = 'google'")
        .execute(&mut *tx)
        .await
        .unwrap();
    let id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO events (calendar_id, casquette, external_id, summary, start_at, end_at, time_zone, recurrence)
         VALUES ('primary', 'medecin', 'g1', 'x', '2000-01-01T10:00:00Z', '2000-01-01T10:00:01Z', 'UTC',
                 ARRAY['RRULE:FREQ=SECONDLY']) RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let started = Instant::now();
    let (status, body) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/events/today?casquette=medecin",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        body["truncated"],
        json!([{"id": id, "reason": "unreadable_rule"}])
    );
}

/// The densest legal series (every second of every day, since 2000): each `/today` answers within
/// its deadline with a bounded, flagged result, and `/healthz` stays prompt while ten of them run.
#[tokio::test]
async fn dense_series_are_cut_and_the_server_stays_responsive() {
    let app = spawn_app().await;
    let all = |n: u32| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let dense = format!(
        "RRULE:FREQ=DAILY;BYHOUR={};BYMINUTE={};BYSECOND={}",
        all(24),
        all(60),
        all(60)
    );
    let counted = format!("{dense};COUNT=1000000000");
    let mut ids = Vec::new();
    for rule in [&dense, &counted] {
        let (status, created) = call(
            &app,
            reqwest::Method::POST,
            "/api/v1/events",
            Some(series(rule)),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].clone());
    }
    let requests: Vec<_> = (0..10)
        .map(|_| {
            let client = app.client.clone();
            let url = format!("{}/api/v1/events/today?casquette=medecin", app.address);
            tokio::spawn(async move {
                let started = Instant::now();
                let resp = client.get(url).bearer_auth(token()).send().await.unwrap();
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap();
                (status, body, started.elapsed())
            })
        })
        .collect();
    let mut slowest_health = Duration::ZERO;
    let mut slowest_push = Duration::ZERO;
    for i in 0..10 {
        let started = Instant::now();
        assert_eq!(app.get("/healthz").await.status(), 200);
        slowest_health = slowest_health.max(started.elapsed());
        // A push for a channel calsync does not know: acknowledged (2xx) at once, costing nothing.
        let started = Instant::now();
        let channel = format!("unknown-{i}");
        let push = app
            .client
            .post(format!("{}/webhooks/google", app.address))
            .header("X-Goog-Channel-ID", channel.as_str())
            .header("X-Goog-Message-Number", "2")
            .header("X-Goog-Resource-ID", "r")
            .header("X-Goog-Resource-State", "exists")
            .header(
                "X-Goog-Resource-URI",
                "https://www.googleapis.com/calendar/v3/calendars/primary/events",
            )
            .send()
            .await
            .unwrap();
        assert!(push.status().is_success(), "{}", push.status());
        slowest_push = slowest_push.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for r in requests {
        let (status, body, took) = r.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(took < Duration::from_secs(3), "a /today took {took:?}");
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 2 * 500, "{} items", items.len());
        let flagged: Vec<&Value> = body["truncated"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| &t["id"])
            .collect();
        for id in &ids {
            assert!(
                flagged.contains(&id),
                "{id} not flagged in {}",
                body["truncated"]
            );
        }
    }
    assert!(
        slowest_health < Duration::from_secs(1),
        "/healthz took {slowest_health:?}"
    );
    assert!(
        slowest_push < Duration::from_secs(1),
        "a push took {slowest_push:?}"
    );
}

/// SIGTERM's path (the shutdown token) stops the server within its grace while ten dense `/today`
/// requests are expanding: expansion has its own deadline and never pins the process.
#[tokio::test]
async fn shutdown_is_prompt_while_dense_expansions_run() {
    let google = Google::start().await;
    // The test settings give a 1 s grace.
    let (app, server) = start_synced_app(&google, &[]).await;
    let all = |n: u32| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let dense = format!(
        "RRULE:FREQ=DAILY;BYHOUR={};BYMINUTE={};BYSECOND={}",
        all(24),
        all(60),
        all(60)
    );
    let (status, created) = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/events",
        Some(series(&dense)),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let _requests: Vec<_> = (0..10)
        .map(|_| {
            let client = app.client.clone();
            let url = format!("{}/api/v1/events/today?casquette=medecin", app.address);
            tokio::spawn(async move { client.get(url).bearer_auth(token()).send().await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let asked = Instant::now();
    app.shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(20), server).await;
    let took = asked.elapsed();
    assert!(
        stopped.is_ok(),
        "still running {took:?} after shutdown was asked"
    );
    // 1 s grace, expansions end by their 1.5 s deadline, then the pool closes.
    assert!(took < Duration::from_secs(8), "shutdown took {took:?}");
}

/// A series soft-deleted with plain SQL (`deleted_at` set, status untouched) leaves `/today` at once,
/// before the writer has told Google.
#[tokio::test]
async fn a_series_soft_deleted_by_sql_leaves_today_at_once() {
    let app = spawn_app().await;
    let body = json!({"casquette": "medecin", "summary": "Staff",
        "start": {"dateTime": "2026-02-16T09:00:00+01:00", "timeZone": "Europe/Paris"},
        "end": {"dateTime": "2026-02-16T10:00:00+01:00", "timeZone": "Europe/Paris"},
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=10"]});
    let (status, created) = call(&app, reqwest::Method::POST, "/api/v1/events", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let day = "/api/v1/events/today?casquette=medecin&date=2026-02-18";
    let (_, before) = call(&app, reqwest::Method::GET, day, None).await;
    assert_eq!(
        before["items"].as_array().map(Vec::len),
        Some(1),
        "{before}"
    );
    let id: uuid::Uuid = created["id"].as_str().unwrap().parse().unwrap();
    sqlx::query("UPDATE events SET deleted_at = now() WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, after) = call(&app, reqwest::Method::GET, day, None).await;
    assert_eq!(after["items"], json!([]), "{after}");
}
