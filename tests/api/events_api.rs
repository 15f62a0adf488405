//! `/api/v1/events` and `/api/v1/events/today`: JWT, validation, partial patches, soft deletes, recurrence expansion.

use calsync_testkit::api::call;
use calsync_testkit::{TestApp, spawn_app};
use serde_json::{Value, json};

fn consult() -> Value {
    json!({"casquette": "medecin", "summary": "Consultation cardio", "location": "Cabinet médical",
           "start": {"dateTime": "2026-02-17T14:00:00+01:00", "timeZone": "Europe/Paris"},
           "end": {"dateTime": "2026-02-17T15:00:00+01:00", "timeZone": "Europe/Paris"}})
}

#[tokio::test]
async fn the_api_requires_a_valid_bearer_token() {
    let app = spawn_app().await;
    let anon = app
        .client
        .get(format!("{}/api/v1/events", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    let body: Value = anon.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    let forged =
        calsync::admin_auth::mint("wrong-secret", "x", std::time::Duration::from_secs(60)).unwrap();
    let resp = app
        .client
        .get(format!("{}/api/v1/events", app.address))
        .bearer_auth(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn create_get_patch_delete_round_trip_and_queue_for_google() {
    let app = spawn_app().await;
    let (status, created) = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/events",
        Some(consult()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["calendar_id"], "primary");
    assert_eq!(created["start"]["dateTime"], "2026-02-17T14:00:00+01:00");
    let id = created["id"].as_str().unwrap().to_string();
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(queued, 1);

    let (status, patched) = call(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/v1/events/{id}"),
        Some(json!({"location": null, "summary": "Consultation"})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["summary"], "Consultation");
    assert!(patched["location"].is_null());
    assert_eq!(patched["start"], created["start"], "untouched fields stay");

    let (status, _) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/v1/events/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/events/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let deleted: bool =
        sqlx::query_scalar("SELECT deleted_at IS NOT NULL FROM events WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(deleted, "soft delete keeps the row for the writer");
}

#[tokio::test]
async fn invalid_input_gets_clear_400s() {
    let app = spawn_app().await;
    let cases = [
        (json!({"casquette": "pilote"}), "casquette"),
        (
            json!({"end": {"dateTime": "2026-02-17T13:00:00+01:00"}}),
            "before start",
        ),
        (
            json!({"start": {"dateTime": "2026-02-17T14:00:00+01:00", "timeZone": "Mars/Olympus"}}),
            "time zone",
        ),
        (json!({"start": {"date": "2026-02-17"}}), "both"),
        (json!({"status": "cancelled"}), "status"),
        (json!({"recurrence": ["FREQ=DAILY"]}), "recurrence"),
    ];
    for (change, needle) in cases {
        let mut body = consult();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, err) = call(&app, reqwest::Method::POST, "/api/v1/events", Some(body)).await;
        assert_eq!(status, 400, "{change}: {err}");
        assert_eq!(err["error"]["code"], "bad_request");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(needle),
            "{change}: {err}"
        );
    }
    let (status, err) = call(&app, reqwest::Method::POST, "/api/v1/events", None).await;
    assert_eq!(status, 400, "{err}");
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(queued, 0, "nothing stored from a bad request");
}

#[tokio::test]
async fn patching_status_with_null_or_a_non_status_is_a_400() {
    let app = spawn_app().await;
    let mut body = consult();
    body["status"] = json!("tentative");
    let (status, created) = call(&app, reqwest::Method::POST, "/api/v1/events", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let path = format!("/api/v1/events/{}", created["id"].as_str().unwrap());
    for bad in [json!(null), json!(5), json!("cancelled"), json!("bogus")] {
        let (status, err) = call(
            &app,
            reqwest::Method::PATCH,
            &path,
            Some(json!({"status": bad})),
        )
        .await;
        assert_eq!(status, 400, "{bad}: {err}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains("status"),
            "{bad}: {err}"
        );
    }
    let (_, unchanged) = call(&app, reqwest::Method::GET, &path, None).await;
    assert_eq!(
        unchanged["status"], "tentative",
        "a rejected patch changes nothing"
    );
}

#[tokio::test]
async fn list_filters_by_role_and_window_with_paging() {
    let app = spawn_app().await;
    for (role, day) in [("medecin", 17), ("medecin", 18), ("enseignant", 17)] {
        let mut body = consult();
        body["casquette"] = json!(role);
        body["start"]["dateTime"] = json!(format!("2026-02-{day}T14:00:00+01:00"));
        body["end"]["dateTime"] = json!(format!("2026-02-{day}T15:00:00+01:00"));
        assert_eq!(
            call(&app, reqwest::Method::POST, "/api/v1/events", Some(body))
                .await
                .0,
            201
        );
    }
    let (_, all) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/events?casquette=medecin&limit=1",
        None,
    )
    .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    assert_eq!(all["nextOffset"], 1);
    let (_, day) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/events?from=2026-02-17T00:00:00Z&to=2026-02-18T00:00:00Z",
        None,
    )
    .await;
    assert_eq!(day["items"].as_array().unwrap().len(), 2);
}

/// Stores rows as if they came from Google (no outbox).
async fn from_google(app: &TestApp, sql: &str) {
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("SET LOCAL calsync.origin = 'google'")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn today_expands_series_and_applies_exceptions_in_the_calendar_zone() {
    let app = spawn_app_with_zone().await;
    // A daily 09:00 Paris series from 2026-02-16; the 17th's occurrence moved to 11:00; the 18th's cancelled.
    from_google(
        &app,
        "INSERT INTO events (calendar_id, external_id, summary, start_at, end_at, time_zone, recurrence)
           VALUES ('primary', 'series1', 'Staff', '2026-02-16T08:00:00Z', '2026-02-16T08:30:00Z', 'Europe/Paris',
                   ARRAY['RRULE:FREQ=DAILY;COUNT=10']);
         INSERT INTO events (calendar_id, external_id, summary, start_at, end_at, time_zone, recurring_event_id, original_start)
           VALUES ('primary', 'series1_20260217T080000Z', 'Staff (moved)', '2026-02-17T10:00:00Z', '2026-02-17T10:30:00Z',
                   'Europe/Paris', 'series1', '2026-02-17T09:00:00+01:00');
         INSERT INTO events (calendar_id, external_id, status, recurring_event_id, original_start, deleted_at)
           VALUES ('primary', 'series1_20260218T080000Z', 'cancelled', 'series1', '2026-02-18T09:00:00+01:00', now());
         INSERT INTO events (calendar_id, external_id, summary, start_date, end_date)
           VALUES ('primary', 'allday1', 'Congrès', '2026-02-17', '2026-02-18');
         INSERT INTO events (calendar_id, external_id, summary, start_at, end_at)
           VALUES ('CALENDAR_ID_ENSEIGNANT', 'teach1', 'Cours', '2026-02-17T13:00:00Z', '2026-02-17T14:00:00Z');",
    )
    .await;
    let (status, day17) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/events/today?casquette=medecin&date=2026-02-17",
        None,
    )
    .await;
    assert_eq!(status, 200, "{day17}");
    let summaries: Vec<&str> = day17["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert_eq!(summaries, vec!["Congrès", "Staff (moved)"], "{day17}");

    let (_, day18) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/events/today?casquette=medecin&date=2026-02-18",
        None,
    )
    .await;
    assert!(
        day18["items"].as_array().unwrap().is_empty(),
        "cancelled occurrence: {day18}"
    );

    let (_, day19) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/events/today?casquette=medecin&date=2026-02-19",
        None,
    )
    .await;
    let items = day19["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{day19}");
    assert_eq!(items[0]["start"]["dateTime"], "2026-02-19T09:00:00+01:00");
    assert_eq!(items[0]["recurringEventId"], "series1");

    let (_, all17) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/events/today?date=2026-02-17",
        None,
    )
    .await;
    assert_eq!(
        all17["items"].as_array().unwrap().len(),
        3,
        "all roles: {all17}"
    );
    let (status, _) = call(
        &app,
        reqwest::Method::GET,
        "/api/v1/events/today?casquette=pilote",
        None,
    )
    .await;
    assert_eq!(status, 400);
}

async fn spawn_app_with_zone() -> TestApp {
    let app = spawn_app().await;
    // The medecin calendar lives in Paris (as Google reports it at sync); "today" is computed there.
    sqlx::query("UPDATE calendars SET time_zone = 'Europe/Paris'")
        .execute(&app.pool)
        .await
        .unwrap();
    app
}

#[tokio::test]
async fn today_keeps_local_time_across_the_paris_dst_change() {
    let app = spawn_app_with_zone().await;
    // Daily at 09:00 Paris from Friday 27 March 2026; clocks go forward on Sunday 29 March.
    // The 28th is moved to 11:00; the 30th (09:00 CEST = 07:00Z) is cancelled.
    from_google(
        &app,
        "INSERT INTO events (calendar_id, external_id, summary, start_at, end_at, time_zone, recurrence)
           VALUES ('primary', 'dst1', 'Staff', '2026-03-27T08:00:00Z', '2026-03-27T08:30:00Z', 'Europe/Paris',
                   ARRAY['RRULE:FREQ=DAILY;COUNT=6']);
         INSERT INTO events (calendar_id, external_id, summary, start_at, end_at, time_zone, recurring_event_id, original_start)
           VALUES ('primary', 'dst1_20260328T080000Z', 'Staff (moved)', '2026-03-28T10:00:00Z', '2026-03-28T10:30:00Z',
                   'Europe/Paris', 'dst1', '2026-03-28T09:00:00+01:00');
         INSERT INTO events (calendar_id, external_id, status, recurring_event_id, original_start, deleted_at)
           VALUES ('primary', 'dst1_20260330T070000Z', 'cancelled', 'dst1', '2026-03-30T09:00:00+02:00', now());",
    )
    .await;
    let day = |d: &'static str| {
        let app = &app;
        async move {
            let (status, body) = call(
                app,
                reqwest::Method::GET,
                &format!("/api/v1/events/today?casquette=medecin&date={d}"),
                None,
            )
            .await;
            assert_eq!(status, 200, "{body}");
            body["items"].as_array().unwrap().clone()
        }
    };
    let before = day("2026-03-27").await;
    assert_eq!(before[0]["start"]["dateTime"], "2026-03-27T09:00:00+01:00");
    let moved = day("2026-03-28").await;
    assert_eq!(
        (moved.len(), moved[0]["summary"].as_str()),
        (1, Some("Staff (moved)"))
    );
    let after = day("2026-03-29").await;
    assert_eq!(
        after[0]["start"]["dateTime"], "2026-03-29T09:00:00+02:00",
        "09:00 local after the change"
    );
    assert!(
        day("2026-03-30").await.is_empty(),
        "the cancelled occurrence is gone"
    );
    assert_eq!(
        day("2026-03-31").await[0]["start"]["dateTime"],
        "2026-03-31T09:00:00+02:00"
    );
}
