//! Accounts and calendars at run time, without a restart: `POST /admin/accounts` seals a token
//! document, `POST /admin/calendars` syncs and watches one more calendar at once, `DELETE
//! /admin/calendars/{key}` stops it, and `DELETE /admin/accounts/{name}?revoke=true&events=delete`
//! stops the account's channels at Google, revokes its grant there, deletes its credentials and its
//! local events (never Google's), and when the database fails during that last step, running it
//! again finishes it. Account-scoped tokens may not manage accounts.

use std::time::Duration;

use calsync::config::Secret;
use calsync::emulator::dev_credentials;
use calsync::secrets::at_rest::new_key;
use calsync_testkit::api::{ADMIN_SECRET, call};
use calsync_testkit::{Google, TestApp, wait_for};
use reqwest::Method;
use serde_json::{Value, json};

const LAB: &str = "pi@lab.example";
const WAIT: Duration = Duration::from_secs(30);

async fn live(app: &TestApp, key: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM watch_channels WHERE calendar_id = $1 AND state = 'active'",
    )
    .bind(key)
    .fetch_one(&app.pool)
    .await
    .unwrap_or(-1)
}

async fn rows_on(app: &TestApp, key: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE calendar_id = $1")
        .bind(key)
        .fetch_one(&app.pool)
        .await
        .unwrap_or(-1)
}

#[tokio::test]
async fn accounts_and_calendars_are_added_and_removed_without_a_restart() {
    let google = Google::start().await;
    let refresh = google.add_user(LAB).await;
    let lab = google.user(LAB);
    lab.add_calendar(json!({"id": "bench", "summary": "Bench", "timeZone": "Europe/Paris"}))
        .await;
    lab.insert(
        "bench",
        json!({"summary": "Calibration", "start": {"dateTime": "2026-05-04T09:00:00+02:00"},
               "end": {"dateTime": "2026-05-04T10:00:00+02:00"}}),
    )
    .await;
    let key = new_key();
    let app = TestApp::builder()
        .synced_to(&google)
        .with_settings(move |s| s.secrets.key = Some(Secret::new(key)))
        .spawn()
        .await;

    // A scoped token manages no account.
    let scoped =
        calsync::admin_auth::mint_scoped(ADMIN_SECRET, "t", Duration::from_secs(60), Some("labo"))
            .expect("token");
    let refused = app
        .client
        .get(format!("{}/admin/accounts", app.address))
        .bearer_auth(scoped)
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 403);

    // Connect from a token document, then add one calendar: synced and watched at once.
    let document = json!({"refresh_token": refresh, "client_id": dev_credentials::CLIENT_ID,
        "client_secret": dev_credentials::CLIENT_SECRET, "token_uri": google.emu.token_url()});
    let (status, body) = call(
        &app,
        Method::POST,
        "/admin/accounts",
        Some(json!({"name": "labo", "token": document})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(
        &app,
        Method::POST,
        "/admin/calendars",
        Some(json!({"account": "labo", "id": "bench", "casquette": "chercheur"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["id"], "labo:bench");
    wait_for("the calendar synced and watched", WAIT, || async {
        rows_on(&app, "labo:bench").await == 1 && live(&app, "labo:bench").await == 1
    })
    .await;
    let (_, accounts) = call(&app, Method::GET, "/admin/accounts", None).await;
    let labo: Vec<&Value> = accounts["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter(|a| a["name"] == "labo")
        .collect();
    assert_eq!(labo.len(), 1, "{accounts}");
    assert_eq!(
        (labo[0]["source"].as_str(), labo[0]["calendars"].as_i64()),
        (Some("connected"), Some(1))
    );

    // Its primary too, then removed again: its channel stops, its events stay.
    let (status, _) = call(
        &app,
        Method::POST,
        "/admin/calendars",
        Some(json!({"account": "labo", "id": "primary", "casquette": "chercheur"})),
    )
    .await;
    assert_eq!(status, 201);
    wait_for("primary watched", WAIT, || async {
        live(&app, "labo:primary").await == 1
    })
    .await;
    let (status, body) = call(&app, Method::DELETE, "/admin/calendars/labo:primary", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(live(&app, "labo:primary").await, 0);
    let (status, _) = call(&app, Method::DELETE, "/admin/calendars/labo:primary", None).await;
    assert_eq!(status, 404, "already removed");

    // A database failure during the removal's last step leaves the database as it was: the
    // credentials stay, so the same removal, run again, finds the account and finishes it.
    for ddl in [
        "CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql
           AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
        "CREATE TRIGGER refuse_delete BEFORE DELETE ON events
           FOR EACH ROW EXECUTE FUNCTION refuse_delete()",
    ] {
        sqlx::query(ddl)
            .execute(&app.pool)
            .await
            .expect("the test's trigger");
    }
    let remove_labo = || {
        call(
            &app,
            Method::DELETE,
            "/admin/accounts/labo?revoke=true&events=delete",
            None,
        )
    };
    let (status, body) = remove_labo().await;
    assert!(status >= 500, "the database refused: {status} {body}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts WHERE name = 'labo'")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(
        stored, 1,
        "the credentials stay with the failed transaction"
    );
    assert_eq!(rows_on(&app, "labo:bench").await, 1);
    sqlx::query("DROP TRIGGER refuse_delete ON events")
        .execute(&app.pool)
        .await
        .expect("drop the trigger");

    // The account removed, revoked at Google, its local events deleted; Google keeps its own.
    let (status, removed) = remove_labo().await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(removed["revoked"], true);
    assert_eq!(removed["credentials_deleted"], true);
    assert_eq!(removed["events_deleted"], 1);
    assert_eq!(live(&app, "labo:bench").await, 0, "its channel stopped");
    assert_eq!(rows_on(&app, "labo:bench").await, 0);
    let revoked = google
        .requests_of(LAB)
        .await
        .iter()
        .any(|r| r["method"] == "oauth.revoke" && r["status"] == 200);
    assert!(revoked, "the grant revoked at Google");
    let stopped = google
        .control("GET", "/emulator/channels", Value::Null)
        .await;
    let lab_live = stopped["channels"]
        .as_array()
        .map(|c| c.iter().filter(|c| c["user"] == LAB).count())
        .unwrap_or(usize::MAX);
    assert_eq!(lab_live, 0, "no channel left at Google: {stopped}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts")
        .fetch_one(&app.pool)
        .await
        .expect("accounts");
    assert_eq!(stored, 0);
    assert_eq!(
        google.user(LAB).list_all("bench").await.len(),
        1,
        "Google's events are never deleted by a removal"
    );
    let (status, _) = call(&app, Method::DELETE, "/admin/accounts/labo", None).await;
    assert_eq!(status, 404, "gone");
}
