//! Account-scoped tokens (`calsync admin-token --account NAME`): a token limited to one account sees
//! and changes that account's events, conflicts, channels, syncs and status-page rows, and gets
//! "not found" (never "forbidden") for another account's, so ids do not leak.

use std::time::Duration;

use calsync::config::AccountSettings;
use calsync_testkit::api::{ADMIN_SECRET, call, call_as};
use calsync_testkit::{Google, TestApp, wait_for};
use reqwest::Method;
use serde_json::{Value, json};

/// Two accounts on one server: `cabinet` has the medecin and enseignant calendars, `labo` the
/// chercheur one (both use the emulator's one user: this test is about calsync's side).
async fn two_accounts(google: &Google) -> TestApp {
    let token = google.creds.join("token.json");
    TestApp::builder()
        .synced_to(google)
        .with_settings(move |s| {
            for name in ["cabinet", "labo"] {
                s.accounts.insert(
                    name.into(),
                    AccountSettings {
                        token_path: Some(token.clone()),
                        ..AccountSettings::default()
                    },
                );
            }
            for cal in &mut s.google_calendar.calendars {
                cal.account = Some(
                    if cal.casquette == "chercheur" {
                        "labo"
                    } else {
                        "cabinet"
                    }
                    .into(),
                );
            }
        })
        .spawn()
        .await
}

fn scoped(account: &str) -> String {
    calsync::admin_auth::mint_scoped(ADMIN_SECRET, "t", Duration::from_secs(600), Some(account))
        .expect("a scoped token")
}

fn event(casquette: &str, summary: &str) -> Value {
    json!({"casquette": casquette, "summary": summary,
           "start": {"dateTime": "2026-03-02T09:00:00+01:00", "timeZone": "Europe/Paris"},
           "end": {"dateTime": "2026-03-02T10:00:00+01:00", "timeZone": "Europe/Paris"}})
}

#[tokio::test]
async fn a_scoped_token_sees_its_account_and_nothing_of_another() {
    let google = Google::start().await;
    let app = two_accounts(&google).await;
    let keys: Vec<(String, String)> =
        sqlx::query_as("SELECT id, account FROM calendars WHERE active ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .expect("calendars");
    assert_eq!(
        keys,
        [
            (
                "cabinet:CALENDAR_ID_ENSEIGNANT".to_string(),
                "cabinet".to_string()
            ),
            ("cabinet:primary".into(), "cabinet".into()),
            ("labo:CALENDAR_ID_CHERCHEUR".into(), "labo".into()),
        ],
        "a named account's calendars are keyed account:id"
    );
    let (status, mine) = call(
        &app,
        Method::POST,
        "/api/v1/events",
        Some(event("medecin", "mine")),
    )
    .await;
    assert_eq!(status, 201, "{mine}");
    assert_eq!(mine["calendar_id"], "cabinet:primary");
    let (status, theirs) = call(
        &app,
        Method::POST,
        "/api/v1/events",
        Some(event("chercheur", "theirs")),
    )
    .await;
    assert_eq!(status, 201, "{theirs}");
    let theirs_id = theirs["id"].as_str().expect("an id").to_string();
    let cabinet = scoped("cabinet");

    // Events: listed, read, patched and deleted only within the account.
    let (status, list) = call_as(&app, &cabinet, Method::GET, "/api/v1/events", None).await;
    assert_eq!(status, 200);
    let summaries: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["summary"].as_str())
        .collect();
    assert_eq!(summaries, ["mine"]);
    let (status, _) = call_as(
        &app,
        &cabinet,
        Method::GET,
        "/api/v1/events?account=labo",
        None,
    )
    .await;
    assert_eq!(status, 404, "asking for another account's listing");
    let other = format!("/api/v1/events/{theirs_id}");
    for method in [Method::GET, Method::DELETE] {
        let (status, body) = call_as(&app, &cabinet, method.clone(), &other, None).await;
        assert_eq!(status, 404, "{method} another account's event: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (status, _) = call_as(
        &app,
        &cabinet,
        Method::PATCH,
        &other,
        Some(json!({"summary": "x"})),
    )
    .await;
    assert_eq!(status, 404, "PATCH another account's event");
    let (status, _) = call_as(
        &app,
        &cabinet,
        Method::POST,
        "/api/v1/events",
        Some(event("chercheur", "x")),
    )
    .await;
    assert_eq!(
        status, 400,
        "another account's casquette is unknown to this token"
    );
    let (status, body) = call(&app, Method::GET, &other, None).await;
    assert_eq!(
        (status, body["summary"].as_str()),
        (200, Some("theirs")),
        "untouched"
    );

    // Conflicts: another account's are neither listed nor resolvable.
    let conflict: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO conflicts (event_id, calendar_id, winner, local_version, google_version)
         VALUES ($1, 'labo:CALENDAR_ID_CHERCHEUR', 'google', '{}', '{}') RETURNING id",
    )
    .bind(uuid::Uuid::parse_str(&theirs_id).expect("uuid"))
    .fetch_one(&app.pool)
    .await
    .expect("a conflict");
    let (status, list) = call_as(&app, &cabinet, Method::GET, "/api/v1/conflicts", None).await;
    assert_eq!(
        (status, list["items"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    let (_, all) = call(&app, Method::GET, "/api/v1/conflicts", None).await;
    assert_eq!(
        all["items"].as_array().map(Vec::len),
        Some(1),
        "the admin sees it"
    );
    let (status, _) = call_as(
        &app,
        &cabinet,
        Method::POST,
        &format!("/api/v1/conflicts/{conflict}/resolve"),
        Some(json!({"keep": "local"})),
    )
    .await;
    assert_eq!(status, 404, "resolving another account's conflict");

    // Channels: listed, renewed and stopped only within the account.
    wait_for(
        "a live channel per calendar",
        Duration::from_secs(20),
        || async {
            let n: i64 =
                sqlx::query_scalar("SELECT count(*) FROM watch_channels WHERE state = 'active'")
                    .fetch_one(&app.pool)
                    .await
                    .unwrap_or(0);
            n == 3
        },
    )
    .await;
    let (status, channels) = call_as(&app, &cabinet, Method::GET, "/admin/channels", None).await;
    assert_eq!(status, 200);
    let listed: Vec<&str> = channels["channels"]
        .as_array()
        .expect("channels")
        .iter()
        .filter_map(|c| c["calendar_id"].as_str())
        .collect();
    assert!(
        listed.len() == 2 && listed.iter().all(|c| c.starts_with("cabinet:")),
        "{listed:?}"
    );
    let labo_channel: String = sqlx::query_scalar(
        "SELECT id FROM watch_channels WHERE calendar_id = 'labo:CALENDAR_ID_CHERCHEUR' AND state = 'active'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("labo's channel");
    let (status, _) = call_as(
        &app,
        &cabinet,
        Method::POST,
        &format!("/admin/channels/{labo_channel}/stop"),
        None,
    )
    .await;
    assert_eq!(status, 404, "stopping another account's channel");
    let (status, _) = call_as(
        &app,
        &cabinet,
        Method::POST,
        "/admin/channels/renew",
        Some(json!({"calendar_id": "labo:CALENDAR_ID_CHERCHEUR"})),
    )
    .await;
    assert_eq!(status, 404, "renewing another account's channel");
    let state: String = sqlx::query_scalar("SELECT state FROM watch_channels WHERE id = $1")
        .bind(&labo_channel)
        .fetch_one(&app.pool)
        .await
        .expect("state");
    assert_eq!(state, "active", "labo's channel untouched");

    // Sync: another account's calendars are not found; its own sync covers its own calendars.
    for body in [
        json!({"account": "labo"}),
        json!({"calendar_id": "labo:CALENDAR_ID_CHERCHEUR"}),
        json!({"calendar_id": "CALENDAR_ID_CHERCHEUR"}),
    ] {
        let (status, answer) = call_as(
            &app,
            &cabinet,
            Method::POST,
            "/api/v1/calendar/sync",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 404, "{body}: {answer}");
    }
    let (status, synced) = call_as(
        &app,
        &cabinet,
        Method::POST,
        "/api/v1/calendar/sync",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{synced}");
    let ids: Vec<&str> = synced["calendars"]
        .as_array()
        .expect("calendars")
        .iter()
        .filter_map(|c| c["calendar_id"].as_str())
        .collect();
    assert_eq!(ids, ["cabinet:CALENDAR_ID_ENSEIGNANT", "cabinet:primary"]);

    // The status page: this account's rows only.
    let page = app
        .client
        .get(format!("{}/", app.address))
        .bearer_auth(&cabinet)
        .send()
        .await
        .expect("status page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("cabinet:primary"),
        "its own calendar is shown"
    );
    assert!(!html.contains("labo:"), "another account's calendar is not");
    // Routes that change the server itself stay admin-only.
    let (status, _) = call_as(&app, &scoped("labo"), Method::GET, "/api/v1/events", None).await;
    assert_eq!(
        status, 200,
        "the other scoped token works for its own account"
    );
}
